"""Programming presets: per device model, the read voltage, conductance range and safe pulse amplitudes.

One place for the numbers the programming path needs, each a fact about the model as shipped in
``verilog_a/`` (ngspice 46, default parameters; see ``verilog_a/README.md``; the measurements behind
the ``jart_vcm`` values are in ``docs/measurements.md``):

* ``g_min`` / ``g_max``: read conductance (siemens) at ``v_read`` at the lower / upper state bound.
* ``g_low`` / ``g_high``: the *operating range* used for programming targets (siemens), inside which
  the suggested SET and RESET voltages change the conductance gradually. For models other than
  ``jart_vcm`` the ranges and limits are first choices from ``verilog_a/README.md``.
* ``set_amplitude`` / ``reset_amplitude``: the suggested SET (> 0 V) and RESET (< 0 V) voltages.
* ``set_limit`` / ``reset_limit``: the safe range of amplitudes (volts): a pulse must satisfy
  ``reset_limit <= amplitude <= set_limit``. Beyond them a single pulse switches the device abruptly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim import fields as f
from memcosim.errors import ConfigError


@dataclass(frozen=True)
class ProgrammingPreset:
    """Read and write facts of one device model (volts, siemens, seconds)."""

    model: str
    v_read: float  # V, read voltage (does not disturb the state)
    g_min: float  # S at v_read, lower state bound
    g_max: float  # S at v_read, upper state bound
    g_low: float  # S, lower end of the operating (programming-target) range
    g_high: float  # S, upper end of the operating range
    set_amplitude: float  # V (> 0), suggested SET voltage
    reset_amplitude: float  # V (< 0), suggested RESET voltage
    set_limit: float  # V, highest safe amplitude
    reset_limit: float  # V, lowest (most negative) safe amplitude
    step: float = 10e-9  # s, pulse-time quantum of write-and-verify and of the predictor dataset

    def check_amplitude(self, amplitude: float, field: str = "amplitude") -> float:
        """``amplitude`` (volts) if it is non-zero and inside [reset_limit, set_limit], else ConfigError."""
        v = f.number(field, amplitude, unit="V")
        if v == 0.0:
            raise ConfigError(field, "a programming pulse needs a non-zero amplitude (volts)")
        if not self.reset_limit <= v <= self.set_limit:
            raise ConfigError(field, f"{v!r} V is beyond the {self.model} safe range "
                                     f"[{self.reset_limit}, {self.set_limit}] V")
        return v

    def check_target(self, g: float | np.ndarray, field: str = "target") -> np.ndarray:
        """Target conductance(s) (siemens) if inside [g_min, g_max], else ConfigError naming the value."""
        a = np.asarray(g, dtype=float)
        bad = ~(np.isfinite(a) & (a >= self.g_min) & (a <= self.g_max))
        if np.any(bad):
            value = a[bad].flat[0]
            raise ConfigError(field, f"{value!r} S is outside the {self.model} conductance range "
                                     f"[{self.g_min:.4g}, {self.g_max:.4g}] S (read at {self.v_read} V)")
        return a

    def amplitude_for(self, change: float) -> float:
        """The suggested amplitude for a conductance change of this sign (SET for > 0, RESET for < 0)."""
        return self.set_amplitude if change > 0 else self.reset_amplitude


PRESETS: dict[str, ProgrammingPreset] = {
    "jart_vcm": ProgrammingPreset(
        "jart_vcm", v_read=0.2, g_min=9.99e-7, g_max=1.21e-4, g_low=1e-5, g_high=9e-5,
        set_amplitude=1.35, reset_amplitude=-1.05, set_limit=1.5, reset_limit=-1.3,
    ),
    "stanford_pku": ProgrammingPreset(
        "stanford_pku", v_read=0.2, g_min=4.9e-7, g_max=2.98e-4, g_low=1e-6, g_high=2.5e-4,
        set_amplitude=1.2, reset_amplitude=-0.9, set_limit=1.5, reset_limit=-1.0, step=100e-9,
    ),
    "vteam": ProgrammingPreset(
        "vteam", v_read=0.2, g_min=1.0e-6, g_max=1.0e-4, g_low=1.1e-6, g_high=9e-5,
        set_amplitude=0.8, reset_amplitude=-0.8, set_limit=1.5, reset_limit=-1.5,
    ),
    "linear_ion_drift": ProgrammingPreset(
        "linear_ion_drift", v_read=0.1, g_min=6.25e-5, g_max=1e-2, g_low=1e-4, g_high=5e-3,
        set_amplitude=1.0, reset_amplitude=-1.0, set_limit=2.0, reset_limit=-2.0, step=1e-3,
    ),
}


def get_preset(model: str) -> ProgrammingPreset:
    """The programming preset of ``model``; ConfigError naming the known models otherwise."""
    try:
        return PRESETS[model]
    except (KeyError, TypeError):
        raise ConfigError("model", f"no programming preset for {model!r}; known: {', '.join(sorted(PRESETS))}") from None
