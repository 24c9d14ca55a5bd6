"""A programming pulse: the one declaration of a pulse's amplitude (volts) and width (seconds)."""

from __future__ import annotations

from dataclasses import dataclass

from memcosim import fields as f


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
