"""A programming pulse: the one declaration of a pulse's amplitude (volts) and width (seconds)."""

from __future__ import annotations

from dataclasses import dataclass

from memcosim import fields as f
from memcosim.errors import ConfigError


@dataclass
class PulseConfig:
    """One programming pulse: ``amplitude`` volts at full height for ``width`` seconds, with ``rise``
    seconds rising and falling edges."""

    amplitude: float = 1.0
    width: float = 100e-9
    rise: float = 1e-9

    def __post_init__(self) -> None:
        self.amplitude = f.number("pulse.amplitude", self.amplitude, unit="V")
        self.width = f.number("pulse.width", self.width, low=0.0, low_open=True, unit="s")
        self.rise = f.number("pulse.rise", self.rise, low=0.0, low_open=True, unit="s")

    @property
    def duration(self) -> float:
        """Seconds from the start of the rising edge to the end of the falling one."""
        return self.width + 2 * self.rise


def check_slot_pair(table: str, set_pulse: object, reset_pulse: object, shared: tuple[str, ...] = ("width", "rise"),
                    why: str = "share one slot") -> None:
    """Check the SET and RESET pulses of a ``table`` that programs in slot pairs: both are :class:`PulseConfig`,
    SET above 0 V, RESET below 0 V, and the RESET pulse's ``shared`` fields (seconds) equal the SET pulse's.
    Errors name ``table.set.<key>`` / ``table.reset.<key>``; ``why`` completes the message of a ``shared`` mismatch."""
    for name, pulse in (("set", set_pulse), ("reset", reset_pulse)):
        if not isinstance(pulse, PulseConfig):
            raise ConfigError(f"{table}.{name}", f"must be a PulseConfig, got {pulse!r}")
    if not set_pulse.amplitude > 0:
        raise ConfigError(f"{table}.set.amplitude", f"a SET pulse must be > 0 V, got {set_pulse.amplitude}")
    if not reset_pulse.amplitude < 0:
        raise ConfigError(f"{table}.reset.amplitude", f"a RESET pulse must be < 0 V, got {reset_pulse.amplitude}")
    for name in shared:
        if getattr(reset_pulse, name) != getattr(set_pulse, name):
            raise ConfigError(f"{table}.reset.{name}", f"SET and RESET pulses {why}: set reset.{name} = "
                              f"set.{name} ({getattr(set_pulse, name)} s), got {getattr(reset_pulse, name)}")
