"""Programming pulses on a cell, a row, a column or the whole array, as transients in the session.

The array needs programming drivers (``periphery.programming``): the series sources ``VPROW<i>`` /
``VPCOL<j>`` carry the pulse, 0 V otherwise. The line voltages come from
:meth:`Crossbar.write_voltages` (the V/2, V/3 or ground scheme of ``circuits/bias.py``):

* a cell (i, j): exactly ``write_voltages(i, j)``;
* row i: the same, with every column at 0 V (all cells of row i selected, others see V/2 or V/3);
* column j: the same, with every row at the amplitude;
* the array: every row at the amplitude, every column at 0 V.

A pulse is a trapezoid (rise, ``width`` at full amplitude, fall; seconds). With a
:class:`~memcosim.devices.variation.Variation` the pulse is run in windows of ``variation.interval``
(10 ns) and the cycle-to-cycle walk advances before each window. Every input is checked before the
session is touched: a bad amplitude, width or selection raises ConfigError and leaves the states
as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from memcosim import fields as f
from memcosim.circuits import waveforms
from memcosim.circuits.waveforms import Pwl
from memcosim.cosim.column_switches import check_column_voltages, switched_write, write_mode
from memcosim.cosim.layer import CrossbarLayer
from memcosim.devices.presets import ProgrammingPreset, get_preset
from memcosim.errors import ConfigError

SELECTIONS = ("cell", "row", "column", "array")


@dataclass(frozen=True)
class PulseSpec:
    """One programming pulse: ``amplitude`` volts at the selected cells, ``width`` s, ``rise``/``fall`` s."""

    amplitude: float
    width: float
    rise: float = 1e-9
    fall: float = 1e-9

    def checked(self, preset: ProgrammingPreset) -> "PulseSpec":
        """This pulse if its amplitude is in the preset's safe range and its times are valid (ConfigError)."""
        preset.check_amplitude(self.amplitude, "pulse.amplitude")
        f.number("pulse.width", self.width, low=0.0, low_open=True, unit="s")
        f.number("pulse.rise", self.rise, low=0.0, low_open=True, unit="s")
        f.number("pulse.fall", self.fall, low=0.0, low_open=True, unit="s")
        return self

    @property
    def duration(self) -> float:
        """Seconds from the start of the rise to the end of the fall."""
        return self.rise + self.width + self.fall

    def shape(self, amplitude: float | None = None) -> Pwl:
        """The pulse as a waveform from t = 0 (volts at the selected cell; ``amplitude`` instead of the
        pulse's own, e.g. 1.0 for a unit shape that each line scales)."""
        return waveforms.pulse(self.amplitude if amplitude is None else amplitude, self.width, rise=self.rise,
                               fall=self.fall)


@dataclass
class PulseResult:
    """States before and after a pulse (rows x columns, model units), the pulse time used (s), the number of
    transient windows and the amplitude put on the lines (volts; differs from the pulse's with IR-drop
    compensation). ``energy``: joules each supply group delivered over the write's transients (programming
    drivers, TIAs, the column switches' gate drive of both mode changes, ...; see
    :attr:`memcosim.cosim.session.Result.energy`). ``time``/``voltages``: the probed nodes' voltages (volts)
    over the write (seconds from the start of its first transient, which with column switches is the read
    to write mode change)."""

    before: np.ndarray
    after: np.ndarray
    duration: float
    windows: int
    line_amplitude: float = 0.0
    energy: dict[str, float] = field(default_factory=dict)
    time: np.ndarray | None = None
    voltages: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def total_energy(self) -> float:
        """Joules delivered by every supply of the circuit during the pulse."""
        return float(sum(self.energy.values()))

    @property
    def delta(self) -> np.ndarray:
        return self.after - self.before


def selection_voltages(xbar, selection: str, index: tuple[int, int] | int | None, amplitude: float,
                       scheme: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column line voltages (volts) that apply ``amplitude`` to the selected cells."""
    selection = f.choice("selection", selection, SELECTIONS)
    R, C = xbar.config.shape
    if selection == "cell":
        if index is None and (R, C) == (1, 1):
            index = (0, 0)
        if not (isinstance(index, (tuple, list)) and len(index) == 2):
            raise ConfigError("index", f"a cell is selected by (row, column), got {index!r}")
        return xbar.write_voltages(int(index[0]), int(index[1]), scheme, amplitude)
    if selection == "row":
        f.integer("index", index, 0, R - 1)
        v_rows, v_cols = xbar.write_voltages(int(index), 0, scheme, amplitude)
        v_cols[:] = 0.0
        return v_rows, v_cols
    if selection == "column":
        f.integer("index", index, 0, C - 1)
        v_rows, v_cols = xbar.write_voltages(0, int(index), scheme, amplitude)
        v_rows[:] = amplitude
        return v_rows, v_cols
    v_rows, v_cols = xbar.write_voltages(0, 0, scheme, amplitude)
    v_rows[:] = amplitude
    v_cols[:] = 0.0
    return v_rows, v_cols


@dataclass
class Drive:
    """What :func:`drive` ran: ``windows`` transients, the joules of each supply group over them
    (``energy``), and the probed node voltages (volts) over ``time`` (seconds from the first window's start)."""

    windows: int
    energy: dict[str, float]
    time: np.ndarray | None = None
    voltages: dict[str, np.ndarray] = field(default_factory=dict)


def drive(session, xbar, v_rows: np.ndarray, v_cols: np.ndarray, shape: Pwl, duration: float,
          variation=None, on_window: Callable[[float], None] | None = None, window: float | None = None,
          walk_within_pulse: bool = True, max_step: float = 10e-9, reltol: float | None = None,
          voltages: Sequence[str] = ()) -> Drive:
    """Drive the programming sources with ``shape`` (a unit-amplitude waveform scaled by each line's
    voltage) for ``duration`` seconds; returns the windows run, their energy and the ``voltages`` asked for.

    With column switches the first window begins with the change into write mode and the last one
    ends with the change back (:func:`~memcosim.cosim.column_switches.switched_write`: ``t_change``
    seconds each, lines at 0 V), so the gate drivers' charge is in the ``switches`` energy.

    With ``variation`` the walk advances at every ``variation.interval`` (10 ns) of pulse time counted
    over all pulses (:meth:`~memcosim.devices.variation.Variation.walk_times`): the drive is split into
    windows at those instants and the new parameters are written before the window that starts there.
    ``window`` splits it further into windows of that many seconds; ``on_window(t_end)`` runs after
    each (``t_end`` in pulse time). With ``walk_within_pulse=False`` (large arrays, where a transient per 10 ns costs too much)
    the walk instead advances by the number of those instants in the drive, is written once, and one
    transient runs (the parameters then hold still during the pulse). ``max_step`` (seconds) is the
    largest time step of every transient and ``reltol`` its relative tolerance when tighter than the
    session's (:meth:`ProgrammingPreset.max_time_step` and ``pulse_reltol`` of the device's preset in
    :func:`apply_pulse` and :func:`hold`).
    """
    names = xbar.program_row_sources + xbar.program_column_sources
    if not names:
        raise ConfigError("periphery.programming", "this array has no programming drivers")
    check_column_voltages(xbar, v_cols)
    scales = np.concatenate([v_rows, v_cols])
    walking = variation is not None and variation.active
    walks: list[float] = []
    if walking:
        walks = variation.walk_times(duration)
        variation.pass_time(duration)
        if not walk_within_pulse:
            if walks:
                variation.advance(len(walks))
                variation.apply(session)
            walking, walks = False, []
    cuts = set(walks) | ({0.0} if window is None else set(np.arange(0.0, duration, window).tolist()))
    edges = sorted(cuts | {0.0}) + [duration]
    tiny = 1e-6 * (window or (variation.config.interval if variation is not None else duration))
    edges = [t for k, t in enumerate(edges) if k == 0 or t - edges[k - 1] > tiny]
    if len(edges) > 2 and edges[-1] - edges[-2] <= tiny:
        edges.pop(-2)
    lines = {name: shape.scaled(scale) for name, scale in zip(names, scales) if scale != 0.0}
    full, lead, total = switched_write(xbar, lines, duration)
    energy: dict[str, float] = {}
    times: list[np.ndarray] = []
    probed: dict[str, list[np.ndarray]] = {n: [] for n in voltages}
    last = len(edges) - 2
    for k, (t0, t1) in enumerate(zip(edges[:-1], edges[1:])):
        if walking and any(abs(t0 - w) <= tiny for w in walks):
            variation.advance()
            variation.apply(session)
        a = 0.0 if k == 0 else lead + t0
        b = total if k == last else lead + t1
        waves = {name: w.window(a, b) for name, w in full.items()}
        span = b - a
        r = session.tran(span, span / 10, waveforms=waves, max_step=min(span, max_step), reltol=reltol,
                         voltages=list(voltages))
        for group, joules in r.energy.items():
            energy[group] = energy.get(group, 0.0) + joules
        if voltages:
            times.append(r.time + a)
            for n in voltages:
                probed[n].append(r[n])
        if on_window is not None:
            on_window(t1)
    return Drive(len(edges) - 1, energy, np.concatenate(times) if times else None,
                 {n: np.concatenate(v) for n, v in probed.items()})


def cell_voltage(session, xbar, cell: tuple[int, int], v_rows: np.ndarray, v_cols: np.ndarray) -> float:
    """DC voltage (volts, top minus bottom electrode) across the memristor of ``cell`` with the programming
    sources at ``v_rows`` / ``v_cols``: an operating point (states pinned, nothing moves); the
    programming sources are back at 0 V afterwards."""
    names = xbar.program_row_sources + xbar.program_column_sources
    if not names:
        raise ConfigError("periphery.programming", "this array has no programming drivers")
    name = str(xbar.cells[cell]).lower()
    device = next(m for m in session.devices if m.name.lower() == name)
    with write_mode(session, xbar):
        try:
            session.set_sources(dict(zip(names, (float(v) for v in np.concatenate([v_rows, v_cols])))))
            r = session.op(voltages=[device.top, device.bottom])
        finally:
            session.set_sources(dict.fromkeys(names, 0.0))
    return float(r[device.top] - r[device.bottom])


def compensate_ir_drop(session, xbar, cell: tuple[int, int], amplitude: float, scheme: str | None = None,
                       max_boost: float = 0.6, iterations: int = 5, tolerance: float = 2e-3) -> float:
    """The line amplitude (volts) that puts ``amplitude`` across the memristor of ``cell`` at the start of a
    write, against the IR drop of the wires and of the half-selected cells' currents (fixed-point
    iteration on :func:`cell_voltage`, at most ``iterations`` operating points). The boost is limited
    to ``max_boost`` volts beyond ``amplitude``; a RESET needs more boost than a SET of the same cell,
    since the half-selected cells conduct more in RESET polarity."""
    line = amplitude
    for _ in range(iterations):
        v = cell_voltage(session, xbar, cell, *xbar.write_voltages(cell[0], cell[1], scheme, line))
        if abs(v - amplitude) <= tolerance * abs(amplitude):
            break
        line = float(np.clip(line + (amplitude - v), amplitude - max_boost, amplitude + max_boost))
        line = max(line, amplitude) if amplitude > 0 else min(line, amplitude)
    return line


def apply_pulse(session, xbar, pulse: PulseSpec, selection: str = "cell", index: tuple[int, int] | int | None = None,
                scheme: str | None = None, variation=None, preset: ProgrammingPreset | None = None,
                walk_within_pulse: bool = True, compensate: bool = False, voltages: Sequence[str] = ()) -> PulseResult:
    """Apply ``pulse`` to the selected cells with ``scheme`` (default: the array's programming scheme).

    ``amplitude`` is what the selected cells see; half-selected cells see V/2 (V/2) or V/3 (V/3).
    Validates everything first; returns the states before and after (rows x columns). See :func:`drive`
    for ``walk_within_pulse``. With ``compensate`` (one selected cell) the line amplitude is raised so
    that the cell itself sees ``pulse.amplitude`` at the start of the pulse (:func:`compensate_ir_drop`);
    the safe range applies to what the cell sees. The result carries the write's energy per supply
    group and the waveforms of the nodes in ``voltages``.
    """
    preset = preset or get_preset(xbar.config.device.model)
    pulse = pulse.checked(preset)
    v_rows, v_cols = selection_voltages(xbar, selection, index, pulse.amplitude, scheme)
    line = pulse.amplitude
    if compensate:
        if selection != "cell":
            raise ConfigError("compensate", "IR-drop compensation is for single-cell writes")
        cell = (0, 0) if index is None else (int(index[0]), int(index[1]))
        line = compensate_ir_drop(session, xbar, cell, pulse.amplitude, scheme)
        v_rows, v_cols = selection_voltages(xbar, selection, cell, line, scheme)
    unit = pulse.shape(1.0)
    before = session.state_array(xbar.cells)
    d = drive(session, xbar, v_rows, v_cols, unit, pulse.duration, variation,
              walk_within_pulse=walk_within_pulse, max_step=preset.max_time_step(pulse.duration),
              reltol=preset.pulse_reltol, voltages=voltages)
    return PulseResult(before, session.state_array(xbar.cells), pulse.duration, d.windows, line, d.energy, d.time,
                       d.voltages)


def apply_layer_pulse(layer: CrossbarLayer, amplitude: float, width: float | None = None, selection: str = "cell",
                      index: tuple[int, int] | int | None = None) -> PulseResult:
    """:func:`apply_pulse` on a crossbar layer of a :class:`~memcosim.cosim.layer.CrossbarCircuit`:
    ``amplitude`` volts at the selected cells (physical ``(row, column)``) for ``width`` seconds (default: the
    layer's), the layer's V/2 or V/3 scheme, the other layers' rows idle. Returns the states before and after."""
    if not layer.device.has_state:
        raise ConfigError("layer.device.model", "resistor cells cannot be pulsed: use a device model")
    layer.circuit.idle_rows()
    return apply_pulse(layer.session, layer.crossbar, PulseSpec(amplitude, width or layer.config.pulse.width),
                       selection, index)


def hold(session, xbar, amplitude: float, duration: float, selection: str = "cell",
         index: tuple[int, int] | int | None = None, scheme: str | None = None, variation=None,
         preset: ProgrammingPreset | None = None, on_window: Callable[[float], None] | None = None,
         window: float | None = None) -> int:
    """Hold ``amplitude`` volts on the selected cells for ``duration`` s with ideal (instant) edges,
    as a continuous pulse split into windows (see :func:`drive`); returns the number of windows."""
    preset = preset or get_preset(xbar.config.device.model)
    preset.check_amplitude(amplitude, "amplitude")
    duration = f.number("duration", duration, low=0.0, low_open=True, unit="s")
    v_rows, v_cols = selection_voltages(xbar, selection, index, amplitude, scheme)
    return drive(session, xbar, v_rows, v_cols, Pwl.constant(1.0), duration, variation,
                 on_window, window, max_step=preset.max_time_step(min(duration, window or duration)),
                 reltol=preset.pulse_reltol).windows
