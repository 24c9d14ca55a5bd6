"""Settings of a crossbar's periphery: row DACs, column TIAs and ADCs, nudge drivers, programming
drivers, and the access transistor of 1T1R cells.

Each block is a small dataclass with SI units and documented defaults, validated when it is made;
errors name the field by its path in a TOML config (``periphery.dac.bits``). The blocks built
from these settings, with their netlist text and their Python-side transfers (DAC codes to volts,
TIA current to volts, ADC volts to codes), are in :mod:`memcosim.circuits.periphery`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from memcosim import fields as f
from memcosim.config.blocks import PDK_CORNERS
from memcosim.config.pulse import PulseConfig
from memcosim.errors import ConfigError

SCHEMES = ("V/2", "V/3", "ground")


_STORED_RANGES = contextvars.ContextVar("stored_ranges", default=False)


@contextlib.contextmanager
def stored_ranges() -> Iterator[None]:
    """Inside the block, a DAC or ADC range (``v_min`` / ``v_max``) equal to its default reads as unset: configs
    stored before set ranges were told apart from defaults (checkpoints wrote every range out) load as they were
    written instead of being refused by :func:`refuse_range`."""
    token = _STORED_RANGES.set(True)
    try:
        yield
    finally:
        _STORED_RANGES.reset(token)


def _range_default_unset(block: "DacConfig | AdcConfig") -> None:
    if not _STORED_RANGES.get():
        return
    for name in ("v_min", "v_max"):
        default = type(block).__dataclass_fields__[name].default
        if getattr(block, name) == default:
            setattr(block, name, default)


@dataclass
class DacConfig:
    """Row DAC: ``bits`` (1..16) over [v_min, v_max] volts; output resistance ``r_out`` ohms (0 = ideal: an ideal
    source on the row line, which ngspice solves several times slower in large arrays than a fraction of an ohm;
    see ``docs/tiles.md``)."""

    bits: int = 8
    v_min: float = f.Default(0.0)
    v_max: float = f.Default(0.2)
    r_out: float = 100.0

    def __post_init__(self) -> None:
        self.bits = f.integer("periphery.dac.bits", self.bits, 1, 16)
        self.v_min = f.number("periphery.dac.v_min", self.v_min, unit="V")
        self.v_max = f.number("periphery.dac.v_max", self.v_max, unit="V")
        if not self.v_max > self.v_min:
            raise ConfigError("periphery.dac.v_max", f"must be > v_min ({self.v_min} V), got {self.v_max}")
        _range_default_unset(self)
        self.r_out = f.number("periphery.dac.r_out", self.r_out, low=0.0, unit="ohm")


TIA_CIRCUITS = ("behavioural", "sky130")
MAX_5V_SPAN = 5.5  # volts: the most the sky130 5 V devices (g5v0d10v5) take across their gate oxide


@dataclass
class TiaConfig:
    """Column TIA: op-amp open-loop ``gain`` (V/V, finite) and feedback resistance ``r_feedback`` (ohm).

    ``r_feedback = 0`` means automatic: a crossbar layer (:class:`~memcosim.cosim.layer.CrossbarLayerConfig`)
    or a deployment chooses it from its ADC full scale; an array's own periphery
    (:class:`~memcosim.config.array.ArrayConfig`) needs a resistance > 0.

    ``circuit`` picks the amplifier in ngspice: ``behavioural`` (a VCVS of open-loop ``gain``, no
    rails, the fast default) or ``sky130`` (a two-stage Miller op-amp of sky130 5 V transistors at
    process ``corner``, between rails ``v_dd`` and ``v_ss`` volts, with finite gain and bandwidth;
    ``gain`` then only sets the nominal transfer the read path divides by)."""

    gain: float = 1e5
    r_feedback: float = 10e3
    circuit: str = "behavioural"
    corner: str = "tt"
    v_dd: float = 1.8
    v_ss: float = -1.8

    def __post_init__(self) -> None:
        self.gain = f.number("periphery.tia.gain", self.gain, low=0.0, low_open=True, unit="V/V")
        self.r_feedback = f.number("periphery.tia.r_feedback", self.r_feedback, low=0.0, unit="ohm")
        self.circuit = f.choice("periphery.tia.circuit", self.circuit, TIA_CIRCUITS)
        self.corner = f.choice("periphery.tia.corner", self.corner, PDK_CORNERS["sky130"])
        self.v_dd = f.number("periphery.tia.v_dd", self.v_dd, low=0.9, unit="V")
        self.v_ss = f.number("periphery.tia.v_ss", self.v_ss, high=-0.9, unit="V")
        if self.v_dd - self.v_ss > MAX_5V_SPAN:
            raise ConfigError("periphery.tia.v_dd", f"the rails span {self.v_dd - self.v_ss:g} V (v_dd {self.v_dd:g}, "
                              f"v_ss {self.v_ss:g}); the sky130 5 V devices take at most {MAX_5V_SPAN:g} V")

    @property
    def automatic(self) -> bool:
        """True when the feedback resistance is left to the layer or deployment (``r_feedback = 0``)."""
        return self.r_feedback == 0


ADC_CIRCUITS = ("behavioural", "sky130")
MAX_SAR_BITS = 12  # the sky130 SAR converter's largest resolution
SKY130_LOW_VOLTAGE_MAX = 1.95  # volts: the most the sky130 1.8 V devices (nfet_01v8, pfet_01v8) take


@dataclass
class AdcConfig:
    """Column ADC: ``bits`` (1..16) over [v_min, v_max] volts, input resistance ``r_in`` ohms,
    ``offset`` volts added to the input (one value, or one per column).

    ``circuit`` picks the converter in ngspice: ``behavioural`` (the input resistance only; codes
    computed in Python from the operating point, the fast default) or ``sky130`` (a SAR converter whose
    decision element is a StrongARM comparator of sky130 1.8 V transistors at process ``corner``,
    supplied by ``v_dd`` volts; one bit per clock cycle of ``t_clock`` seconds, the first starting
    ``t_start`` seconds into a transient; at most 12 bits; its offset is its circuit's, so ``offset``
    stays 0). ``c_unit`` farads is the unit capacitor of the SAR's binary-weighted capacitor DAC (2**bits units
    in all), whose switching charge is drawn from its reference source)."""

    bits: int = 8
    v_min: float = f.Default(-1.0)
    v_max: float = f.Default(1.0)
    r_in: float = 1e9
    offset: float | list[float] = 0.0
    circuit: str = "behavioural"
    corner: str = "tt"
    v_dd: float = 1.8
    t_clock: float = 1e-9
    t_start: float = 1e-9
    c_unit: float = 10e-15

    def __post_init__(self) -> None:
        self.bits = f.integer("periphery.adc.bits", self.bits, 1, 16)
        self.v_min = f.number("periphery.adc.v_min", self.v_min, unit="V")
        self.v_max = f.number("periphery.adc.v_max", self.v_max, unit="V")
        if not self.v_max > self.v_min:
            raise ConfigError("periphery.adc.v_max", f"must be > v_min ({self.v_min} V), got {self.v_max}")
        _range_default_unset(self)
        self.r_in = f.number("periphery.adc.r_in", self.r_in, low=0.0, low_open=True, unit="ohm")
        if isinstance(self.offset, (list, tuple, np.ndarray)):
            self.offset = [f.number(f"periphery.adc.offset[{k}]", v, unit="V") for k, v in enumerate(self.offset)]
        else:
            self.offset = f.number("periphery.adc.offset", self.offset, unit="V")
        self.circuit = f.choice("periphery.adc.circuit", self.circuit, ADC_CIRCUITS)
        self.corner = f.choice("periphery.adc.corner", self.corner, PDK_CORNERS["sky130"])
        self.v_dd = f.number("periphery.adc.v_dd", self.v_dd, low=0.0, high=SKY130_LOW_VOLTAGE_MAX, low_open=True,
                             unit="V")
        self.t_clock = f.number("periphery.adc.t_clock", self.t_clock, low=20e-12, unit="s")
        self.t_start = f.number("periphery.adc.t_start", self.t_start, low=0.0, unit="s")
        self.c_unit = f.number("periphery.adc.c_unit", self.c_unit, low=0.0, low_open=True, high=1e-12, unit="F")
        if self.circuit == "sky130":
            if self.bits > MAX_SAR_BITS:
                raise ConfigError("periphery.adc.bits", f"the sky130 SAR ADC converts 1..{MAX_SAR_BITS} bits, "
                                  f"got {self.bits}")
            if np.any(np.asarray(self.offset, dtype=float) != 0):
                raise ConfigError("periphery.adc.offset", "the sky130 SAR ADC has the offset of its comparator "
                                  "circuit; leave offset at 0")


def refuse_range(block: DacConfig | AdcConfig, where: str, source: str) -> None:
    """Refuse a DAC or ADC range (``v_min`` / ``v_max``) set at all (even to its default value) in a setting
    whose user overwrites the range from ``source``: the error names ``where.v_min`` / ``where.v_max``
    (``where`` being the block's TOML key, e.g. ``sgd.dac``) and says where the range comes from."""
    for name in ("v_min", "v_max"):
        value = getattr(block, name)
        if not isinstance(value, f.Default):
            raise ConfigError(f"{where}.{name}", f"cannot take effect: the range is set from {source}; "
                              f"leave {name} out (got {value} V)")


@dataclass
class NudgeConfig:
    """Nudge drivers: one current source ``INUDGE<j>`` per column output, starting at ``current`` amperes."""

    current: float = 0.0

    def __post_init__(self) -> None:
        self.current = f.number("periphery.nudge.current", self.current, unit="A")


@dataclass
class ProgrammingConfig:
    """Programming drivers: series pulse sources ``VPROW<i>`` / ``VPCOL<j>`` (0 V outside a write).

    ``scheme`` is how unselected lines are biased during a write with ``pulse`` (its amplitude is the
    write voltage): ``V/2`` (unselected rows and columns at V/2), ``V/3`` (rows V/3, columns 2V/3) or
    ``ground`` (unselected lines at 0 V: the full voltage reaches the selected row's cells).
    """

    scheme: str = "V/2"
    pulse: PulseConfig = field(default_factory=PulseConfig)

    def __post_init__(self) -> None:
        self.scheme = f.choice("periphery.programming.scheme", self.scheme, SCHEMES)
        if not isinstance(self.pulse, PulseConfig):
            raise ConfigError("periphery.programming.pulse", f"must be a PulseConfig, got {self.pulse!r}")
        if self.pulse.amplitude == 0:
            raise ConfigError("periphery.programming.pulse.amplitude", "must be non-zero volts")


SWITCH_FINGER = 5e-6  # metres: the finger width of the switches' transistors (a sky130 5 V bin width)
SWITCH_LENGTHS = (0.5e-6, 0.6e-6, 0.8e-6, 1e-6, 2e-6, 4e-6, 8e-6)  # metres: the bin lengths of that width


@dataclass
class SwitchConfig:
    """Column switches: per column two sky130 transmission gates (5 V devices at process ``corner``) that
    connect the column to its TIA while it is read and to its programming driver while it is written,
    so the TIA never sees a write.

    The gates swing between the switch rails ``v_low`` and ``v_high`` volts (NMOS bulks at ``v_low``,
    PMOS bulks at ``v_high``); every column voltage of a write must lie inside them. Each gate's
    NMOS is ``w_n`` metres wide, its PMOS ``w_p`` (whole numbers of 5 um fingers), both ``l`` metres long
    (a bin length of the 5 um devices: 0.5e-6, the 5 V minimum, up to 8e-6).

    Each column's gates are driven from the switch rails by a gate driver of output resistance ``r_gate``
    ohms (an ideal switch to ``v_high`` or ``v_low``), so the charge of every mode change is drawn from
    the rails (supply group ``switches``). A crossbar layer's parallel update gives each mode change
    (read to write before its first slot, write to read after its last) ``t_change`` seconds."""

    corner: str = "tt"
    v_high: float = 2.5
    v_low: float = -2.5
    w_n: float = 200e-6
    w_p: float = 400e-6
    l: float = 0.5e-6
    r_gate: float = 100.0
    t_change: float = 5e-9

    def __post_init__(self) -> None:
        self.corner = f.choice("periphery.switches.corner", self.corner, PDK_CORNERS["sky130"])
        self.v_high = f.number("periphery.switches.v_high", self.v_high, low=0.0, low_open=True, unit="V")
        self.v_low = f.number("periphery.switches.v_low", self.v_low, high=0.0, unit="V")
        if self.v_high - self.v_low > MAX_5V_SPAN:
            raise ConfigError("periphery.switches.v_high", f"the rails span {self.v_high - self.v_low:g} V; the sky130 "
                              f"5 V devices take at most {MAX_5V_SPAN:g} V")
        for name in ("w_n", "w_p"):
            w = f.number(f"periphery.switches.{name}", getattr(self, name), low=SWITCH_FINGER, unit="m")
            if abs(w / SWITCH_FINGER - round(w / SWITCH_FINGER)) > 1e-6:
                raise ConfigError(f"periphery.switches.{name}", f"must be a whole number of {SWITCH_FINGER * 1e6:g} um "
                                  f"fingers (the sky130 model bins), got {w!r} m")
            setattr(self, name, w)
        self.l = f.number("periphery.switches.l", self.l, unit="m")
        if not any(abs(self.l - x) < 1e-12 for x in SWITCH_LENGTHS):
            raise ConfigError("periphery.switches.l", f"must be one of the sky130 5 V bin lengths "
                              f"{', '.join(f'{x:g}' for x in SWITCH_LENGTHS)} m, got {self.l!r}")
        self.r_gate = f.number("periphery.switches.r_gate", self.r_gate, low=0.0, low_open=True, unit="ohm")
        self.t_change = f.number("periphery.switches.t_change", self.t_change, low=0.0, low_open=True, unit="s")


@dataclass
class PeripheryConfig:
    """Which periphery blocks the array has; ``None`` means that block is absent (ideal)."""

    dac: DacConfig | None = None
    tia: TiaConfig | None = None
    adc: AdcConfig | None = None
    nudge: NudgeConfig | None = None
    programming: ProgrammingConfig | None = None
    switches: SwitchConfig | None = None

    def __post_init__(self) -> None:
        for name, cls in (("dac", DacConfig), ("tia", TiaConfig), ("adc", AdcConfig), ("nudge", NudgeConfig),
                          ("programming", ProgrammingConfig), ("switches", SwitchConfig)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, cls):
                raise ConfigError(f"periphery.{name}", f"must be a {cls.__name__}, got {value!r}")
        if self.adc is not None and self.tia is None:
            raise ConfigError("periphery.adc", "an ADC reads a TIA output: add periphery.tia")
        if self.tia is not None and self.adc is None:
            raise ConfigError("periphery.tia", "a TIA output needs its reader (and load): add periphery.adc")
        if self.nudge is not None and self.tia is None:
            raise ConfigError("periphery.nudge", "nudge currents are injected at the TIA input: add periphery.tia")
        if self.switches is not None:
            if self.tia is None or self.programming is None:
                raise ConfigError("periphery.switches", "column switches connect a column to its TIA or its "
                                  "programming driver: add periphery.tia and periphery.programming")
            self.check_write_range(self.programming.pulse.amplitude, "periphery.programming.pulse.amplitude")
        tia, adc = self.tia, self.adc
        if tia is not None and adc is not None and tia.circuit == "sky130" and not (
                tia.v_ss < adc.v_min and adc.v_max < tia.v_dd):
            raise ConfigError("periphery.adc.v_max" if adc.v_max >= tia.v_dd else "periphery.adc.v_min",
                              f"the ADC range {adc.v_min:g} .. {adc.v_max:g} V must lie inside the sky130 TIA's rails "
                              f"({tia.v_ss:g} .. {tia.v_dd:g} V): narrow it or widen periphery.tia.v_dd / v_ss")

    def check_write_range(self, amplitude: float, where: str) -> None:
        """A ConfigError naming ``where`` if a write of ``amplitude`` volts puts a column outside the column
        switches' rails (the scheme drives columns between 0 V and the amplitude)."""
        sw = self.switches
        if sw is not None and not (sw.v_low <= min(0.0, amplitude) and max(0.0, amplitude) <= sw.v_high):
            raise ConfigError(where, f"a {amplitude:g} V write drives columns outside the column switches' rails "
                              f"({sw.v_low:g} .. {sw.v_high:g} V): widen periphery.switches.v_low / v_high")

    @classmethod
    def full(cls) -> "PeripheryConfig":
        """Every block with its default settings."""
        return cls(DacConfig(), TiaConfig(), AdcConfig(), NudgeConfig(), ProgrammingConfig())


@dataclass
class AccessConfig:
    """NMOS access transistor of 1T1R cells (ngspice level-1 MOSFET) and its word-line voltage.

    ``v_gate`` volts on every word line; threshold ``vto`` volts; transconductance ``kp`` A/V^2;
    channel width ``w`` and length ``l`` in metres; ``lambda_`` 1/V channel-length modulation.
    """

    v_gate: float = 1.8
    vto: float = 0.5
    kp: float = 200e-6
    w: float = 1e-6
    l: float = 100e-9
    lambda_: float = 0.0

    def __post_init__(self) -> None:
        self.v_gate = f.number("access.v_gate", self.v_gate, unit="V")
        self.vto = f.number("access.vto", self.vto, unit="V")
        self.kp = f.number("access.kp", self.kp, low=0.0, low_open=True, unit="A/V^2")
        self.w = f.number("access.w", self.w, low=0.0, low_open=True, unit="m")
        self.l = f.number("access.l", self.l, low=0.0, low_open=True, unit="m")
        self.lambda_ = f.number("access.lambda_", self.lambda_, low=0.0, unit="1/V")
