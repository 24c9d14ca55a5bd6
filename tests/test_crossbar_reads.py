"""Column currents read through ngspice against closed forms and an independent scipy nodal analysis."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.nodal import solve_crossbar
from memcosim.config.periphery import AccessConfig, AdcConfig, DacConfig, PeripheryConfig, TiaConfig
from memcosim.cosim.engine import open_session


def _read(xbar, sources: dict) -> np.ndarray:
    with open_session(xbar.netlist) as s:
        s.set_sources(sources)
        return s.op(currents=xbar.column_sources).stack(xbar.column_sources)


def test_ideal_wires_and_periphery_give_v_times_g_exactly():
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-3, (12, 9))
    v = rng.uniform(-0.3, 0.3, 12)
    xbar = build_crossbar(ArrayConfig(12, 9, conductance=g))
    currents = _read(xbar, dict(zip(xbar.row_sources, v)))
    np.testing.assert_allclose(currents, v @ g, rtol=1e-9, atol=0)


def test_ideal_dac_quantizes_and_column_currents_equal_v_times_g():
    rng = np.random.default_rng(2)
    g = rng.uniform(1e-5, 1e-4, (8, 8))
    dac = DacConfig(bits=4, v_min=0.0, v_max=0.3, r_out=0.0)
    xbar = build_crossbar(ArrayConfig(8, 8, conductance=g, periphery=PeripheryConfig(dac=dac)))
    codes = rng.integers(0, 16, 8)
    currents = _read(xbar, xbar.dac_values(codes))
    np.testing.assert_allclose(currents, (codes * 0.3 / 15) @ g, rtol=1e-9, atol=0)


def test_64x64_1r_with_parasitic_wires_matches_scipy_nodal_analysis():
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-5, 1e-4, (64, 64))
    v = rng.uniform(0.0, 0.2, 64)
    config = ArrayConfig(64, 64, wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=10.0), conductance=g)
    currents = _read(build_crossbar(config), dict(zip([f"VROW{i}" for i in range(64)], v)))
    ref = solve_crossbar(g, v, 2.5, 2.5, 10.0).column_currents
    np.testing.assert_allclose(currents, ref, rtol=1e-6, atol=0)
    assert np.all(currents < v @ g)  # the wires do cost current


def test_periphery_loaded_array_matches_scipy_with_tia_input_resistance():
    """DAC output resistance and a finite-gain TIA (input Rf/(1+A)) are exactly a linear network."""
    rng = np.random.default_rng(4)
    g = rng.uniform(1e-5, 1e-4, (16, 16))
    per = PeripheryConfig(dac=DacConfig(bits=8, r_out=50.0), tia=TiaConfig(gain=300.0, r_feedback=2e3), adc=AdcConfig())
    xbar = build_crossbar(ArrayConfig(16, 16, wires=WireConfig(r_row=2.0, r_column=3.0, r_driver=5.0),
                                      conductance=g, periphery=per))
    codes = rng.integers(0, 256, 16)
    values = xbar.dac_values(codes)
    with open_session(xbar.netlist) as s:
        s.set_sources(values)
        r = s.op(voltages=xbar.tia_outputs + xbar.tia_inputs, currents=xbar.column_sources)
    currents = r.stack(xbar.column_sources)
    ref = solve_crossbar(g, list(values.values()), 2.0, 3.0, 5.0 + 50.0, r_sense=xbar.blocks.tia.input_resistance)
    np.testing.assert_allclose(currents, ref.column_currents, rtol=1e-6)
    np.testing.assert_allclose(r.stack(xbar.tia_outputs), xbar.blocks.tia.output(currents), rtol=1e-9)
    np.testing.assert_allclose(r.stack(xbar.tia_inputs), currents * xbar.blocks.tia.input_resistance, rtol=1e-6)


def test_64x64_1t1r_with_transistors_on_lies_between_its_bounds():
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-5, 1e-4, (64, 64))
    v = rng.uniform(0.05, 0.2, 64)
    access = AccessConfig(v_gate=1.8, vto=0.5, kp=200e-6, w=1e-6, l=100e-9)
    config = ArrayConfig(64, 64, wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=10.0), conductance=g,
                         cell="1T1R", access=access)
    xbar = build_crossbar(config)
    assert xbar.transistors.shape == (64, 64)
    currents = _read(xbar, dict(zip(xbar.row_sources, v)))
    ideal = v @ g
    zero_access = solve_crossbar(g, v, 2.5, 2.5, 10.0).column_currents
    # worst-case channel: triode with V_ds at most the largest row voltage and the source raised by
    # the column wires (bounded by the largest column voltage of the zero-access solution)
    worst_overdrive = access.v_gate - access.vto - solve_crossbar(g, v, 2.5, 2.5, 10.0).v_column.max() - v.max() / 2
    r_channel_max = 1.0 / (access.kp * access.w / access.l * worst_overdrive)
    lower = solve_crossbar(g, v, 2.5, 2.5, 10.0, r_access=r_channel_max).column_currents
    assert np.all(currents < zero_access) and np.all(zero_access < ideal)
    assert np.all(currents > lower)
    # the access transistor costs a visible but small share of the current when fully on
    share = 1 - currents / zero_access
    assert 1e-4 < share.mean() < 0.1


@pytest.mark.parametrize("model, params", [("linear_ion_drift", {}), ("vteam", {})])
def test_target_conductance_of_a_device_model_is_read_back(model, params):
    from memcosim.devices.catalog import get_device

    lo, hi = get_device(model, params).conductance_range()
    rng = np.random.default_rng(6)
    target = rng.uniform(lo * 1.1, hi * 0.9, (4, 5))
    xbar = build_crossbar(ArrayConfig(4, 5, device=DeviceConfig(model, params), conductance=target))
    v = rng.uniform(0.05, 0.1, 4)  # below both models' switching thresholds: a read
    np.testing.assert_allclose(_read(xbar, dict(zip(xbar.row_sources, v))), v @ target, rtol=1e-9)


def test_differential_pairs_give_signed_outputs():
    g_plus = np.array([[2e-5, 1e-5], [1e-5, 3e-5]])
    g_minus = np.array([[1e-5, 3e-5], [1e-5, 1e-5]])
    g = np.empty((2, 4))
    g[:, 0::2], g[:, 1::2] = g_plus, g_minus
    xbar = build_crossbar(ArrayConfig(2, 4, conductance=g, differential=True))
    assert xbar.column_pairs == [(0, 1), (2, 3)]
    v = np.array([0.1, 0.2])
    signed = xbar.signed(_read(xbar, dict(zip(xbar.row_sources, v))))
    np.testing.assert_allclose(signed, v @ (g_plus - g_minus), rtol=1e-9, atol=1e-18)
