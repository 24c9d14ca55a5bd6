"""Each shipped model in real ngspice against its equations integrated with scipy (one module of equations per
model, ``memcosim.devices.<model>_equations``): read and programming-level currents, and the state after the
preset's SET and RESET pulses (``PulseSpec(amplitude, preset.step)``: 1 ns edges) within 1 % of the change.
``jart_v1b`` has its own file (``test_jart_v1b.py``).

Voltages in volts (V(p, n)), currents in amperes, times in seconds, states in each model's units.
"""

from __future__ import annotations

import importlib

import pytest

from memcosim.circuits.netlist import Netlist
from memcosim.circuits.waveforms import pulse
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.devices.catalog import get_device
from memcosim.devices.presets import get_preset
from memcosim.devices.sky130_reram_equations import pulse as sky130_pulse

MODELS = ("jart_vcm", "stanford_pku", "vteam", "linear_ion_drift", "sky130_reram")
FINE = 2000  # time steps per pulse of the ngspice transients compared here


def equations(model: str):
    return importlib.import_module(f"memcosim.devices.{model}_equations")


def one_device(model: str, x0: float) -> Netlist:
    """One ``model`` device from node ``p`` to ground (state node ``x``), driven by ``V1``."""
    net = Netlist(f"one {model}")
    net.voltage_source("V1", "p", "0", 0.0)
    net.memristor("N1", "p", "0", "x", model, x0=x0)
    return net


def ngspice_pulse(model: str, amplitude: float, width: float, x0: float) -> float:
    """State after one trapezoidal pulse (1 ns edges) in ngspice, at most ``FINE`` time steps per pulse."""
    duration = width + 2e-9
    with open_session(one_device(model, x0), SessionOptions(worker=False)) as s:
        s.tran(duration, duration / 100, waveforms={"V1": pulse(amplitude, width)}, max_step=duration / FINE)
        return float(s.states[0])


@pytest.mark.parametrize("model", MODELS)
def test_read_and_programming_currents_are_the_equations(model: str) -> None:
    device, preset, eq = get_device(model), get_preset(model), equations(model)
    lo, hi = device.bounds
    for x in (lo, 0.5 * (lo + hi), hi):
        with open_session(one_device(model, x), SessionOptions(worker=False)) as s:
            for v in (preset.v_read, -preset.v_read, preset.set_amplitude, preset.reset_amplitude):
                s.set_sources({"V1": v})
                assert -float(s.op(currents=["V1"])["V1"]) == pytest.approx(eq.current(v, x), rel=1e-6), (x, v)


def starts(model: str) -> list:
    """(amplitude, start state) of the compared pulses: the preset SET pulse from the OFF state and the RESET
    pulse from the ON state, and (slow) each from the middle of the state range."""
    device, preset = get_device(model), get_preset(model)
    lo, hi = device.bounds
    mid = 0.5 * (lo + hi)
    return [(model, preset.set_amplitude, device.off_state), (model, preset.reset_amplitude, device.on_state),
            pytest.param(model, preset.set_amplitude, mid, marks=pytest.mark.slow),
            pytest.param(model, preset.reset_amplitude, mid, marks=pytest.mark.slow)]


@pytest.mark.parametrize("model, amplitude, x0", [p for m in MODELS for p in starts(m)])
def test_the_state_after_a_preset_pulse_is_the_scipy_integration_within_1_percent(
        model: str, amplitude: float, x0: float) -> None:
    width = get_preset(model).step
    reference = equations(model).pulse(amplitude, width, x0)
    state = ngspice_pulse(model, amplitude, width, x0)
    assert reference != x0 and state == pytest.approx(reference, abs=0.01 * abs(reference - x0)), (state, reference)


def test_jart_vcm_on_the_steep_part_of_its_set_curve() -> None:
    # the sixth preset SET pulse from the OFF state moves N by 4x (0.018 -> 0.081)
    preset = get_preset("jart_vcm")
    reference = equations("jart_vcm").pulse(preset.set_amplitude, preset.step, 0.0185)
    state = ngspice_pulse("jart_vcm", preset.set_amplitude, preset.step, 0.0185)
    assert state == pytest.approx(reference, abs=0.01 * (reference - 0.0185))


@pytest.mark.slow
def test_sky130_reram_steady_temperature_is_within_0_3_percent_of_the_thermal_equation() -> None:
    # the Verilog-A model takes the filament temperature at its steady state (tau_thermal = 0.23 ns);
    # SkyWater integrates it: the preset pulses' state changes differ by at most 0.3 %
    preset = get_preset("sky130_reram")
    for amplitude, x0 in ((preset.set_amplitude, 3.3), (preset.set_amplitude, 3.33), (preset.reset_amplitude, 4.9),
                          (preset.reset_amplitude, 4.4)):
        full = sky130_pulse(amplitude, preset.step, x0)
        steady = sky130_pulse(amplitude, preset.step, x0, thermal=False)
        assert steady == pytest.approx(full, abs=0.003 * abs(full - x0)), (amplitude, x0)
