"""Fault injection: stuck devices, open and bridged wire segments, dead DAC/ADC channels, state drift.

A :class:`FaultConfig` says how often each fault occurs (a rate: the probability that one site has
it) and the ``seed`` of the draw; :meth:`FaultConfig.draw` turns it into a :class:`FaultMap` (which
sites are faulty) for an array of a given size, the same map for the same seed. Each fault kind
draws from its own stream, so changing one rate does not move the faults of another kind.

What each fault does in the circuit (``build_crossbar`` applies them when ``ArrayConfig.faults``
is set; :func:`apply_faults` does it to any rendered crossbar):

* ``stuck_on`` / ``stuck_off`` (per cell): the device is pinned at its ON (highest conductance) or
  OFF state bound, whatever is written or pulsed. A memristor keeps its element (its name, state
  node and place in ``Session.devices``) but uses a ``.model`` card whose state bounds are narrowed
  to a band of ``1e-9`` of the state range at that bound, so every read, pulse and ``set_states``
  sees the stuck conductance. Resistor cells get conductance ``g_on`` / ``g_off`` siemens.
* ``open_row`` / ``open_column`` (per wire segment): the segment's resistance becomes ``r_open``
  ohm (default 1e12), cutting the cells beyond it off their driver (row) or sense end (column).
  Needs wire segments (``wires.r_row`` / ``wires.r_column`` > 0).
* ``short_row`` / ``short_column`` (per site between two neighbouring lines): a bridge of
  ``r_short`` ohm (default 1) joins row ``i`` and row ``i + 1`` at column ``j`` (resistors
  ``RSHR<i>_<j>``), or column ``j`` and ``j + 1`` at row ``i`` (``RSHC<i>_<j>``).
* ``dead_dac`` (per row): the row DAC's output stage is stuck at 0 V (same output resistance),
  whatever code is set on ``VROW<i>``. Needs ``periphery.dac``.
* ``dead_adc`` (per column): the column ADC reads code 0 whatever its input
  (``Crossbar.adc_codes``). Needs ``periphery.adc``.
* ``drift`` (per device): the fraction of memristors whose state relaxes toward ``drift_toward``
  (a fraction of the state range above the OFF bound) with time constant ``drift_tau`` seconds
  (lognormal spread ``drift_sigma`` across devices): ``x(t) = x_r + (x - x_r) exp(-t / tau)``.
  Time passes when you call :func:`drift` (e.g. between training epochs or before a deployment read).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim import fields as f
from memcosim.circuits.netlist import Element, Memristor, Netlist, fmt
from memcosim.circuits.periphery.base import DAC
from memcosim.config.faults import FAULT_KINDS, FaultConfig
from memcosim.devices.catalog import get_device
from memcosim.errors import ConfigError

STUCK_BAND = 1e-9  # width of a stuck device's state band, fraction of the state range


def draw_faults(config: FaultConfig, rows: int, columns: int) -> "FaultMap":
    """Which sites of a ``rows`` x ``columns`` array are faulty (Bernoulli per site at each rate)."""
    R, C = int(rows), int(columns)
    u = _rng(config, "stuck").random((R, C))
    on = u < config.stuck_on
    off = (u >= config.stuck_on) & (u < config.stuck_on + config.stuck_off)
    drift_rng = _rng(config, "drift")
    drifting = drift_rng.random((R, C)) < config.drift
    tau = config.drift_tau * np.exp(drift_rng.normal(0.0, config.drift_sigma, (R, C)))
    return FaultMap(
        stuck_on=on, stuck_off=off,
        open_row=_rng(config, "open_row").random((R, max(C - 1, 0))) < config.open_row,
        open_column=_rng(config, "open_column").random((max(R - 1, 0), C)) < config.open_column,
        short_row=_rng(config, "short_row").random((max(R - 1, 0), C)) < config.short_row,
        short_column=_rng(config, "short_column").random((R, max(C - 1, 0))) < config.short_column,
        dead_dac=_rng(config, "dead_dac").random(R) < config.dead_dac,
        dead_adc=_rng(config, "dead_adc").random(C) < config.dead_adc,
        drifting=drifting & ~(on | off), drift_tau=tau,
    )


def _rng(config: FaultConfig, kind: str) -> np.random.Generator:
    return np.random.default_rng([config.seed, FAULT_KINDS.index(kind)])


@dataclass
class FaultMap:
    """The drawn faults of one array (boolean masks; ``True`` = faulty).

    ``stuck_on`` / ``stuck_off`` / ``drifting``: rows x columns. ``open_row[i, j]``: the row-``i``
    segment between columns ``j`` and ``j + 1``; ``open_column[i, j]``: the column-``j`` segment
    between rows ``i`` and ``i + 1``. ``short_row[i, j]``: rows ``i`` and ``i + 1`` bridged at column
    ``j``; ``short_column[i, j]``: columns ``j`` and ``j + 1`` bridged at row ``i``. ``dead_dac``:
    per row; ``dead_adc``: per column. ``drift_tau``: each cell's drift time constant (seconds).
    """

    stuck_on: np.ndarray
    stuck_off: np.ndarray
    open_row: np.ndarray
    open_column: np.ndarray
    short_row: np.ndarray
    short_column: np.ndarray
    dead_dac: np.ndarray
    dead_adc: np.ndarray
    drifting: np.ndarray
    drift_tau: np.ndarray

    @property
    def stuck(self) -> np.ndarray:
        """Cells stuck ON or OFF."""
        return self.stuck_on | self.stuck_off

    def counts(self) -> dict[str, int]:
        """Number of faulty sites of each kind."""
        return {k: int(np.count_nonzero(getattr(self, k))) for k in
                ("stuck_on", "stuck_off", "open_row", "open_column", "short_row", "short_column",
                 "dead_dac", "dead_adc", "drifting")}


def on_bound(model: str, device_params: dict | None = None) -> tuple[float, float]:
    """(ON state, OFF state) of ``model``: the state bounds of highest and lowest read conductance."""
    device = get_device(model, device_params)
    try:
        return device.on_state, device.off_state
    except ConfigError as exc:
        raise ConfigError("faults", exc.message) from None


# -- applying faults to a rendered crossbar ------------------------------------------------

def apply_faults(xbar, faults: FaultMap | None = None) -> FaultMap:
    """Put the faults of ``xbar.config.faults`` (or the given map) into ``xbar.netlist``; returns the map.

    Called by ``build_crossbar``; the netlist is changed in place (elements replaced, bridges added).
    """
    config = xbar.config
    fc: FaultConfig = config.faults or FaultConfig()
    fm = faults if faults is not None else draw_faults(fc, config.rows, config.columns)
    net: Netlist = xbar.netlist
    index = {e.name: k for k, e in enumerate(net.elements)}
    R, C = config.shape
    if fm.stuck.any():
        if not get_device(config.device.model).has_state:
            g = np.asarray(config.conductance, dtype=float)
            g_on, g_off = fc.g_on or float(g.max()), fc.g_off or float(g.min())
            for mask, value in ((fm.stuck_on, g_on), (fm.stuck_off, g_off)):
                for i, j in zip(*np.nonzero(mask)):
                    _replace(net, index, xbar.cells[i, j], fmt(1.0 / value))
        else:
            stick_cells(net, xbar.cells, fm.stuck_on, fm.stuck_off, config.device.model, config.device.params)
    for mask, prefix in ((fm.open_row, "RW"), (fm.open_column, "RCW")):
        for i, j in zip(*np.nonzero(mask)):
            _replace(net, index, f"{prefix}{i}_{j}", fmt(fc.r_open))
    for i, j in zip(*np.nonzero(fm.short_row)):
        net.resistor(f"RSHR{i}_{j}", xbar.row_node(i, j), xbar.row_node(i + 1, j), fc.r_short)
    for i, j in zip(*np.nonzero(fm.short_column)):
        net.resistor(f"RSHC{i}_{j}", xbar.column_node(i, j), xbar.column_node(i, j + 1), fc.r_short)
    if fm.dead_dac.any():
        dead = DAC.check(xbar.blocks.dac.dead())
        dead.define(net)
        for i in np.nonzero(fm.dead_dac)[0]:
            name = f"XDAC{i}"
            e = net.elements[index[name]]
            net.elements[index[name]] = Element(e.name, e.nodes, dead.name, f"instance of {dead.name}")
    return fm


def stick_cells(net: Netlist, cells: np.ndarray, stuck_on: np.ndarray, stuck_off: np.ndarray, model: str,
                device_params: dict | None = None) -> None:
    """Pin memristors ``cells[stuck_on]`` at their ON and ``cells[stuck_off]`` at their OFF state.

    Works on any netlist whose cells are memristors of ``model`` (a crossbar, an EP network): each
    stuck device gets a ``.model`` card (``<card>_stuck_on`` / ``_stuck_off``) whose state bounds are a
    band of ``STUCK_BAND`` of the state range at that bound, and ``x0`` at the bound.
    """
    on, off = on_bound(model, device_params)
    span = abs(on - off)
    index = {m.name: k for k, m in enumerate(net.memristors)}
    elements = {e.name: k for k, e in enumerate(net.elements)}
    for mask, bound, tag in ((stuck_on, on, "on"), (stuck_off, off, "off")):
        names = np.asarray(cells)[np.asarray(mask, dtype=bool)]
        if names.size == 0:
            continue
        band = (bound - STUCK_BAND * span, bound) if bound >= max(on, off) else (bound, bound + STUCK_BAND * span)
        for name in names:
            k = index.get(str(name))
            if k is None:
                raise ConfigError("faults", f"cell {name!r} is not a memristor of this netlist")
            m: Memristor = net.memristors[k]
            model_type, params = net.model_cards[m.card]
            card = f"{m.card}_stuck_{tag}"
            kept = {p: v for p, v in params if p not in ("xmin", "xmax")}
            net.model_card(card, model_type, **kept, xmin=band[0], xmax=band[1])
            new_params = tuple(sorted({**dict(m.params), "x0": bound}.items()))
            rest = " ".join([card] + [f"{p}={fmt(v)}" for p, v in new_params])
            e = net.elements[elements[m.name]]
            net.elements[elements[m.name]] = Element(e.name, e.nodes, rest, e.kind)
            net.memristors[k] = m._replace(card=card, params=new_params)


def _replace(net: Netlist, index: dict[str, int], name: str, rest: str) -> None:
    k = index.get(str(name))
    if k is None:
        raise ConfigError("faults", f"the netlist has no element {name!r} to make faulty")
    e = net.elements[k]
    net.elements[k] = Element(e.name, e.nodes, rest, e.kind)


# -- drift ----------------------------------------------------------------------------------

def drift(session, xbar, seconds: float) -> np.ndarray:
    """Let ``seconds`` pass for the drifting devices of ``xbar`` (faults from its config): each relaxes
    toward its rest state, ``x_r + (x - x_r) exp(-seconds / tau)``. Returns the new states (rows x columns)."""
    seconds = f.number("seconds", seconds, low=0.0, unit="s")
    config = xbar.config
    fm: FaultMap | None = getattr(xbar, "faults", None)
    if not get_device(config.device.model).has_state:
        raise ConfigError("faults.drift", "drift moves device states: resistor cells have none")
    states = session.state_array(xbar.cells)
    if fm is None or not fm.drifting.any() or seconds == 0:
        return states
    on, off = on_bound(config.device.model, config.device.params)
    rest = off + (config.faults.drift_toward if config.faults else 0.0) * (on - off)
    mask = fm.drifting
    new = states.copy()
    new[mask] = rest + (states[mask] - rest) * np.exp(-seconds / fm.drift_tau[mask])
    session.set_states(dict(zip(xbar.cells[mask].tolist(), new[mask].tolist())))
    return new
