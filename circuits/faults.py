"""Fault injection: stuck devices, open and bridged wire segments, dead DAC/ADC channels, state drift.

A :class:`FaultConfig` says how often each fault occurs (a rate: the probability that one site has
it) and the ``seed`` of the draw; :meth:`FaultConfig.draw` turns it into a :class:`FaultMap` (which
sites are faulty) for an array of a given size, the same map for the same seed. Each fault kind
draws from its own stream, so changing one rate does not move the faults of another kind.

What each fault does in the circuit (``build_crossbar`` applies them when ``CrossbarConfig.faults``
is set; :func:`apply_faults` does it to any rendered crossbar):

* ``stuck_on`` / ``stuck_off`` (per cell): the device is pinned at its ON (highest conductance) or
  OFF state bound, whatever is written or pulsed. A memristor keeps its element (its name, state
  node and place in ``Session.devices``) but uses a ``.model`` card whose state bounds are narrowed
  to a band of ``1e-9`` of the state range at that bound, so every read, pulse and ``set_states``
  sees the stuck conductance. Resistor cells get conductance ``g_on`` / ``g_off`` siemens.
* ``open_row`` / ``open_column`` (per wire segment): the segment's resistance becomes ``r_open``
  ohm (default 1e12), cutting the cells beyond it off their driver (row) or sense end (column).
  Needs wire segments (``r_row`` / ``r_column`` > 0).
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

from dataclasses import dataclass, fields

import numpy as np

from memcosim import fields as f
from memcosim.circuits.netlist import Element, Memristor, Netlist, fmt
from memcosim.circuits.periphery.base import DAC
from memcosim.devices.catalog import get_device
from memcosim.errors import ConfigError

STUCK_BAND = 1e-9  # width of a stuck device's state band, fraction of the state range
_KINDS = ("stuck", "open_row", "open_column", "short_row", "short_column", "dead_dac", "dead_adc", "drift")


@dataclass
class FaultConfig:
    """How often each fault occurs (probability per site, 0..1) and the seed of the draw.

    ``stuck_on`` + ``stuck_off`` <= 1 (fractions of cells); ``open_row`` / ``open_column``:
    fractions of wire segments; ``short_row`` / ``short_column``: fractions of bridge sites between
    neighbouring lines; ``dead_dac`` / ``dead_adc``: fractions of row / column channels; ``drift``:
    fraction of devices that drift, ``drift_tau`` seconds (> 0), ``drift_sigma`` lognormal spread of
    tau, ``drift_toward`` the rest state as a fraction of the state range above OFF (0 = OFF).
    ``r_open`` / ``r_short`` ohms; ``g_on`` / ``g_off`` siemens for stuck resistor cells (0 = the
    largest / smallest conductance of the array).
    """

    stuck_on: float = 0.0
    stuck_off: float = 0.0
    open_row: float = 0.0
    open_column: float = 0.0
    short_row: float = 0.0
    short_column: float = 0.0
    dead_dac: float = 0.0
    dead_adc: float = 0.0
    drift: float = 0.0
    drift_tau: float = 1e4
    drift_sigma: float = 0.0
    drift_toward: float = 0.0
    r_open: float = 1e12
    r_short: float = 1.0
    g_on: float = 0.0
    g_off: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("stuck_on", "stuck_off", "open_row", "open_column", "short_row", "short_column",
                     "dead_dac", "dead_adc", "drift", "drift_toward"):
            setattr(self, name, f.number(f"faults.{name}", getattr(self, name), low=0.0, high=1.0))
        if self.stuck_on + self.stuck_off > 1.0:
            raise ConfigError("faults.stuck_off", f"stuck_on + stuck_off must be <= 1, got "
                              f"{self.stuck_on} + {self.stuck_off}")
        self.drift_tau = f.number("faults.drift_tau", self.drift_tau, low=0.0, low_open=True, unit="s")
        self.drift_sigma = f.number("faults.drift_sigma", self.drift_sigma, low=0.0)
        self.r_open = f.number("faults.r_open", self.r_open, low=0.0, low_open=True, unit="ohm")
        self.r_short = f.number("faults.r_short", self.r_short, low=0.0, low_open=True, unit="ohm")
        self.g_on = f.number("faults.g_on", self.g_on, low=0.0, unit="S")
        self.g_off = f.number("faults.g_off", self.g_off, low=0.0, unit="S")
        self.seed = f.integer("faults.seed", self.seed, 0)

    @classmethod
    def from_dict(cls, data: dict) -> "FaultConfig":
        """A config from a ``[faults]`` TOML table; unknown keys are named."""
        if not isinstance(data, dict):
            raise ConfigError("faults", f"must be a table, got {data!r}")
        known = {fl.name for fl in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"faults.{key}", f"unknown key; known keys: {', '.join(sorted(known))}")
        return cls(**data)

    @property
    def any(self) -> bool:
        """True when any fault has a non-zero rate."""
        return any(getattr(self, k) > 0 for k in ("stuck_on", "stuck_off", "open_row", "open_column", "short_row",
                                                  "short_column", "dead_dac", "dead_adc", "drift"))

    def _rng(self, kind: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, _KINDS.index(kind)])

    def draw(self, rows: int, columns: int) -> "FaultMap":
        """Which sites of a ``rows`` x ``columns`` array are faulty (Bernoulli per site at each rate)."""
        R, C = int(rows), int(columns)
        u = self._rng("stuck").random((R, C))
        on = u < self.stuck_on
        off = (u >= self.stuck_on) & (u < self.stuck_on + self.stuck_off)
        drift_rng = self._rng("drift")
        drifting = drift_rng.random((R, C)) < self.drift
        tau = self.drift_tau * np.exp(drift_rng.normal(0.0, self.drift_sigma, (R, C)))
        return FaultMap(
            stuck_on=on, stuck_off=off,
            open_row=self._rng("open_row").random((R, max(C - 1, 0))) < self.open_row,
            open_column=self._rng("open_column").random((max(R - 1, 0), C)) < self.open_column,
            short_row=self._rng("short_row").random((max(R - 1, 0), C)) < self.short_row,
            short_column=self._rng("short_column").random((R, max(C - 1, 0))) < self.short_column,
            dead_dac=self._rng("dead_dac").random(R) < self.dead_dac,
            dead_adc=self._rng("dead_adc").random(C) < self.dead_adc,
            drifting=drifting & ~(on | off), drift_tau=tau,
        )


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


# -- checks against an array --------------------------------------------------------------

def check_faults(config) -> None:
    """ConfigError when ``config.faults`` asks for a fault the array cannot have (a CrossbarConfig)."""
    fc: FaultConfig = config.faults
    per = config.periphery
    if fc.open_row > 0 and config.r_row == 0:
        raise ConfigError("faults.open_row", "open row segments need row wire segments: set r_row > 0 ohm")
    if fc.open_column > 0 and config.r_column == 0:
        raise ConfigError("faults.open_column", "open column segments need column wire segments: set r_column > 0 ohm")
    if fc.dead_dac > 0 and (per is None or per.dac is None):
        raise ConfigError("faults.dead_dac", "dead DAC channels need row DACs: add periphery.dac")
    if fc.dead_adc > 0 and (per is None or per.adc is None):
        raise ConfigError("faults.dead_adc", "dead ADC channels need column ADCs: add periphery.adc")
    if not get_device(config.model, config.device_params).has_state:
        if fc.drift > 0:
            raise ConfigError("faults.drift", "drift moves device states: use a device model, not 'resistor' cells")
    elif fc.stuck_on > 0 or fc.stuck_off > 0 or fc.drift > 0:
        on_bound(config.model, config.device_params)  # raises for a model of unknown polarity


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
    fm = faults if faults is not None else fc.draw(config.rows, config.columns)
    net: Netlist = xbar.netlist
    index = {e.name: k for k, e in enumerate(net.elements)}
    R, C = config.shape
    if fm.stuck.any():
        if not get_device(config.model).has_state:
            g = np.asarray(config.conductance, dtype=float)
            g_on, g_off = fc.g_on or float(g.max()), fc.g_off or float(g.min())
            for mask, value in ((fm.stuck_on, g_on), (fm.stuck_off, g_off)):
                for i, j in zip(*np.nonzero(mask)):
                    _replace(net, index, xbar.cells[i, j], fmt(1.0 / value))
        else:
            stick_cells(net, xbar.cells, fm.stuck_on, fm.stuck_off, config.model, config.device_params)
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
    if not get_device(config.model).has_state:
        raise ConfigError("faults.drift", "drift moves device states: resistor cells have none")
    states = session.state_array(xbar.cells)
    if fm is None or not fm.drifting.any() or seconds == 0:
        return states
    on, off = on_bound(config.model, config.device_params)
    rest = off + (config.faults.drift_toward if config.faults else 0.0) * (on - off)
    mask = fm.drifting
    new = states.copy()
    new[mask] = rest + (states[mask] - rest) * np.exp(-seconds / fm.drift_tau[mask])
    session.set_states(dict(zip(xbar.cells[mask].tolist(), new[mask].tolist())))
    return new
