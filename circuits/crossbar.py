"""A 1R crossbar with parasitic row and column wires, as a :class:`Netlist`.

Layout (R rows, C columns): row ``i`` is driven at its left end by source ``VROW<i>`` through
the driver resistance; the row line runs right through one wire segment per cell pitch. Column
``j`` runs down and ends in ``VCOL<j>``, a 0 V source that holds it at ground and whose current
is the column output. Cell ``(i, j)`` connects row node ``r<i>_<j>`` to column node ``c<i>_<j>``.

    VROW0 -Rdrv- r0_0 -Rrow- r0_1 - ...         (row 0)
                  |           |
                 cell        cell
                  |           |
                 c0_0        c0_1
                  |Rcol       |Rcol
                 c1_0 ...    c1_1 ...  ->  VCOL<j> at the bottom of each column
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from memcosim.circuits.netlist import Netlist
from memcosim.errors import ConfigError

RESISTOR = "resistor"


@dataclass
class CrossbarConfig:
    """An R x C array of cells with parasitic wires.

    ``model`` is ``"resistor"`` (linear cells of ``conductance`` siemens) or a device model
    from ``verilog_a/`` (cells start in ``states``, the model's state units). Resistances are
    in ohms per wire segment; 0 means an ideal wire.
    """

    rows: int
    columns: int
    model: str = RESISTOR
    conductance: np.ndarray | float | None = None
    states: np.ndarray | float | None = None
    r_row: float = 0.0
    r_column: float = 0.0
    r_driver: float = 0.0
    device_params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("rows", "columns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ConfigError(name, f"must be a positive integer, got {value!r}")
        for name in ("r_row", "r_column", "r_driver"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise ConfigError(name, f"must be a finite resistance >= 0 ohm, got {value!r}")
        shape = (self.rows, self.columns)
        if self.model == RESISTOR:
            if self.conductance is None:
                raise ConfigError("conductance", "resistor cells need a conductance (siemens)")
            g = np.broadcast_to(np.asarray(self.conductance, dtype=float), shape) if np.ndim(self.conductance) == 0 else np.asarray(self.conductance, dtype=float)
            if g.shape != shape:
                raise ConfigError("conductance", f"shape {g.shape} does not match rows x columns {shape}")
            if not np.all(np.isfinite(g)) or np.any(g <= 0):
                raise ConfigError("conductance", "every conductance must be finite and > 0 S")
            self.conductance = np.array(g, dtype=float)
        else:
            from memcosim.cosim.models import get_model

            device = get_model(self.model)
            raw = device.state_default if self.states is None else self.states
            s = np.full(shape, float(raw)) if np.ndim(raw) == 0 else np.asarray(raw, dtype=float)
            if s.shape != shape:
                raise ConfigError("states", f"shape {s.shape} does not match rows x columns {shape}")
            bad = ~((s >= device.state_min) & (s <= device.state_max))
            if np.any(bad):
                i, j = np.argwhere(bad)[0]
                raise ConfigError(
                    "states", f"state {s[i, j]!r} of cell ({i}, {j}) is outside the {self.model} range "
                    f"[{device.state_min}, {device.state_max}]"
                )
            self.states = np.array(s, dtype=float)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.columns)


@dataclass
class Crossbar:
    """A rendered crossbar: the netlist and the names the session reads and drives."""

    config: CrossbarConfig
    netlist: Netlist
    row_sources: list[str]
    column_sources: list[str]
    cells: np.ndarray  # element names, rows x columns

    def row_node(self, i: int, j: int) -> str:
        return row_node(self.config, i, j)

    def column_node(self, i: int, j: int) -> str:
        return column_node(self.config, i, j)

    @property
    def column_current_vectors(self) -> list[str]:
        """ngspice vector names of the column output currents (amperes)."""
        return [f"{name.lower()}#branch" for name in self.column_sources]


def row_node(config: CrossbarConfig, i: int, j: int) -> str:
    """Node of row line ``i`` at column ``j`` (all one node when the row wire is ideal)."""
    return f"r{i}_{j if config.r_row > 0 else 0}"


def column_node(config: CrossbarConfig, i: int, j: int) -> str:
    """Node of column line ``j`` at row ``i`` (all one node when the column wire is ideal)."""
    return f"c{i if config.r_column > 0 else config.rows - 1}_{j}"


def build_crossbar(config: CrossbarConfig, title: str | None = None) -> Crossbar:
    """Render ``config`` as a netlist with row sources ``VROW<i>`` and column ammeters ``VCOL<j>``."""
    R, C = config.shape
    net = Netlist(title=title or f"memcosim crossbar {R}x{C} {config.model}")
    rows, cols = [], []
    cells = np.empty((R, C), dtype=object)
    for i in range(R):
        first = row_node(config, i, 0)
        if config.r_driver > 0:
            net.voltage_source(f"VROW{i}", f"d{i}", "0")
            net.resistor(f"RDRV{i}", f"d{i}", first, config.r_driver)
        else:
            net.voltage_source(f"VROW{i}", first, "0")
        rows.append(f"VROW{i}")
        if config.r_row > 0:
            for j in range(C - 1):
                net.resistor(f"RW{i}_{j}", row_node(config, i, j), row_node(config, i, j + 1), config.r_row)
    for j in range(C):
        if config.r_column > 0:
            for i in range(R - 1):
                net.resistor(f"CW{i}_{j}", column_node(config, i, j), column_node(config, i + 1, j), config.r_column)
        net.voltage_source(f"VCOL{j}", column_node(config, R - 1, j), "0")
        cols.append(f"VCOL{j}")
    for i in range(R):
        for j in range(C):
            top, bottom = row_node(config, i, j), column_node(config, i, j)
            if config.model == RESISTOR:
                cells[i, j] = net.resistor(f"RC{i}_{j}", top, bottom, 1.0 / config.conductance[i, j]).name
            else:
                params = dict(config.device_params)
                params["x0"] = float(config.states[i, j])
                cells[i, j] = net.memristor(f"NC{i}_{j}", top, bottom, f"x{i}_{j}", config.model, **params).name
    return Crossbar(config, net, rows, cols, cells)
