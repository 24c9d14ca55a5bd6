"""The array vocabulary: one memristor crossbar's device, wires, cells, periphery and faults.

Each physical quantity is declared once, here or in :mod:`memcosim.config.periphery`, with its unit
and default; everything that builds, reads, writes or trains an array takes an :class:`ArrayConfig`
(or a list of them for a network) whole. Checks that need the device registry (does the model
exist, does it have parameter X) are made where the device is resolved (:mod:`memcosim.devices`),
naming the same TOML keys (``device.model``, ``device.params.vth``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from memcosim import fields as f
from memcosim.config.blocks import BlockSourceConfig, block_sources
from memcosim.config.faults import FaultConfig
from memcosim.config.periphery import AccessConfig, PeripheryConfig
from memcosim.errors import ConfigError
from memcosim.limits import check_cells

RESISTOR = "resistor"  # DeviceConfig.model of linear cells of a fixed conductance
CELLS = ("1R", "1T1R")


@dataclass
class WireConfig:
    """Parasitics of the array's lines, per cell pitch: ``r_row`` / ``r_column`` ohm per row / column
    wire segment (0 = ideal wire), ``c_row`` / ``c_column`` farad per segment to ground (0 = none), and
    ``r_driver`` ohm in series with each row driver."""

    r_row: float = 0.0
    r_column: float = 0.0
    c_row: float = 0.0
    c_column: float = 0.0
    r_driver: float = 0.0

    def __post_init__(self) -> None:
        for name in ("r_row", "r_column", "r_driver"):
            setattr(self, name, f.number(f"wires.{name}", getattr(self, name), low=0.0, unit="ohm"))
        for name in ("c_row", "c_column"):
            setattr(self, name, f.number(f"wires.{name}", getattr(self, name), low=0.0, unit="F"))

    @classmethod
    def uniform(cls, resistance: float, capacitance: float = 0.0) -> "WireConfig":
        """Rows and columns of the same ``resistance`` ohm (and ``capacitance`` farad) per segment."""
        return cls(r_row=resistance, r_column=resistance, c_row=capacitance, c_column=capacitance)


@dataclass
class DeviceConfig:
    """The cell device: ``model`` (a Verilog-A model of ``verilog_a/``, a ``.va`` path, or ``"resistor"``),
    ``params`` overriding model parameters (instance parameters go on each device, the rest on the
    shared ``.model`` card), the conductance window ``g_min`` .. ``g_max`` siemens that weights use
    (0 = the model preset's), and the read voltage ``v_read`` volts (0 = the model preset's)."""

    model: str = RESISTOR
    params: dict[str, float] = field(default_factory=dict)
    g_min: float = 0.0
    g_max: float = 0.0
    v_read: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model or not self.model.isprintable() or not self.model.isascii():
            raise ConfigError("device.model", "must be a device model name (or a .va path in printable ASCII), "
                              f"got {self.model!r}")
        if not isinstance(self.params, dict):
            raise ConfigError("device.params", f"must be a table of numbers, got {self.params!r}")
        self.params = {str(k): f.number(f"device.params.{k}", v) for k, v in self.params.items()}
        if self.model == RESISTOR and self.params:
            raise ConfigError("device.params", "resistor cells take no device parameters")
        self.g_min = f.number("device.g_min", self.g_min, low=0.0, unit="S")
        self.g_max = f.number("device.g_max", self.g_max, low=0.0, unit="S")
        if self.g_min > 0 and self.g_max > 0 and not self.g_max > self.g_min:
            raise ConfigError("device.g_max", f"must be > g_min ({self.g_min} S), got {self.g_max}")
        self.v_read = f.number("device.v_read", self.v_read, low=0.0, unit="V")

    @property
    def resistor(self) -> bool:
        """True for linear cells of a fixed conductance (no state, no pulses)."""
        return self.model == RESISTOR


@dataclass
class ArrayConfig:
    """An R x C crossbar: ``rows`` x ``columns`` cells of ``device``, lines with ``wires``, and periphery.

    Cells start at ``conductance`` siemens (resistor cells, and device cells set to a target
    conductance) or at ``states`` in the model's state units (device cells; none = the model's
    default state); either is one number or a rows x columns matrix. ``cell`` is ``1R`` or ``1T1R``
    (an ``access`` transistor per cell); ``differential`` pairs columns (2k, 2k+1) as (+, -) of one
    signed output. ``variation`` is the relative device-to-device spread of the starting values
    (lognormal sigma of the conductance of resistor cells; sigma of the state as a fraction of the
    state range of device cells), drawn with ``seed``; the model parameters stay nominal (their
    variation is :class:`~memcosim.config.variation.ParameterVariationConfig`). ``periphery``: row DACs,
    column TIAs and ADCs,
    nudge and programming drivers (none = ideal sources and ammeters); ``faults``: injected faults;
    ``blocks``: slots filled with a user's sub-circuit or a PDK device instead of the behavioural block
    of the slot's settings (slot name -> :class:`~memcosim.config.blocks.BlockSourceConfig`).
    """

    rows: int
    columns: int
    device: DeviceConfig = field(default_factory=DeviceConfig)
    wires: WireConfig = field(default_factory=WireConfig)
    cell: str = "1R"
    differential: bool = False
    conductance: np.ndarray | float | None = None
    states: np.ndarray | float | None = None
    variation: float = 0.0
    seed: int = 0
    access: AccessConfig | None = None
    periphery: PeripheryConfig | None = None
    faults: FaultConfig | None = None
    blocks: dict[str, BlockSourceConfig] | None = None

    def __post_init__(self) -> None:
        self.rows = f.integer("rows", self.rows, 1)
        self.columns = f.integer("columns", self.columns, 1)
        check_cells(self.rows, self.columns)  # before any rows x columns matrix exists
        for name, cls in (("device", DeviceConfig), ("wires", WireConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(name, f"must be a {cls.__name__}, got {getattr(self, name)!r}")
        self.cell = f.choice("cell", self.cell, CELLS)
        self.differential = f.boolean("differential", self.differential)
        if self.differential and self.columns % 2:
            raise ConfigError("columns", f"differential pairs need an even number of columns, got {self.columns}")
        self.variation = f.number("variation", self.variation, low=0.0, high=1.0)
        self.seed = f.integer("seed", self.seed, 0)
        if self.cell == "1T1R":
            self.access = self.access or AccessConfig()
        elif self.access is not None:
            raise ConfigError("access", "an access transistor is only used with cell = '1T1R'")
        if self.access is not None and not isinstance(self.access, AccessConfig):
            raise ConfigError("access", f"must be an AccessConfig, got {self.access!r}")
        if self.periphery is not None:
            if not isinstance(self.periphery, PeripheryConfig):
                raise ConfigError("periphery", f"must be a PeripheryConfig, got {self.periphery!r}")
            tia = self.periphery.tia
            if tia is not None and tia.automatic:
                raise ConfigError("periphery.tia.r_feedback", "must be > 0 ohm: an array's TIA needs its feedback "
                                  "resistance (0 = automatic only in a crossbar layer or a deployment)")
            adc = self.periphery.adc
            if adc is not None and isinstance(adc.offset, list) and len(adc.offset) != self.columns:
                raise ConfigError("periphery.adc.offset", f"needs one offset per column ({self.columns}), got {len(adc.offset)}")
        self._check_cells()
        if self.blocks is not None:
            self.blocks = block_sources(self.blocks) or None
        if self.faults is not None:
            if not isinstance(self.faults, FaultConfig):
                raise ConfigError("faults", f"must be a FaultConfig, got {self.faults!r}")
            self._check_faults()

    def _check_cells(self) -> None:
        if self.device.resistor:
            if self.states is not None:
                raise ConfigError("states", "resistor cells have no state: give conductance")
            if self.conductance is None:
                raise ConfigError("conductance", "resistor cells need a conductance (siemens)")
        elif self.conductance is not None and self.states is not None:
            raise ConfigError("conductance", "give either states or a target conductance, not both")
        if self.conductance is not None:
            g = f.matrix("conductance", self.conductance, self.shape)
            if np.any(g <= 0):
                raise ConfigError("conductance", "every conductance must be finite and > 0 S")
            self.conductance = g
        if self.states is not None:
            self.states = f.matrix("states", self.states, self.shape)

    def _check_faults(self) -> None:
        fc, per = self.faults, self.periphery
        if fc.open_row > 0 and self.wires.r_row == 0:
            raise ConfigError("faults.open_row", "open row segments need row wire segments: set wires.r_row > 0 ohm")
        if fc.open_column > 0 and self.wires.r_column == 0:
            raise ConfigError("faults.open_column", "open column segments need column wire segments: "
                              "set wires.r_column > 0 ohm")
        if fc.dead_dac > 0 and (per is None or per.dac is None):
            raise ConfigError("faults.dead_dac", "dead DAC channels need row DACs: add periphery.dac")
        if fc.dead_adc > 0 and (per is None or per.adc is None):
            raise ConfigError("faults.dead_adc", "dead ADC channels need column ADCs: add periphery.adc")
        if self.device.resistor and fc.drift > 0:
            raise ConfigError("faults.drift", "drift moves device states: use a device model, not 'resistor' cells")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.columns)

    @property
    def cells(self) -> int:
        return self.rows * self.columns
