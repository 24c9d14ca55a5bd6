"""Source waveforms for transients: piecewise-linear (PWL) waveforms, single trapezoidal pulses and slot trains.

Every pulse that memcosim applies is built here: :func:`pulse` (one trapezoid, e.g. a write of
:meth:`Crossbar.write_waveforms` or a programming pulse), :func:`slot_train` (a line's level in each
slot of back-to-back trapezoids, as the crossbar layers' and the EP network's parallel updates drive
it), and the :class:`Pwl` operations the programming path needs (:meth:`Pwl.window`, :meth:`Pwl.scaled`).
Times are in seconds from the start of the transient; values in volts (voltage sources) or amperes
(current sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from memcosim.circuits.netlist import fmt


@dataclass(frozen=True)
class Pwl:
    """A piecewise-linear waveform: ``times`` (seconds, increasing from 0) and ``values`` (volts or amperes);
    held at its last value after the last time."""

    times: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.values) or len(self.times) < 1:
            raise ValueError("Pwl: times and values must have the same, non-zero length")
        t = np.asarray(self.times, dtype=float)
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(self.values)):
            raise ValueError("Pwl: times and values must be finite")
        if t[0] < 0 or np.any(np.diff(t) <= 0):
            raise ValueError(f"Pwl: times must start at >= 0 s and increase strictly, got {list(t)}")

    @classmethod
    def constant(cls, value: float) -> "Pwl":
        """``value`` (volts or amperes) at every time."""
        return cls((0.0,), (float(value),))

    def render(self) -> str:
        """The ``time value`` pairs as ngspice reads them in a ``pwl`` list."""
        return " ".join(f"{fmt(t)} {fmt(v)}" for t, v in zip(self.times, self.values))

    def scaled(self, factor: float) -> "Pwl":
        """The same corners with every value multiplied by ``factor``."""
        return Pwl(self.times, tuple(factor * v for v in self.values))

    def window(self, t0: float, t1: float) -> "Pwl":
        """This waveform between ``t0`` and ``t1`` seconds, shifted to start at 0 (held at its ends outside)."""
        t = np.asarray(self.times)
        v = np.asarray(self.values)
        inner = t[(t > t0) & (t < t1)]
        times = np.concatenate([[t0], inner, [t1]])
        values = np.interp(times, t, v)
        return Pwl(tuple(float(x) for x in times - t0), tuple(float(x) for x in values))

    def placed(self, start: float, duration: float, edge: float) -> "Pwl":
        """This waveform's first ``duration`` seconds moved to begin at ``start`` s, at 0 before and after them:
        where it does not begin (end) at 0, a ramp of ``edge`` s leads in before ``start`` (out after the end)."""
        w = self.window(0.0, duration)
        t, v = [start + x for x in w.times], list(w.values)
        if v[0] != 0.0:
            if not edge <= start:
                raise ValueError(f"Pwl.placed: a ramp of {edge!r} s does not fit before {start!r} s")
            t.insert(0, start - edge)
            v.insert(0, 0.0)
        if v[-1] != 0.0:
            t.append(t[-1] + edge)
            v.append(0.0)
        if t[0] > 0.0:
            t.insert(0, 0.0)
            v.insert(0, 0.0)
        return Pwl(tuple(t), tuple(v))


def pulse(amplitude: float, width: float, *, delay: float = 0.0, rise: float = 1e-9, fall: float = 1e-9,
          base: float = 0.0, tail: float = 0.0) -> Pwl:
    """A trapezoidal pulse from ``base`` to ``amplitude`` (volts or amperes): ``delay`` s at ``base``, ``rise`` s
    edge, ``width`` s at full ``amplitude``, ``fall`` s edge, then ``tail`` s at ``base``."""
    if not width > 0:
        raise ValueError(f"pulse width must be > 0 s, got {width!r}")
    if not (rise > 0 and fall > 0 and delay >= 0 and tail >= 0):
        raise ValueError("pulse rise and fall must be > 0 s, delay and tail >= 0 s")
    t = [0.0]
    v = [base]
    if delay > 0:
        t.append(delay); v.append(base)
    t0 = t[-1]
    t += [t0 + rise, t0 + rise + width, t0 + rise + width + fall]
    v += [amplitude, amplitude, base]
    if tail > 0:
        t.append(t[-1] + tail); v.append(base)
    return Pwl(tuple(t), tuple(v))


def slot_period(width: float, rise: float, gap: float) -> float:
    """Seconds from one slot's start to the next: rise, ``width`` at full level, fall (= ``rise``), ``gap``."""
    return 2 * rise + width + gap


def slot_train(levels: Sequence[float], width: float, rise: float, gap: float, delay: float = 0.0) -> Pwl:
    """A line's waveform over back-to-back slots: a trapezoid at ``levels[s]`` volts in slot ``s`` (starting at
    ``delay`` plus ``s`` times :func:`slot_period` seconds; ``rise`` s edges, ``width`` s at full level), 0 V
    before, between and after the slots. A slot at 0 V adds no corners."""
    period = slot_period(width, rise, gap)
    t: list[float] = [0.0]
    v: list[float] = [0.0]
    for s, a in enumerate(levels):
        t0 = delay + s * period
        if a == 0.0:
            continue
        if t0 > t[-1]:
            t.append(t0); v.append(0.0)
        t += [t0 + rise, t0 + rise + width, t0 + 2 * rise + width]
        v += [a, a, 0.0]
    return Pwl(tuple(t), tuple(v))
