"""Write-and-verify: pulse, read, repeat until the read conductance is within tolerance or the budget is spent.

The loop is the same for every way of choosing the next pulse; a *policy* decides amplitude and width
from the present and target conductance. :class:`IncrementalPolicy` is the conventional baseline
(fixed-width pulses, optionally growing amplitude: incremental step pulse programming); the
predictor-guided policy lives with the predictor in ``programming/predictor/model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from memcosim import fields as f
from memcosim.config.pulse import PulseConfig, check_slot_pair
from memcosim.devices.presets import ProgrammingPreset, get_preset
from memcosim.programming.pulses import PulseSpec, apply_pulse
from memcosim.cosim.readout import read_cell
from memcosim.errors import ConfigError

WITHIN_TOLERANCE = "within tolerance"
BUDGET = "pulse budget"


class PulsePolicy(Protocol):
    def next_pulse(self, g_now: float, g_target: float,
                   history: list["VerifyStep"]) -> PulseSpec | tuple[PulseSpec, ...]:
        """The next pulse (amplitude at the cell in volts, width in seconds), or pulses applied back to
        back before the next read."""


@dataclass(frozen=True)
class VerifyStep:
    """One pulse of a write-and-verify run and the conductance read after it (siemens; NaN for a pulse
    followed by another without a read); ``energy``: joules every supply of the circuit delivered during
    the pulse."""

    amplitude: float
    width: float
    g_after: float
    energy: float = 0.0


@dataclass
class WriteVerifyResult:
    """Outcome: ``converged`` and ``reason`` say whether it stopped within tolerance or at its budget.
    ``energy``: joules per supply group delivered during the pulses (programming drivers, TIAs, ...; the
    verify reads are operating points and not in it: ``reads`` counts them, the first one included)."""

    target: float
    g_start: float
    g_final: float
    converged: bool
    reason: str
    steps: list[VerifyStep] = field(default_factory=list)
    energy: dict[str, float] = field(default_factory=dict)
    reads: int = 1

    @property
    def pulses(self) -> int:
        return len(self.steps)

    @property
    def pulse_time(self) -> float:
        """Total time at full amplitude (seconds)."""
        return float(sum(s.width for s in self.steps))

    @property
    def pulse_energy(self) -> float:
        """Joules every supply of the circuit delivered during the pulses (sum over the groups)."""
        return float(sum(self.energy.values()))

    @property
    def rpd(self) -> float:
        """Relative difference |G_final - target| / target."""
        return abs(self.g_final - self.target) / self.target

    def conductances(self) -> np.ndarray:
        """Start conductance then every read (siemens)."""
        return np.array([self.g_start] + [s.g_after for s in self.steps if not np.isnan(s.g_after)])


@dataclass
class IncrementalPolicy:
    """Conventional pulses: the first SET pulse is ``set``, the first RESET pulse ``reset`` (amplitude at the
    cell in volts, width and rise/fall in seconds: :class:`~memcosim.config.pulse.PulseConfig`); each further
    pulse in the same direction adds ``step`` V to the amplitude (towards ``set_stop`` / ``reset_stop``,
    None = no growth past the first); a change of direction starts over."""

    set: PulseConfig
    reset: PulseConfig
    step: float = 0.0
    set_stop: float | None = None
    reset_stop: float | None = None

    def __post_init__(self) -> None:
        check_slot_pair("policy", self.set, self.reset, shared=())
        self.step = f.number("policy.step", self.step, low=0.0, unit="V")
        self.set_stop = self.set.amplitude if self.set_stop is None else f.number("policy.set_stop", self.set_stop, unit="V")
        self.reset_stop = self.reset.amplitude if self.reset_stop is None else f.number("policy.reset_stop", self.reset_stop, unit="V")

    @classmethod
    def for_model(cls, model: str, width: float | None = None, rise: float = 0.2e-9, **kw) -> "IncrementalPolicy":
        """Pulses at the preset's suggested SET / RESET voltages, ``width`` s (None: the preset's ``step``) with
        ``rise`` s edges; ``kw``: ``step``, ``set_stop``, ``reset_stop``."""
        p = get_preset(model)
        width = p.step if width is None else width
        return cls(PulseConfig(p.set_amplitude, width, rise), PulseConfig(p.reset_amplitude, width, rise), **kw)

    def next_pulse(self, g_now: float, g_target: float, history: list[VerifyStep]) -> PulseSpec:
        up = g_target > g_now
        run = 0
        for s in reversed(history):
            if (s.amplitude > 0) != up:
                break
            run += 1
        pulse = self.set if up else self.reset
        if up:
            v = min(pulse.amplitude + run * self.step, max(self.set_stop, pulse.amplitude))
        else:
            v = max(pulse.amplitude - run * self.step, min(self.reset_stop, pulse.amplitude))
        return PulseSpec(v, pulse.width, pulse.rise, pulse.rise)


def write_verify(session, xbar, cell: tuple[int, int], target: float, policy: PulsePolicy, *,
                 tolerance: float = 0.1, max_pulses: int = 100, variation=None,
                 preset: ProgrammingPreset | None = None, v_read: float | None = None,
                 walk_within_pulse: bool = True, compensate: bool = False) -> WriteVerifyResult:
    """Program ``cell`` (row, column) to ``target`` siemens: read, and while |G - target| > tolerance * target
    apply ``policy``'s next pulse and read again, at most ``max_pulses`` pulses.

    Bad input (target outside the model's [g_min, g_max], tolerance <= 0, budget < 1, a cell outside
    the array) raises ConfigError before any pulse; the states are then untouched. ``variation`` and
    ``walk_within_pulse``: see :func:`~memcosim.programming.pulses.drive`; ``compensate``: raise the line
    amplitude against the IR drop (:func:`~memcosim.programming.pulses.compensate_ir_drop`).
    """
    preset = preset or get_preset(xbar.config.device.model)
    target = float(preset.check_target(target, "target"))
    tolerance = f.number("tolerance", tolerance, low=0.0, low_open=True, high=10.0)
    max_pulses = f.integer("max_pulses", max_pulses, 1)
    R, C = xbar.config.shape
    row, column = cell
    f.integer("row", row, 0, R - 1)
    f.integer("column", column, 0, C - 1)
    v = preset.v_read if v_read is None else v_read
    g = read_cell(session, xbar, row, column, v)
    result = WriteVerifyResult(target, g, g, False, BUDGET)
    while True:
        if abs(g - target) <= tolerance * target:
            result.converged, result.reason = True, WITHIN_TOLERANCE
            break
        if result.pulses >= max_pulses:
            break
        pulses = policy.next_pulse(g, target, result.steps)
        group = pulses if isinstance(pulses, tuple) else (pulses,)
        spent = []
        for pulse in group:
            r = apply_pulse(session, xbar, pulse, "cell", (row, column), variation=variation, preset=preset,
                            walk_within_pulse=walk_within_pulse, compensate=compensate)
            spent.append(r.total_energy)
            for name, joules in r.energy.items():
                result.energy[name] = result.energy.get(name, 0.0) + joules
        g = read_cell(session, xbar, row, column, v)
        result.reads += 1
        result.steps += [VerifyStep(p.amplitude, p.width, g if k == len(group) - 1 else float("nan"), e)
                         for k, (p, e) in enumerate(zip(group, spent))]
    result.g_final = g
    return result
