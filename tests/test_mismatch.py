"""Threshold-voltage mismatch from one seed: per-cell Pelgrom draws for the sky130 5 V access transistor and
per-device draws for the SAR comparator's input pair (its offset), reproducible per seed (real ngspice)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memcosim.circuits import sky130
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.periphery.adc import SarAdc
from memcosim.config.array import ArrayConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, TiaConfig
from memcosim.cosim.conversion import measure_comparator
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError


def _array(size: int = 3, adc: str = "behavioural") -> ArrayConfig:
    g = np.random.default_rng(0).uniform(5e-6, 5e-5, (size, size))
    per = PeripheryConfig(dac=DacConfig(bits=8, v_max=0.2), tia=TiaConfig(r_feedback=10e3), adc=AdcConfig(bits=5, v_min=-1, v_max=0, circuit=adc))
    return sky130.pdk_array(ArrayConfig(size, size, conductance=g, wires=WireConfig.uniform(1.0), periphery=per))


def test_pelgrom_sigmas_come_from_the_pdk_files():
    a_vt = sky130.vth0_slope("sky130_fd_pr__nfet_01v8")
    assert a_vt == pytest.approx(3.356e-9)  # 3.356 mV um, the PDK's nfet_01v8 vth0 slope
    assert sky130.vth0_slope(sky130.ACCESS_DEVICE) == 0.0  # the 5 V device's file states none
    assert sky130.pelgrom_a_vt(sky130.ACCESS_DEVICE) == pytest.approx(3.356e-9 * 11.6 / 4.148)
    sigma = sky130.sigma_vth(sky130.ACCESS_DEVICE, sky130.ACCESS_W, sky130.ACCESS_L)
    assert sigma == pytest.approx(9.385e-9 / math.sqrt(2.5e-12), rel=1e-3)  # 5.9 mV for W/L = 5/0.5 um


def test_access_and_comparator_draws_follow_the_seed():
    texts, draws = {}, {}
    for seed in (3, 3, 4):
        xb = build_crossbar(_array(12, "sky130"))
        d = sky130.apply_mismatch(xb.netlist, seed)
        texts.setdefault(seed, []).append(xb.netlist.render())
        draws.setdefault(seed, []).append(d)
    assert texts[3][0] == texts[3][1] and texts[3][0] != texts[4][0]
    a, b = draws[3][0], draws[4][0]
    assert len(a.access) == 144 and len(a.comparators) == 12
    assert a.access != b.access and a.comparators != b.comparators
    values = np.array(list(a.access.values()))
    assert abs(values.std() / a.sigma_access - 1) < 0.2 and abs(values.mean()) < 0.3 * a.sigma_access
    name = next(iter(a.access))
    assert f"XA0_0" in a.access and f"{name} " in texts[3][0]
    assert f"sky130_fd_pr__nfet_g5v0d10v5_vt dvth={a.access[name]:.12g}" in texts[3][0]
    assert "dvth_inp=" in texts[3][0].split("XADC0 ", 1)[1].split("\n", 1)[0]
    with pytest.raises(ConfigError, match="mismatch_seed: the mismatch of this netlist is drawn already"):
        sky130.apply_mismatch(xb.netlist, 4)


@pytest.mark.slow
def test_access_mismatch_moves_the_read_and_repeats_with_the_seed():
    """Real ngspice, 3x3 sky130 1T1R: a mismatch seed changes the column currents, the same seed repeats them."""
    outputs = {}
    for seed in (None, 1, 1, 2):
        xb = build_crossbar(_array())
        if seed is not None:
            sky130.apply_mismatch(xb.netlist, seed)
        with open_session(xb.netlist) as s:
            s.set_sources(xb.dac_values(np.array([255, 180, 90])))
            r = s.op(voltages=xb.tia_outputs)
        outputs.setdefault(seed, []).append(r.stack(xb.tia_outputs))
    np.testing.assert_array_equal(outputs[1][0], outputs[1][1])
    assert np.abs(outputs[1][0] - outputs[2][0]).max() > 1e-6
    assert np.abs(outputs[1][0] - outputs[None][0]).max() > 1e-6


@pytest.mark.slow
def test_the_comparator_offset_is_its_input_pairs_threshold_difference():
    adc = SarAdc(AdcConfig(bits=8, v_min=-1, v_max=0, circuit="sky130"))
    for pair in ((3e-3, -2e-3), (-1.5e-3, 0.0)):
        figures = measure_comparator(adc, offset_span=10e-3, offset_steps=10, pair=pair)
        assert figures.offset == pytest.approx(pair[0] - pair[1], abs=0.2e-3), figures


def test_each_part_of_the_mismatch_can_be_left_out():
    only_pdk = build_crossbar(_array(3, "sky130"))
    d = sky130.apply_mismatch(only_pdk.netlist, 2, threshold=False)
    assert d.access == {} and d.comparators == {} and only_pdk.netlist.parameters["mc_mm_switch"] > 0
    only_threshold = build_crossbar(_array(3, "sky130"))
    d = sky130.apply_mismatch(only_threshold.netlist, 2, pdk=False)
    assert len(d.access) == 9 and len(d.comparators) == 3 and only_threshold.netlist.parameters["mc_mm_switch"] == 0
    with pytest.raises(ConfigError, match="drawn already"):
        sky130.apply_mismatch(only_threshold.netlist, 3)
