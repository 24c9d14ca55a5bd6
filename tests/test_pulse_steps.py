"""The time steps of programming pulses: every model's preset SET and RESET pulses, through the programming path
(``apply_pulse``) with the preset's ``pulse_steps``, change the state within 1 % of a converged transient (largest
time step 5 ps, or ``step / 20000`` for long pulses) from the OFF / ON state and from the start of the pulse that
``benchmarks/bench_pulse_steps.py`` found hardest (the steep part of the switching curve)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.devices.catalog import get_device
from memcosim.devices.presets import PRESETS, get_preset
from memcosim.programming.pulses import PulseSpec, apply_pulse, hold

# (model, SET or RESET) -> start state of the hardest pulse of the benchmark's train (model units)
HARDEST = {
    ("jart_vcm", "set"): 0.01848, ("jart_vcm", "reset"): 19.79437, ("jart_v1b", "set"): 0.008635,
    ("vteam", "reset"): 0.219655, ("stanford_pku", "set"): 1.580676, ("stanford_pku", "reset"): 0.109978,
    ("sky130_reram", "set"): 3.345208,
}


def one_cell(model: str):
    device = get_device(model)
    return build_crossbar(ArrayConfig(1, 1, device=DeviceConfig(model), wires=WireConfig(r_row=0.0, r_column=0.0),
                                      states=device.off_state,
                                      periphery=PeripheryConfig(programming=ProgrammingConfig())))


def cases() -> list:
    out = []
    for model in sorted(PRESETS):
        device = get_device(model)
        for kind, start in (("set", device.off_state), ("reset", device.on_state)):
            starts = sorted({start, HARDEST.get((model, kind), start)})
            marks = [] if model == "jart_vcm" and kind == "set" else [pytest.mark.slow]
            out.append(pytest.param(model, kind, starts, marks=marks, id=f"{model}-{kind}"))
    return out


@pytest.mark.parametrize("model, kind, starts", cases())
def test_a_preset_pulse_changes_the_state_within_1_percent_of_a_converged_transient(model, kind, starts) -> None:
    preset = get_preset(model)
    pulse = PulseSpec(preset.set_amplitude if kind == "set" else preset.reset_amplitude, preset.step)
    fine = replace(preset, pulse_steps=max(1, round(preset.step / max(5e-12, preset.step / 20000))))
    xbar = one_cell(model)
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:
        for x0 in starts:
            s.set_states(np.array([x0]))
            reference = float(apply_pulse(s, xbar, pulse, preset=fine).delta[0, 0])
            s.set_states(np.array([x0]))
            change = float(apply_pulse(s, xbar, pulse).delta[0, 0])
            assert reference != 0 and change == pytest.approx(reference, rel=0.01), (x0, change, reference)


def test_the_largest_time_step_follows_the_preset_and_the_pulse() -> None:
    preset = get_preset("jart_vcm")
    assert preset.max_time_step(12e-9) == pytest.approx(preset.step / preset.pulse_steps)
    assert preset.max_time_step(2e-9) == pytest.approx(2e-9 / preset.pulse_steps)  # short pulses: finer
    assert preset.max_time_step(1e-6) == preset.max_time_step(preset.step)  # long ones: as fine as the preset's


def test_pulses_and_holds_run_their_transients_at_the_preset_step() -> None:
    preset = get_preset("jart_vcm")
    xbar = one_cell("jart_vcm")
    steps = []
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:
        tran = s.tran
        s.tran = lambda *a, **k: (steps.append(k["max_step"]), tran(*a, **k))[1]
        apply_pulse(s, xbar, PulseSpec(preset.set_amplitude, 5e-9))
        hold(s, xbar, preset.set_amplitude, 40e-9, window=10e-9)
    assert steps[0] == pytest.approx(7e-9 / preset.pulse_steps)
    assert steps[1:] == pytest.approx([10e-9 / preset.pulse_steps] * 4)
