"""Programming presets: per device model, the read voltage, conductance range and safe pulse amplitudes.

One small frozen dataclass per shipped model (``JartVcmPreset``, ``JartV1bPreset``, ``StanfordPkuPreset``, ``VteamPreset``,
``LinearIonDriftPreset``, ``Sky130ReramPreset``) whose defaults are facts of the model as shipped in ``verilog_a/`` (ngspice 46,
default parameters; the paper of each model is named in its docstring; see ``verilog_a/README.md``; the
measurements behind the ``jart_vcm`` values are in ``docs/measurements.md``):

* ``g_min`` / ``g_max``: read conductance (siemens) at ``v_read`` at the lower / upper state bound.
* ``g_low`` / ``g_high``: the *operating range* used for programming targets (siemens), inside which
  the suggested SET and RESET voltages change the conductance gradually. For models other than
  ``jart_vcm`` the ranges and limits are first choices from ``verilog_a/README.md``.
* ``set_amplitude`` / ``reset_amplitude``: the suggested SET (> 0 V) and RESET (< 0 V) voltages.
* ``set_limit`` / ``reset_limit``: the safe range of amplitudes (volts): a pulse must satisfy
  ``reset_limit <= amplitude <= set_limit``. Beyond them a single pulse switches the device abruptly.
* ``step``: the pulse-time quantum (seconds) of write-and-verify and of the predictor dataset.
* ``pulse_steps`` and ``pulse_reltol``: the time-step rule of a programming transient: its largest time
  step is ``min(duration, step) / pulse_steps`` (:meth:`ProgrammingPreset.max_time_step`) and its
  relative tolerance ``pulse_reltol`` (or the session's, if tighter). Chosen per model as the cheapest
  (fewest time points) that keeps the state change of every preset SET and RESET pulse within 1 % of
  a converged transient (``benchmarks/bench_pulse_steps.py``; errors and costs of the run behind these values in
  ``docs/pulse_steps.json``).
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
    pulse_steps: int = 100  # time steps per pulse (of at most ``step``) of a programming transient
    pulse_reltol: float = 1e-3  # relative tolerance of a programming transient

    def max_time_step(self, duration: float) -> float:
        """Largest time step (seconds) of a programming transient of ``duration`` seconds: ``1 / pulse_steps``
        of the duration, and of ``step`` for longer ones (so a long pulse is integrated as finely as the
        preset's own)."""
        return min(duration, self.step) / self.pulse_steps

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
            raise ConfigError(field, f"{value:g} S is outside the {self.model} conductance range "
                                     f"[{self.g_min:.4g}, {self.g_max:.4g}] S (read at {self.v_read} V)")
        return a

    def amplitude_for(self, change: float) -> float:
        """The suggested amplitude for a conductance change of this sign (SET for > 0, RESET for < 0)."""
        return self.set_amplitude if change > 0 else self.reset_amplitude


@dataclass(frozen=True)
class JartVcmPreset(ProgrammingPreset):
    """``jart_vcm``: JART-style filamentary switching, simplified after JART VCM v1b (Bengel, Hardtdegen,
    Menzel et al., IEEE TCAS-I 67(12), 4618, 2020; the published model is ``jart_v1b``), read at 0.2 V; SET +1.35 V / RESET -1.05 V change the conductance gradually
    between 1e-5 and 9e-5 S; single 10 ns pulses beyond +1.5 V / -1.3 V switch abruptly."""

    model: str = "jart_vcm"
    v_read: float = 0.2
    g_min: float = 9.99e-7
    g_max: float = 1.21e-4
    g_low: float = 1e-5
    g_high: float = 9e-5
    set_amplitude: float = 1.35
    reset_amplitude: float = -1.05
    set_limit: float = 1.5
    reset_limit: float = -1.3
    step: float = 10e-9
    pulse_steps: int = 100
    pulse_reltol: float = 0.001


@dataclass(frozen=True)
class JartV1bPreset(ProgrammingPreset):
    """``jart_v1b``: JART VCM v1b, variability-aware (Bengel et al., "Variability-aware modeling of
    filamentary oxide-based bipolar resistive switching cells using SPICE level compact models", IEEE
    TCAS-I 67(12), 4618, 2020), read at 0.2 V (the SET polarity, where the cell has one operating
    point); ``g_min`` / ``g_max`` are the read conductances at N = 0.008 / 20. SET is abrupt after an
    incubation time that shortens steeply with voltage; RESET from N = 20 is gradual at first. A single
    10 ns pulse at up to +1.0 V / -1.6 V leaves the device short of the opposite bound
    (``docs/jart_v1b/``, ``benchmarks/jart_v1b_tables.py``)."""

    model: str = "jart_v1b"
    v_read: float = 0.2
    g_min: float = 9.54e-6
    g_max: float = 6.29e-4
    g_low: float = 2e-5
    g_high: float = 5.5e-4
    set_amplitude: float = 1.0
    reset_amplitude: float = -1.5
    set_limit: float = 1.0
    reset_limit: float = -1.6
    step: float = 10e-9
    pulse_steps: int = 100
    pulse_reltol: float = 0.0001


@dataclass(frozen=True)
class StanfordPkuPreset(ProgrammingPreset):
    """``stanford_pku``: Stanford-PKU HfOx RRAM (Yu, Guan, Wong, IEEE TED 58(9), 2011; Jiang et al., IEEE
    TED 63(5), 1884, 2016), read at 0.2 V; SET is abrupt, RESET at -0.9 V x 100 ns moves a few percent."""

    model: str = "stanford_pku"
    v_read: float = 0.2
    g_min: float = 4.9e-7
    g_max: float = 2.98e-4
    g_low: float = 1e-6
    g_high: float = 2.5e-4
    set_amplitude: float = 1.2
    reset_amplitude: float = -0.9
    set_limit: float = 1.5
    reset_limit: float = -1.0
    step: float = 100e-9
    pulse_steps: int = 20
    pulse_reltol: float = 0.001


@dataclass(frozen=True)
class VteamPreset(ProgrammingPreset):
    """``vteam``: VTEAM voltage-threshold memristor (Kvatinsky et al., IEEE TCAS-II 62(8), 786, 2015),
    Ron = 10 kohm, Roff = 1 Mohm, thresholds +-0.5 V; 10 ns pulses at +-0.8 V step the conductance."""

    model: str = "vteam"
    v_read: float = 0.2
    g_min: float = 1.0e-6
    g_max: float = 1.0e-4
    g_low: float = 1.1e-6
    g_high: float = 9e-5
    set_amplitude: float = 0.8
    reset_amplitude: float = -0.8
    set_limit: float = 1.5
    reset_limit: float = -1.5
    step: float = 10e-9
    pulse_steps: int = 50
    pulse_reltol: float = 0.0001


@dataclass(frozen=True)
class LinearIonDriftPreset(ProgrammingPreset):
    """``linear_ion_drift``: HP linear ion drift (Strukov et al., Nature 453, 80, 2008), Ron = 100 ohm,
    Roff = 16 kohm, read at 0.1 V; switching takes ~0.1 s at 1 mA, so the pulse-time quantum is 1 ms."""

    model: str = "linear_ion_drift"
    v_read: float = 0.1
    g_min: float = 6.25e-5
    g_max: float = 1e-2
    g_low: float = 1e-4
    g_high: float = 5e-3
    set_amplitude: float = 1.0
    reset_amplitude: float = -1.0
    set_limit: float = 2.0
    reset_limit: float = -2.0
    step: float = 1e-3
    pulse_steps: int = 10
    pulse_reltol: float = 0.001


@dataclass(frozen=True)
class Sky130ReramPreset(ProgrammingPreset):
    """``sky130_reram``: the SkyWater SKY130 ReRAM cell (``sky130_fd_pr_reram__reram_cell``, SkyWater's
    Stanford/PKU-line model and parameters, google/skywater-pdk-libs-sky130_fd_pr_reram v2.0.3), read at
    0.2 V; ``g_min`` / ``g_max`` are the read conductances at a filament of 3.3 / 4.9 nm. SET is abrupt
    (+2.1 V x 100 ns pulses creep, then one switches fully; a single 100 ns pulse at +2.2 V sets), RESET
    gradual (-1.3 V x 100 ns: a large first step from ON, then about 1 % of the range per pulse; a single
    100 ns pulse at -2.2 V resets fully). Figures from ``memcosim.devices.sky130_reram_equations``."""

    model: str = "sky130_reram"
    v_read: float = 0.2
    g_min: float = 3.065e-7
    g_max: float = 1.029e-4
    g_low: float = 1e-6
    g_high: float = 9e-5
    set_amplitude: float = 2.1
    reset_amplitude: float = -1.3
    set_limit: float = 2.15
    reset_limit: float = -2.0
    step: float = 100e-9
    pulse_steps: int = 20
    pulse_reltol: float = 0.001


PRESETS: dict[str, ProgrammingPreset] = {
    p.model: p for p in (JartVcmPreset(), JartV1bPreset(), StanfordPkuPreset(), VteamPreset(), LinearIonDriftPreset(),
                         Sky130ReramPreset())
}


def get_preset(model: str) -> ProgrammingPreset:
    """The programming preset of ``model``; ConfigError naming the known models otherwise."""
    try:
        return PRESETS[model]
    except (KeyError, TypeError):
        raise ConfigError("model", f"no programming preset for {model!r}; known: {', '.join(sorted(PRESETS))}") from None
