"""The one waveform module: PWL waveforms, trapezoidal pulses and slot trains (no simulator needed)."""

from __future__ import annotations

import pytest

from memcosim.circuits.waveforms import Pwl, pulse, slot_period, slot_train
from memcosim.programming.pulses import PulseSpec


def test_a_pulse_has_its_corners_where_its_times_say():
    p = pulse(1.2, 10e-9, delay=5e-9, rise=1e-9, fall=2e-9, base=0.1, tail=3e-9)
    assert p.times == pytest.approx((0.0, 5e-9, 6e-9, 16e-9, 18e-9, 21e-9), abs=1e-21)
    assert p.values == (0.1, 0.1, 1.2, 1.2, 0.1, 0.1)
    for bad in (dict(width=0.0), dict(width=1e-9, rise=0.0), dict(width=1e-9, delay=-1e-9)):
        with pytest.raises(ValueError):
            pulse(1.0, **bad)


def test_a_programming_pulse_is_the_same_trapezoid():
    spec = PulseSpec(-1.4, 38e-9, rise=1e-9, fall=2e-9)
    assert spec.shape() == pulse(-1.4, 38e-9, rise=1e-9, fall=2e-9)
    assert spec.shape(1.0).values == (0.0, 1.0, 1.0, 0.0) and spec.shape(1.0).times[-1] == spec.duration


def test_a_slot_train_puts_each_level_in_its_slot_and_nothing_in_slots_at_zero():
    width, rise, gap = 10e-9, 1e-9, 2e-9
    period = slot_period(width, rise, gap)
    assert period == 2 * rise + width + gap
    w = slot_train([0.6, 0.0, -0.3], width, rise, gap)
    assert w.times == (0.0, rise, rise + width, 2 * rise + width,
                       2 * period, 2 * period + rise, 2 * period + rise + width, 2 * period + 2 * rise + width)
    assert w.values == (0.0, 0.6, 0.6, 0.0, 0.0, -0.3, -0.3, 0.0)
    assert slot_train([0.0, 0.0], width, rise, gap) == Pwl.constant(0.0)


def test_window_and_scale_keep_the_waveform_between_the_cuts():
    p = pulse(1.0, 10e-9, rise=2e-9, fall=2e-9)
    w = p.window(1e-9, 13e-9)
    assert w.times == pytest.approx((0.0, 1e-9, 11e-9, 12e-9), abs=1e-21)
    assert w.values == pytest.approx((0.5, 1.0, 1.0, 0.5))
    assert w.scaled(-0.6).values == pytest.approx((-0.3, -0.6, -0.6, -0.3))
    assert w.scaled(2.0).times == w.times
    with pytest.raises(ValueError, match="increase strictly"):
        Pwl((0.0, 0.0), (1.0, 1.0))
