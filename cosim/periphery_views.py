"""Designer views of an array and its periphery, each from real ngspice runs, each a PNG plus a CSV.

* IR-drop map: voltage across every cell for a full-scale input vector.
* DAC transfer curve with INL / DNL (LSB), measured at the DAC output while it drives the array.
* ADC transfer curve: codes of the TIA output as the column current is swept (conversion in Python).
* TIA virtual-ground error versus column current (V(in) = I Rf / (1 + A) expected).
* TIA op-amp: open-loop gain and phase (Bode plot) from an ``ac`` analysis, with the DC gain,
  unity-gain bandwidth, phase margin and input offset.
* Sneak-path current map of a 1R array: one cell read with every other line floating.
* Half-select disturbance map: change of every device state after one write, and the bias
  (volts) every device saw during it as simulated (the scheme's nominal bias beside it).

Transient views (``run_views(..., transients=True)``), each from ngspice transients:

* Read settling: time until every TIA output stays within half an ADC LSB after a full-scale step on
  every row, versus array size (16 .. 128) and wire capacitance.
* Energy per matrix-vector read, per supply group, over the read's settling window.
* Line voltages during a write of the centre cell with V/2 and V/3 (SET and RESET), beside the
  scheme's nominal ones; the peak TIA output and the energy of every supply group per write.

:func:`run_views` runs all that apply to a config; the others are listed with the reason.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from memcosim.circuits.crossbar import Crossbar, build_crossbar
from memcosim.config.array import ArrayConfig
from memcosim.circuits.netlist import Netlist
from memcosim.circuits.structure import check_structure
from memcosim.circuits.waveforms import Pwl
from memcosim.cosim.column_switches import check_column_voltages, switched_write
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session
from memcosim.cosim.tia_characterisation import characterise_tia
from memcosim.devices.catalog import get_device
from memcosim.fileio import atomic_write_csv, save_png

R_FLOAT = 1e12  # ohm: a line "left floating" is tied to ground through this
V_READ = 0.2  # volts: read voltage when the array has no DAC


@dataclass
class View:
    """One designer view: its summary figures and the files written (``png``/``csv`` None when skipped)."""

    name: str
    summary: dict[str, float | int | str] = field(default_factory=dict)
    png: Path | None = None
    csv: Path | None = None
    skipped: str = ""


# -- helpers ----------------------------------------------------------------------------------

def _rows_at(xbar: Crossbar, volts: np.ndarray) -> dict[str, float]:
    """Row source values for row voltages (through the DAC's quantization when there is one)."""
    dac = xbar.blocks.dac
    if dac is not None:
        return xbar.dac_values(dac.code(volts))
    return {name: float(v) for name, v in zip(xbar.row_sources, volts)}


def _full_scale(xbar: Crossbar) -> float:
    dac = xbar.blocks.dac
    return dac.v_max if dac is not None else V_READ


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    return atomic_write_csv(path, [dict(zip(header, r)) for r in rows], header)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    return save_png(fig, path, dpi=100)


def _heatmap(data: np.ndarray, title: str, label: str, path: Path, cmap: str = "viridis") -> Path:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    im = ax.imshow(data, cmap=cmap, origin="upper")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=label)
    return _save(fig, path)


def _curve(x: np.ndarray, ys: list[tuple[np.ndarray, str]], xlabel: str, ylabel: str, title: str, path: Path,
           step: bool = False) -> Path:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for y, label in ys:
        (ax.step(x, y, where="post", label=label) if step else ax.plot(x, y, ".-", ms=3, label=label))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _line_nodes(xbar: Crossbar) -> tuple[list[str], list[str]]:
    R, C = xbar.config.shape
    rows = [xbar.row_node(i, j) for i in range(R) for j in range(C)]
    cols = [xbar.column_node(i, j) for i in range(R) for j in range(C)]
    return rows, cols


# -- the views --------------------------------------------------------------------------------

def ir_drop_view(xbar: Crossbar, session: Session, out: Path) -> View:
    """Voltage across every cell with every row at full scale; IR drop in % of the applied voltage."""
    R, C = xbar.config.shape
    v_in = np.full(R, _full_scale(xbar))
    values = _rows_at(xbar, v_in)
    session.set_sources(values)
    rows, cols = _line_nodes(xbar)
    r = session.op(voltages=sorted(set(rows + cols)))
    v_cell = np.array([r[a] - r[b] for a, b in zip(rows, cols)]).reshape(R, C)
    applied = np.array(list(values.values()))[:, None]
    drop = 100.0 * (applied - v_cell) / applied
    csv_path = _write_csv(out / "ir_drop.csv", ["row", "column", "v_applied_V", "v_cell_V", "ir_drop_percent"],
                          [[i, j, float(applied[i, 0]), float(v_cell[i, j]), float(drop[i, j])]
                           for i in range(R) for j in range(C)])
    png = _heatmap(drop, "IR drop: (V_applied - V_cell) / V_applied", "% of applied row voltage", out / "ir_drop.png")
    session.set_sources(_rows_at(xbar, np.zeros(R)))
    return View("IR drop map", {"applied V": float(applied[0, 0]), "min cell V": float(v_cell.min()),
                                "max IR drop %": float(drop.max())}, png, csv_path)


def dac_view(xbar: Crossbar, session: Session, out: Path, max_codes: int = 256,
             tick: Callable[[int, int], None] | None = None) -> View:
    """DAC transfer curve at row 0's DAC output (driving the array), with INL and DNL in LSB.
    ``tick(done, total)`` is called after each operating point."""
    dac = xbar.blocks.dac
    if dac is None:
        return View("DAC transfer", skipped="no periphery.dac")
    R = xbar.config.rows
    codes = np.unique(np.rint(np.linspace(0, dac.levels - 1, min(dac.levels, max_codes))).astype(int))
    node = xbar.dac_outputs[0]
    measured = []
    zeros = np.zeros(R, dtype=int)
    for code in codes:
        c = zeros.copy()
        c[0] = code
        session.set_sources(xbar.dac_values(c))
        measured.append(float(session.op(voltages=[node])[node]))
        if tick:
            tick(len(measured), len(codes))
    session.set_sources(xbar.dac_values(zeros))
    v = np.array(measured)
    lsb = (v[-1] - v[0]) / (codes[-1] - codes[0])  # endpoint-fit LSB of the loaded output
    inl = (v - (v[0] + (codes - codes[0]) * lsb)) / lsb
    dnl = np.diff(v) / np.diff(codes) / lsb - 1.0
    ideal = dac.voltage(codes)
    csv_path = _write_csv(out / "dac_transfer.csv", ["code", "v_ideal_V", "v_out_V", "inl_lsb", "dnl_lsb"],
                          [[int(c), float(a), float(b), float(i), float(d) if k else 0.0]
                           for k, (c, a, b, i, d) in enumerate(zip(codes, ideal, v, inl, np.r_[0.0, dnl]))])
    png = _curve(codes, [(ideal, "ideal code voltage"), (v, "DAC output into the array")], "code", "volts",
                 f"row DAC, {dac.config.bits} bit, r_out {dac.config.r_out:g} ohm", out / "dac_transfer.png")
    return View("DAC transfer", {"levels": dac.levels, "LSB V": dac.lsb, "gain error %": 100 * (lsb / dac.lsb - 1),
                                 "max |INL| LSB": float(np.abs(inl).max()),
                                 "max |DNL| LSB": float(np.abs(dnl).max()) if dnl.size else 0.0}, png, csv_path)


def _sweep_current(xbar: Crossbar, session: Session, currents: np.ndarray, nodes: list[str],
                   tick: Callable[[int, int], None] | None = None):
    """Column-0 input current swept through the nudge source (rows at 0); returns node voltages."""
    out = []
    for i in currents:
        session.set_sources({xbar.nudge_sources[0]: float(i)})
        r = session.op(voltages=nodes, currents=[xbar.column_sources[0]])
        out.append([r[n] for n in nodes] + [r[xbar.column_sources[0]]])
        if tick:
            tick(len(out), len(currents))
    session.set_sources({xbar.nudge_sources[0]: 0.0})
    return np.array(out)


def adc_view(xbar: Crossbar, session: Session, out: Path, max_points: int = 1024,
             tick: Callable[[int, int], None] | None = None) -> View:
    """ADC codes of column 0 as its input current sweeps the TIA output 10% past the ADC range.
    ``tick(done, total)`` is called after each operating point."""
    adc, tia = xbar.blocks.adc, xbar.blocks.tia
    if adc is None or tia is None:
        return View("ADC transfer", skipped="no periphery.adc")
    v_min, v_max = adc.config.v_min, adc.config.v_max
    span = v_max - v_min
    v_target = np.linspace(v_min - 0.1 * span, v_max + 0.1 * span, min(4 * adc.levels, max_points))
    out_node = xbar.tia_outputs[0]
    if xbar.nudge_sources:
        session.set_sources(_rows_at(xbar, np.zeros(xbar.config.rows)))
        data = _sweep_current(xbar, session, v_target / -tia.transimpedance, [out_node], tick)
        v_out = data[:, 0]
        how = "nudge current into column 0"
    else:
        v_rows = np.linspace(0.0, _full_scale(xbar), min(64, max_points))
        v_out = []
        for v in v_rows:
            session.set_sources(_rows_at(xbar, np.full(xbar.config.rows, v)))
            v_out.append(session.op(voltages=[out_node])[out_node])
            if tick:
                tick(len(v_out), len(v_rows))
        v_out = np.array(v_out)
        how = "row voltages"
    offset = adc.offset(0)
    codes = adc.convert(v_out, column=0)
    csv_path = _write_csv(out / "adc_transfer.csv", ["v_in_V", "code"], [[float(v), int(c)] for v, c in zip(v_out, codes)])
    png = _curve(v_out, [(codes, f"{adc.config.bits}-bit ADC")], "TIA output (V)", "code",
                 f"column ADC, {v_min:g} .. {v_max:g} V, swept by {how}", out / "adc_transfer.png", step=True)
    return View("ADC transfer", {"levels": adc.levels, "codes seen": int(np.unique(codes).size), "LSB V": adc.lsb,
                                 "clips low": bool(codes.min() == 0), "clips high": bool(codes.max() == adc.levels - 1),
                                 "offset V": float(offset)}, png, csv_path)


def tia_view(xbar: Crossbar, session: Session, out: Path, steps: int = 21) -> View:
    """Virtual-ground error V(in) of every TIA versus its column current as all rows sweep to full scale."""
    tia = xbar.blocks.tia
    if tia is None:
        return View("TIA virtual ground", skipped="no periphery.tia")
    R = xbar.config.rows
    rows = []
    for v in np.linspace(0.0, _full_scale(xbar), steps):
        session.set_sources(_rows_at(xbar, np.full(R, v)))
        r = session.op(voltages=xbar.tia_inputs + xbar.tia_outputs, currents=xbar.column_sources)
        for j, (name, vin, vout) in enumerate(zip(xbar.column_sources, xbar.tia_inputs, xbar.tia_outputs)):
            rows.append([float(v), j, float(r[name]), float(r[vin]), float(r[vout])])
    session.set_sources(_rows_at(xbar, np.zeros(R)))
    data = np.array([r[2:] for r in rows])
    current, v_in, v_out = data.T
    expected = current * tia.input_resistance
    slope = float(np.polyfit(current, v_in, 1)[0]) if np.ptp(current) > 0 else float("nan")
    csv_path = _write_csv(out / "tia_virtual_ground.csv",
                          ["v_rows_V", "column", "current_A", "v_in_V", "v_in_expected_V", "v_out_V"],
                          [r[:4] + [float(e)] + r[4:] for r, e in zip(rows, expected)])
    png = _curve(current * 1e6, [(v_in * 1e6, "V(in), ngspice"), (expected * 1e6, "I Rf / (1 + A)")],
                 "column current (uA)", "virtual-ground error (uV)",
                 f"TIA, A = {tia.config.gain:g}, Rf = {tia.config.r_feedback:g} ohm", out / "tia_virtual_ground.png")
    return View("TIA virtual ground", {"max |V(in)| V": float(np.abs(v_in).max()),
                                       "slope / (Rf/(1+A))": slope / tia.input_resistance,
                                       "max |I| A": float(np.abs(current).max())}, png, csv_path)


def opamp_view(xbar: Crossbar, out: Path) -> View:
    """Bode plot of the column TIA's op-amp (open-loop gain and phase from an ngspice ``ac`` analysis of
    the TIA block alone, loaded by the ADC input) with its DC gain, unity-gain bandwidth, phase margin
    and input offset (:mod:`memcosim.cosim.tia_characterisation`)."""
    tia = xbar.blocks.tia
    if tia is None:
        return View("TIA op-amp", skipped="no periphery.tia")
    adc = xbar.blocks.adc
    fig = characterise_tia(tia, adc.config.r_in if adc is not None else 1e9)
    magnitude_db = 20 * np.log10(np.abs(fig.gain))
    phase = fig.phase
    csv_path = _write_csv(out / "tia_opamp.csv", ["frequency_Hz", "gain_dB", "phase_deg"],
                          [[float(f), float(g), float(p)] for f, g, p in zip(fig.frequency, magnitude_db, phase)])
    plt = _figure()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5.5), dpi=110, sharex=True)
    top.semilogx(fig.frequency, magnitude_db)
    top.axhline(0.0, color="grey", lw=0.8)
    top.set_ylabel("open-loop gain (dB)")
    bottom.semilogx(fig.frequency, phase)
    bottom.axhline(-180.0, color="grey", lw=0.8)
    bottom.set_ylabel("phase (deg)")
    bottom.set_xlabel("frequency (Hz)")
    if np.isfinite(fig.ugbw):
        for ax in (top, bottom):
            ax.axvline(fig.ugbw, color="tab:red", lw=0.8, ls="--")
    for ax in (top, bottom):
        ax.grid(alpha=0.3, which="both")
    top.set_title(f"TIA op-amp {tia.name}: {fig.gain_db:.1f} dB, UGBW {fig.ugbw / 1e6:.3g} MHz, "
                  f"PM {fig.phase_margin:.0f} deg")
    png = _save(figure, out / "tia_opamp.png")
    crossing = "" if np.isfinite(fig.ugbw) else f" (|A| > 1 up to {fig.frequency[-1]:.0e} Hz)"
    return View("TIA op-amp", {"open-loop gain dB": fig.gain_db, "unity-gain bandwidth Hz": fig.ugbw,
                               "phase margin deg": fig.phase_margin, "input offset V": fig.offset,
                               "block": tia.name + crossing}, png, csv_path)


def floating_read_netlist(xbar: Crossbar, row: int, column: int) -> Netlist:
    """The array's netlist with every source but row ``row``'s and column ``column``'s replaced by
    a 1 Tohm resistor to ground: those lines float, so sneak paths carry current."""
    keep = {xbar.row_sources[row].lower(), xbar.column_sources[column].lower()}
    floating = {s.lower() for s in xbar.row_sources + xbar.column_sources} - keep
    src = xbar.netlist
    net = Netlist(title=f"{src.title} read {row} {column} floating lines")
    net.model_cards.update(src.model_cards)
    net.subcircuits.update(src.subcircuits)
    net.subcircuit_pins.update(src.subcircuit_pins)
    net.line_nodes.update(src.line_nodes)
    for e in src.elements:
        if e.name.lower() in floating:
            net.resistor(f"RFLOAT_{e.name}", e.nodes[0], e.nodes[1], R_FLOAT)
        else:
            net.add(e.name, e.nodes, e.rest, e.kind)
    net.memristors.extend(src.memristors)
    check_structure(net)
    return net


def cell_conductance(xbar: Crossbar) -> np.ndarray | None:
    """Read conductance (S) of every cell, or None when the model has no closed form."""
    c = xbar.config
    device = get_device(c.device.model, c.device.params)
    return device.conductance(xbar.values) if device.closed_form else None


def sneak_view(config: ArrayConfig, out: Path) -> View:
    """Current through every cell of a 1R array when the far corner cell is read with the other lines floating."""
    if config.cell != "1R":
        return View("sneak paths", skipped="1T1R cells block sneak paths (view is for 1R arrays)")
    kept = {slot: b for slot, b in (config.blocks or {}).items() if slot == "access"}  # no periphery slots left
    bare = dataclasses.replace(config, periphery=None, blocks=kept or None)
    xbar = build_crossbar(bare)
    g = cell_conductance(xbar)
    if g is None:
        return View("sneak paths", skipped=f"no closed-form read conductance for {config.device.model}")
    R, C = config.shape
    row, column = R - 1, C - 1
    net = floating_read_netlist(xbar, row, column)
    rows, cols = _line_nodes(xbar)
    with open_session(net) as s:
        s.set_sources({xbar.row_sources[row]: V_READ})
        r = s.op(voltages=sorted(set(rows + cols)), currents=[xbar.column_sources[column]])
    v_cell = np.array([r[a] - r[b] for a, b in zip(rows, cols)]).reshape(R, C)
    i_cell = g * v_cell
    i_col = float(r[xbar.column_sources[column]])
    selected = float(i_cell[row, column])
    csv_path = _write_csv(out / "sneak_paths.csv", ["row", "column", "v_cell_V", "i_cell_A"],
                          [[i, j, float(v_cell[i, j]), float(i_cell[i, j])] for i in range(R) for j in range(C)])
    png = _heatmap(np.abs(i_cell) * 1e6, f"|cell current| reading ({row}, {column}), other lines floating",
                   "uA", out / "sneak_paths.png", cmap="magma")
    return View("sneak paths", {"selected cell A": selected, "column current A": i_col,
                                "sneak share %": 100 * (i_col - selected) / i_col}, png, csv_path)


def write_disturbance(config: ArrayConfig, row: int, column: int, scheme: str | None = None,
                      amplitude: float | None = None) -> dict[str, np.ndarray]:
    """Write cell (row, column) once with the programming drivers in ngspice.

    Returns, per cell: ``bias``, the voltage across the device (top minus bottom electrode, volts)
    that ngspice solved in the middle of the pulse's full-height part, with every driver and wire
    drop; ``nominal_bias``, the scheme's line voltages (row minus column, volts); and the states
    ``before`` and ``after`` the write and their change ``delta``.
    """
    xbar = build_crossbar(config)
    R, C = config.shape
    v_rows, v_cols = xbar.write_voltages(row, column, scheme, amplitude)
    waves = xbar.write_waveforms(row, column, scheme, amplitude)
    pulse = xbar.periphery.programming.pulse
    electrodes = {m.name: (m.top, m.bottom) for m in xbar.netlist.memristors}
    ends = [electrodes[name] for name in xbar.cells.ravel()]
    nodes = sorted({n for pair in ends for n in pair} - {"0"})
    with open_session(xbar.netlist) as s:
        s.set_sources(_rows_at(xbar, np.zeros(R)))
        before = s.state_array(xbar.cells)
        check_column_voltages(xbar, v_cols)
        # column switches (if any) go into write mode before the pulse and back after it, in the transient
        waves, lead, stop = switched_write(xbar, waves, xbar.write_duration() + pulse.rise)
        r = s.tran(stop, pulse.width / 50, waveforms=waves, voltages=nodes, max_step=pulse.width / 50)
        after = s.state_array(xbar.cells)
    mid = lead + pulse.rise + pulse.width / 2  # the pulse starts at ``lead``: rise, then the full-height part
    at = {n: float(np.interp(mid, r.time, r[n])) for n in nodes}
    at["0"] = 0.0
    bias = np.array([at[top] - at[bottom] for top, bottom in ends]).reshape(R, C)
    return {"bias": bias, "nominal_bias": v_rows[:, None] - v_cols[None, :], "before": before, "after": after,
            "delta": after - before}


def disturbance_view(config: ArrayConfig, out: Path) -> View:
    """State change of every device after writing the centre cell with the configured scheme."""
    prog = (config.periphery.programming if config.periphery else None)
    if prog is None:
        return View("half-select disturbance", skipped="no periphery.programming")
    if not get_device(config.device.model).has_state:
        return View("half-select disturbance", skipped="resistor cells have no state to disturb")
    R, C = config.shape
    row, column = R // 2, C // 2
    d = write_disturbance(config, row, column)
    delta = d["delta"]
    half = np.zeros((R, C), dtype=bool)
    half[row, :] = half[:, column] = True
    half[row, column] = False
    rest = ~half
    rest[row, column] = False
    csv_path = _write_csv(out / "half_select_disturbance.csv",
                          ["row", "column", "bias_V", "nominal_bias_V", "state_before", "state_after",
                           "delta_state"],
                          [[i, j, float(d["bias"][i, j]), float(d["nominal_bias"][i, j]), float(d["before"][i, j]),
                            float(d["after"][i, j]), float(delta[i, j])] for i in range(R) for j in range(C)])
    png = _heatmap(delta, f"state change after a {prog.scheme} write of ({row}, {column}), {prog.pulse.amplitude:g} V",
                   "delta state", out / "half_select_disturbance.png", cmap="coolwarm")
    return View("half-select disturbance", {
        "selected bias V": float(d["bias"][row, column]),
        "max half-selected bias V": float(np.abs(d["bias"][half]).max()) if half.any() else 0.0,
        "selected delta": float(delta[row, column]),
        "max |half-selected delta|": float(np.abs(delta[half]).max()) if half.any() else 0.0,
        "max |unselected delta|": float(np.abs(delta[rest]).max()) if rest.any() else 0.0,
    }, png, csv_path)


# -- transient views: read settling, energy per read, line voltages during a write ----------

SETTLING_SIZES = (16, 32, 64, 128)  # rows = columns of the arrays the settling view sweeps
WIRE_CAPACITANCES = (1e-15, 1e-14, 1e-13)  # farad per wire segment the settling view sweeps


def resized(config: ArrayConfig, size: int, capacitance: float | None = None) -> ArrayConfig:
    """``config`` as a ``size`` x ``size`` array (per-cell matrices replaced by their mean, faults and
    per-column ADC offsets dropped), with ``capacitance`` farads per row and column wire segment if given."""
    def mean(value):
        return None if value is None else float(np.mean(value))

    wires = config.wires if capacitance is None else dataclasses.replace(config.wires, c_row=capacitance,
                                                                         c_column=capacitance)
    periphery = config.periphery
    if periphery is not None and periphery.adc is not None and isinstance(periphery.adc.offset, list):
        periphery = dataclasses.replace(periphery, adc=dataclasses.replace(
            periphery.adc, offset=float(np.mean(periphery.adc.offset))))
    size = size + size % 2 if config.differential else size
    return dataclasses.replace(config, rows=size, columns=size, wires=wires, conductance=mean(config.conductance),
                               states=mean(config.states), faults=None, periphery=periphery)


@dataclass
class Settling:
    """A read's settling: every row stepped at 0 s from 0 V to full scale. ``time``: seconds until every
    TIA output stays within half an ADC LSB of its settled (operating-point) value (``nan`` if it did not
    within ``stop``); ``column``: the slowest column; ``stop``: seconds simulated; ``energy``: joules per
    supply group over the ``stop`` seconds."""

    time: float
    column: int
    stop: float
    energy: dict[str, float]


def time_constant(config: ArrayConfig) -> float:
    """A rough RC estimate (seconds) of the slowest line: the row through the DAC's output resistance, the
    driver and the row wire into its wire capacitance, or the column wire into its own (at least 1 ps)."""
    per = config.periphery
    r_out = per.dac.r_out if per is not None and per.dac is not None else 0.0
    w = config.wires
    row = (r_out + w.r_driver + config.columns * w.r_row) * config.columns * w.c_row
    column = config.rows * w.r_column * config.rows * w.c_column
    return max(row, column, 1e-12)


def settle(xbar: Crossbar, session: Session, tries: int = 5) -> Settling:
    """Step every row from 0 V to full scale and find when the TIA outputs settle to half an ADC LSB; the
    run is made 4x longer (up to ``tries`` runs) until the last fifth of it stays within half an LSB."""
    adc = xbar.blocks.adc
    R = xbar.config.rows
    full = np.full(R, _full_scale(xbar))
    session.set_sources(_rows_at(xbar, full))
    target = session.op(voltages=xbar.tia_outputs).stack(xbar.tia_outputs)
    high = _rows_at(xbar, full)
    low = _rows_at(xbar, np.zeros(R))
    session.set_sources(low)
    tau = time_constant(xbar.config)
    stop = max(100 * tau, 1e-9)
    for _ in range(tries):
        rise = stop / 1000
        waves = {name: Pwl((0.0, rise), (low[name], high[name])) for name in xbar.row_sources}
        r = session.tran(stop, stop / 200, waveforms=waves, voltages=xbar.tia_outputs, max_step=stop / 200)
        err = np.abs(r.stack(xbar.tia_outputs) - target[:, None])
        outside = err > adc.lsb / 2
        tail = r.time >= 0.8 * stop
        if not outside[:, tail].any():
            last = np.array([r.time[np.nonzero(o)[0][-1] + 1] if o.any() else 0.0 for o in outside])
            column = int(np.argmax(last))
            return Settling(float(last[column]), column, stop, dict(r.energy))
        stop *= 4
    return Settling(float("nan"), int(np.argmax(outside[:, -1])), stop / 4, dict(r.energy))


def settling_view(config: ArrayConfig, out: Path, sizes: tuple[int, ...] = SETTLING_SIZES,
                  capacitances: tuple[float, ...] = WIRE_CAPACITANCES,
                  progress: Callable[[str], None] | None = None) -> View:
    """Read settling time to half an ADC LSB versus array size (``sizes`` x ``sizes`` copies of the array,
    :func:`resized`) and wire capacitance (farads per segment); one transient per point."""
    per = config.periphery
    if per is None or per.tia is None or per.adc is None:
        return View("read settling", skipped="needs periphery.tia and periphery.adc (half an ADC LSB)")
    say = progress or (lambda line: None)
    rows = []
    for c in capacitances:
        for n in sizes:
            t = time.perf_counter()
            cfg = resized(config, n, c)
            xbar = build_crossbar(cfg)
            with open_session(xbar.netlist) as s:
                st = settle(xbar, s)
            rows.append([cfg.rows, cfg.columns, float(c), st.time, st.column, time_constant(cfg), st.stop,
                         float(sum(st.energy.values()))])
            say(f"  read settling {cfg.rows}x{cfg.columns}, {c:g} F per segment: "
                + (f"{st.time * 1e9:.3g} ns" if np.isfinite(st.time) else f"not settled in {st.stop * 1e9:.3g} ns")
                + f" ({time.perf_counter() - t:.1f} s)")
    csv_path = _write_csv(out / "read_settling.csv", ["rows", "columns", "c_wire_F", "settling_s", "slowest_column",
                                                      "rc_estimate_s", "simulated_s", "energy_simulated_J"], rows)
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    data = np.array([r[:4] for r in rows], dtype=float)
    for c in capacitances:
        sel = data[:, 2] == c
        ax.plot(data[sel, 0], data[sel, 3] * 1e9, "o-", label=f"{c:g} F per segment")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("array size (rows = columns)")
    ax.set_ylabel("settling time to 1/2 LSB (ns)")
    ax.set_title(f"read settling, full-scale step on every row ({config.device.model})")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    png = _save(fig, out / "read_settling.png")
    finite = data[np.isfinite(data[:, 3])]
    summary: dict[str, float | int | str] = {"points": len(rows), "not settled": int(len(rows) - len(finite))}
    if len(finite):
        worst = finite[np.argmax(finite[:, 3])]
        summary.update({"max settling s": float(worst[3]), "at size": int(worst[0]), "at c_wire F": float(worst[2])})
    return View("read settling", summary, png, csv_path)


def read_energy_view(config: ArrayConfig, out: Path) -> View:
    """Energy per supply group of one matrix-vector read: every row stepped from 0 V to full scale and held
    until the TIA outputs settle to half an ADC LSB (the read window), on the array as configured; and each
    group's static power once settled (watts: the energy of a second window held on, over its length), which
    a read held longer (e.g. for an ADC conversion) adds per second."""
    per = config.periphery
    if per is None or per.tia is None or per.adc is None:
        return View("energy per read", skipped="needs periphery.tia and periphery.adc (the read window)")
    xbar = build_crossbar(config)
    with open_session(xbar.netlist) as s:
        st = settle(xbar, s)
        window = st.time if np.isfinite(st.time) and st.time > 0 else st.stop
        R = config.rows
        low, high = _rows_at(xbar, np.zeros(R)), _rows_at(xbar, np.full(R, _full_scale(xbar)))
        waves = {name: Pwl((0.0, st.stop / 1000), (low[name], high[name])) for name in xbar.row_sources}
        if window <= st.stop / 1000:
            window = 2 * st.stop / 1000
        r = s.tran(window, window / 200, waveforms=waves, voltages=xbar.tia_outputs[:1], max_step=window / 200)
        held = s.tran(2 * window, window / 200, waveforms=waves, voltages=xbar.tia_outputs[:1], max_step=window / 200)
    total = r.total_energy
    static = {g: (held.energy.get(g, 0.0) - j) / window for g, j in r.energy.items()}
    csv_path = _write_csv(out / "read_energy.csv", ["group", "energy_J", "share", "read_window_s", "static_power_W"],
                          [[g, float(j), float(j / total) if total else 0.0, float(window), float(static[g])]
                           for g, j in r.energy.items()])
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    groups = list(r.energy)
    ax.bar(groups, [r.energy[g] * 1e12 for g in groups])
    ax.set_ylabel("energy per read (pJ)")
    ax.set_title(f"one {config.rows}x{config.columns} read, full scale, {window * 1e9:.3g} ns window")
    png = _save(fig, out / "read_energy.png")
    summary: dict[str, float | int | str] = {"read window s": float(window), "total J": float(total),
                                             "static power W": float(sum(static.values()))}
    summary.update({f"{g} J": float(j) for g, j in r.energy.items()})
    return View("energy per read", summary, png, csv_path)


def write_lines_view(config: ArrayConfig, out: Path, schemes: tuple[str, ...] = ("V/2", "V/3")) -> View:
    """Row and column line voltages in the middle of a write of the centre cell, with each of ``schemes``
    and both polarities of the configured amplitude (SET +, RESET -), beside the scheme's nominal voltages;
    the peak |TIA output| during the write and the energy of every supply group per write."""
    per = config.periphery
    if per is None or per.programming is None:
        return View("write line voltages", skipped="no periphery.programming")
    R, C = config.shape
    row, column = R // 2, C // 2
    lines, energy, summary = [], [], {}
    plotted = {}
    for scheme in schemes:
        cfg = dataclasses.replace(config, periphery=dataclasses.replace(
            per, programming=dataclasses.replace(per.programming, scheme=scheme)))
        xbar = build_crossbar(cfg)
        pulse = per.programming.pulse
        near_rows = [xbar.row_node(i, 0) for i in range(R)]
        far_rows = [xbar.row_node(i, C - 1) for i in range(R)]
        near_cols = [xbar.column_node(R - 1, j) for j in range(C)]
        far_cols = [xbar.column_node(0, j) for j in range(C)]
        nodes = sorted(set(near_rows + far_rows + near_cols + far_cols + xbar.tia_inputs + xbar.tia_outputs))
        with open_session(xbar.netlist) as s:
            s.set_sources(_rows_at(xbar, np.zeros(R)))
            start = s.states.copy()
            for amplitude in (pulse.amplitude, -pulse.amplitude):
                s.set_states(start)
                v_rows, v_cols = xbar.write_voltages(row, column, scheme, amplitude)
                check_column_voltages(xbar, v_cols)
                # column switches (if any) join the columns to their drivers in the transient and back after it
                waves, lead, stop = switched_write(xbar, xbar.write_waveforms(row, column, scheme, amplitude),
                                                   xbar.write_duration() + pulse.rise)
                r = s.tran(stop, pulse.width / 50, waveforms=waves, voltages=nodes, max_step=pulse.width / 50)
                mid = lead + pulse.rise + pulse.width / 2
                at = {n: float(np.interp(mid, r.time, r[n])) for n in nodes}
                peak = max((float(np.abs(r[o]).max()) for o in xbar.tia_outputs), default=0.0)
                for i in range(R):
                    lines.append([scheme, float(amplitude), "row", i, float(v_rows[i]), at[near_rows[i]],
                                  at[far_rows[i]], "", ""])
                for j in range(C):
                    lines.append([scheme, float(amplitude), "column", j, float(v_cols[j]), at[near_cols[j]],
                                  at[far_cols[j]], at[xbar.tia_inputs[j]] if xbar.tia_inputs else "",
                                  at[xbar.tia_outputs[j]] if xbar.tia_outputs else ""])
                energy += [[scheme, float(amplitude), g, float(j)] for g, j in r.energy.items()]
                kind = "SET" if amplitude > 0 else "RESET"
                summary[f"{scheme} {kind} energy J"] = r.total_energy
                summary[f"{scheme} {kind} max |TIA out| V"] = peak
                if amplitude == pulse.amplitude:
                    plotted[scheme] = (v_rows, v_cols, [at[n] for n in near_rows], [at[n] for n in far_rows],
                                       [at[n] for n in near_cols], [at[n] for n in far_cols])
            s.set_states(start)
    csv_path = _write_csv(out / "write_line_voltages.csv",
                          ["scheme", "amplitude_V", "line", "index", "nominal_V", "v_driver_end_V", "v_far_end_V",
                           "v_tia_in_V", "v_tia_out_V"], lines)
    _write_csv(out / "write_energy.csv", ["scheme", "amplitude_V", "group", "energy_J"], energy)
    plt = _figure()
    fig, axes = plt.subplots(len(plotted), 2, figsize=(9, 3.2 * len(plotted)), dpi=110, squeeze=False)
    for (scheme, (v_rows, v_cols, rn, rf, cn, cf)), (a_row, a_col) in zip(plotted.items(), axes):
        a_row.plot(range(R), v_rows, "k--", label="nominal")
        a_row.plot(range(R), rn, "o-", ms=3, label="driver end")
        a_row.plot(range(R), rf, "s-", ms=3, label="far end")
        a_row.set_title(f"{scheme}: rows, writing ({row}, {column})")
        a_row.set_xlabel("row")
        a_col.plot(range(C), v_cols, "k--", label="nominal")
        a_col.plot(range(C), cn, "o-", ms=3, label="TIA end")
        a_col.plot(range(C), cf, "s-", ms=3, label="far end")
        a_col.set_title(f"{scheme}: columns")
        a_col.set_xlabel("column")
        for a in (a_row, a_col):
            a.set_ylabel("volts mid-pulse")
            a.grid(alpha=0.3)
            a.legend(fontsize=7)
    png = _save(fig, out / "write_line_voltages.png")
    return View("write line voltages", summary, png, csv_path)


def run_views(config: ArrayConfig, out_dir: str | Path, points: int = 256,
              progress: Callable[[str], None] | None = None, transients: bool = False,
              sizes: tuple[int, ...] = SETTLING_SIZES, capacitances: tuple[float, ...] = WIRE_CAPACITANCES
              ) -> list[View]:
    """Every designer view of ``config`` (PNG + CSV each into ``out_dir`` as soon as it is done).

    ``points`` caps the DAC codes and (x4) the ADC sweep points: each is one operating point.
    ``progress`` is called with a line before the array is built and after each view (name, seconds).
    ``transients`` adds the transient views: read settling over array ``sizes`` and wire ``capacitances``
    (farads per segment), energy per read, line voltages during V/2 and V/3 writes.
    """
    out = Path(out_dir)
    say = progress or (lambda line: None)
    t0 = time.perf_counter()
    say(f"building the {config.rows}x{config.columns} array and its session")
    xbar = build_crossbar(config)
    views: list[View] = []
    total = 10 if transients else 7

    def run(step: Callable[[], View]) -> None:
        t = time.perf_counter()
        views.append(step())
        say(f"view {len(views)}/{total}: {views[-1].name} done in {time.perf_counter() - t:.1f} s "
            f"({time.perf_counter() - t0:.0f} s in all)")

    def ticker(name: str) -> Callable[[int, int], None] | None:
        """A tick that reports ``name``'s operating points about every 10 % (after the first 5 s)."""
        if progress is None:
            return None
        start = time.perf_counter()

        def tick(done: int, total: int) -> None:
            if done % max(1, total // 10) == 0 and done < total and time.perf_counter() - start > 5:
                say(f"  {name}: {done}/{total} operating points, {time.perf_counter() - start:.0f} s")

        return tick

    run(lambda: opamp_view(xbar, out))  # first: a TIA without an operating point fails before the long views
    with open_session(xbar.netlist) as s:
        for step in (lambda: ir_drop_view(xbar, s, out),
                     lambda: dac_view(xbar, s, out, max_codes=points, tick=ticker("DAC transfer")),
                     lambda: adc_view(xbar, s, out, max_points=4 * points, tick=ticker("ADC transfer")),
                     lambda: tia_view(xbar, s, out)):
            run(step)
    for step in (lambda: sneak_view(config, out), lambda: disturbance_view(config, out)):
        run(step)
    if transients:
        for step in (lambda: settling_view(config, out, sizes, capacitances, say),
                     lambda: read_energy_view(config, out), lambda: write_lines_view(config, out)):
            run(step)
    return views


def print_summary(views: list[View]) -> None:
    """The summary table: one line per figure of every view, then the files."""
    print(f"{'view':<26} {'figure':<28} {'value':>14}")
    for v in views:
        if v.skipped:
            print(f"{v.name:<26} {'(skipped)':<28} {v.skipped}")
            continue
        for k, value in v.summary.items():
            text = f"{value:.6g}" if isinstance(value, float) else str(value)
            print(f"{v.name:<26} {k:<28} {text:>14}")
    for v in views:
        if v.png:
            print(f"wrote {v.png} and {v.csv}")
