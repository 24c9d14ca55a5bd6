"""Programming drivers: half-select biasing and the disturbance a write leaves on the other cells."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.config.pulse import PulseConfig
from memcosim.circuits.bias import cell_bias, line_voltages
from memcosim.cosim.periphery_views import write_disturbance
from memcosim.errors import ConfigError

VTH = 0.5  # volts: linear_ion_drift drift threshold used here


@pytest.mark.parametrize("scheme, half, unselected", [("V/2", 0.6, 0.0), ("V/3", 0.4, -0.4), ("ground", None, 0.0)])
def test_line_voltages_of_each_scheme(scheme, half, unselected):
    v_rows, v_cols = line_voltages(scheme, 1.2, 4, 5, 1, 3)
    bias = cell_bias(v_rows, v_cols)
    assert bias[1, 3] == pytest.approx(1.2)
    others = np.ones((4, 5), dtype=bool)
    others[1, :] = others[:, 3] = False
    np.testing.assert_allclose(bias[others], unselected, atol=1e-12)
    if half is not None:
        np.testing.assert_allclose(np.r_[np.delete(bias[1], 3), np.delete(bias[:, 3], 1)], half)
    else:  # unselected lines grounded: the selected row's cells see the full voltage
        np.testing.assert_allclose(np.delete(bias[1], 3), 1.2)
    with pytest.raises(ConfigError, match="row"):
        line_voltages(scheme, 1.2, 4, 5, 4, 0)


def _config(scheme: str) -> ArrayConfig:
    prog = ProgrammingConfig(scheme, PulseConfig(amplitude=1.2, width=1e-6, rise=1e-9))
    return ArrayConfig(5, 5, device=DeviceConfig("linear_ion_drift", {"vth": VTH, "mu_v": 1e-9}),
                       wires=WireConfig(r_row=1.0, r_column=1.0), states=0.5,
                       periphery=PeripheryConfig(programming=prog))


def test_waveforms_drive_only_the_biased_lines():
    xbar = build_crossbar(_config("V/2"))
    waves = xbar.write_waveforms(2, 2)
    assert "VPCOL2" not in waves  # the selected column stays at 0 V
    assert max(waves["VPROW2"].values) == pytest.approx(1.2)
    assert max(waves["VPROW0"].values) == pytest.approx(0.6) and max(waves["VPCOL0"].values) == pytest.approx(0.6)


def test_half_select_write_disturbs_less_than_a_full_voltage_write():
    half = np.zeros((5, 5), dtype=bool)
    half[2, :] = half[:, 2] = True
    half[2, 2] = False
    unselected = ~half
    unselected[2, 2] = False

    v2 = write_disturbance(_config("V/2"), 2, 2)
    full = write_disturbance(_config("ground"), 2, 2)
    v3 = write_disturbance(_config("V/3"), 2, 2)

    # the selected cell is written about equally by every scheme (positive bias: SET, state grows)
    assert v2["delta"][2, 2] > 0.01 and full["delta"][2, 2] > 0.01
    assert v2["delta"][2, 2] == pytest.approx(full["delta"][2, 2], rel=0.05)
    # V/2: half-selected cells see 0.6 V (0.1 V over threshold); a full-voltage write gives the
    # selected row's cells the whole 1.2 V
    assert 0 < np.abs(v2["delta"][half]).max() < 0.5 * np.abs(full["delta"][half]).max()
    # unselected cells stay under threshold and do not move
    assert np.abs(v2["bias"][unselected]).max() < VTH
    assert np.abs(v2["delta"][unselected]).max() < 1e-9
    # V/3: every non-selected cell sees 0.4 V < threshold
    assert np.abs(v3["delta"][half | unselected]).max() < 1e-9
    assert v3["delta"][2, 2] > 0.01


# -- the programming path in cosim/: pulses, read-out, write-and-verify, variation (jart_vcm) --------------

from memcosim.devices.presets import get_preset  # noqa: E402
from memcosim.programming.pulses import PulseSpec, apply_pulse, hold, selection_voltages  # noqa: E402
from memcosim.cosim.device_table import conductance_table, states_for_conductance  # noqa: E402
from memcosim.cosim.readout import read_array, read_cell  # noqa: E402
from memcosim.config.variation import ParameterVariationConfig  # noqa: E402
from memcosim.cosim.engine import open_session  # noqa: E402
from memcosim.cosim.session import SessionOptions  # noqa: E402
from memcosim.devices.variation import Variation, nominal_parameters  # noqa: E402
from memcosim.programming.write_verify import BUDGET, WITHIN_TOLERANCE, IncrementalPolicy, write_verify  # noqa: E402

JART = get_preset("jart_vcm")


def _jart(rows: int = 1, columns: int = 1, g: float = 2e-5, r_wire: float = 0.0, scheme: str = "V/2"):
    state = float(states_for_conductance("jart_vcm", g, JART.v_read))  # before the session opens
    return build_crossbar(ArrayConfig(rows, columns, device=DeviceConfig("jart_vcm"),
                                      wires=WireConfig(r_row=r_wire, r_column=r_wire), states=state,
                                      periphery=PeripheryConfig(programming=ProgrammingConfig(scheme=scheme))))


def test_longer_set_pulse_never_ends_at_a_lower_conductance():
    xbar = _jart(g=1.5e-5)
    with open_session(xbar.netlist) as s:
        start = s.states.copy()
        reached = []
        for width in (2e-9, 5e-9, 10e-9, 20e-9, 40e-9, 80e-9, 160e-9):
            s.set_states(start)
            apply_pulse(s, xbar, PulseSpec(JART.set_amplitude, width))
            reached.append(read_cell(s, xbar, 0, 0))
    assert np.all(np.diff(reached) >= 0), reached
    assert reached[-1] > 2 * reached[0]  # and the pulses really program


def test_read_out_in_the_array_matches_the_device_table():
    states, table = conductance_table("jart_vcm", JART.v_read)
    xbar = _jart(3, 3, r_wire=2.5)
    chosen = np.array([[0.1, 1.0, 5.0], [20.0, 0.5, 2.0], [8.0, 12.0, 0.02]])
    with open_session(xbar.netlist) as s:
        s.set_states(chosen.ravel())
        g = read_array(s, xbar)
        before = s.states.copy()
        assert read_cell(s, xbar, 1, 0) == pytest.approx(g[1, 0], rel=1e-9)
        np.testing.assert_array_equal(s.states, before)  # reads never move a state
    expected = np.exp(np.interp(np.log(chosen), np.log(states), np.log(table)))
    np.testing.assert_allclose(g, expected, rtol=0.02)  # 2.5 ohm wires against >= 8 kohm cells


@pytest.mark.parametrize("scheme, other", [("V/2", 0.5), ("V/3", 1 / 3)])
def test_row_column_and_array_selections_bias_the_cells(scheme, other):
    xbar = _jart(3, 4, scheme=scheme)
    for selection, index, chosen in (("row", 1, (slice(1, 2), slice(None))), ("column", 2, (slice(None), slice(2, 3))),
                                     ("array", None, (slice(None), slice(None))), ("cell", (2, 3), (2, 3))):
        bias = cell_bias(*selection_voltages(xbar, selection, index, 1.2, scheme))
        mask = np.zeros((3, 4), dtype=bool)
        mask[chosen] = True
        np.testing.assert_allclose(bias[mask], 1.2)
        if (~mask).any():
            assert np.abs(bias[~mask]).max() == pytest.approx(1.2 * other)


def test_write_verify_stops_within_tolerance_or_at_budget_and_says_which():
    xbar = _jart(g=2e-5)
    policy = IncrementalPolicy.for_model("jart_vcm")
    with open_session(xbar.netlist) as s:
        start = s.states.copy()
        done = write_verify(s, xbar, (0, 0), 4e-5, policy, tolerance=0.1, max_pulses=100)
        assert done.converged and done.reason == WITHIN_TOLERANCE
        assert done.rpd <= 0.1 and abs(read_cell(s, xbar, 0, 0) - done.g_final) < 1e-12
        assert done.pulses == len(done.conductances()) - 1 >= 1
        s.set_states(start)
        spent = write_verify(s, xbar, (0, 0), 8e-5, policy, tolerance=0.001, max_pulses=2)
        assert not spent.converged and spent.reason == BUDGET and spent.pulses == 2
        assert spent.pulse_time == pytest.approx(2 * JART.step)


def test_bad_programming_input_is_a_clear_error_and_leaves_the_states_untouched():
    xbar = _jart(2, 2, g=3e-5)
    policy = IncrementalPolicy.for_model("jart_vcm")
    with open_session(xbar.netlist) as s:
        before, step = s.states.copy(), s.step
        bad = [
            (lambda: write_verify(s, xbar, (0, 0), 5e-4, policy), "target", "outside"),
            (lambda: write_verify(s, xbar, (0, 0), 1e-8, policy), "target", "outside"),
            (lambda: apply_pulse(s, xbar, PulseSpec(1.3, -10e-9), "cell", (0, 0)), "pulse.width", "-1e-08"),
            (lambda: apply_pulse(s, xbar, PulseSpec(2.0, 10e-9), "cell", (0, 0)), "pulse.amplitude", "safe range"),
            (lambda: apply_pulse(s, xbar, PulseSpec(-1.6, 10e-9), "row", 1), "pulse.amplitude", "safe range"),
            (lambda: apply_pulse(s, xbar, PulseSpec(1.3, 10e-9), "cell", (2, 0)), "row", "0..1"),
            (lambda: hold(s, xbar, 1.3, -1e-9, "cell", (0, 0)), "duration", ">"),
            (lambda: write_verify(s, xbar, (0, 0), 5e-5, policy, tolerance=0.0), "tolerance", ">"),
        ]
        for call, field, words in bad:
            with pytest.raises(ConfigError, match=words) as err:
                call()
            assert err.value.field == field
            np.testing.assert_array_equal(s.states, before)
            assert s.step == step  # no analysis ran


def test_variation_is_drawn_from_its_seed_and_walks_every_interval():
    config = ParameterVariationConfig(seed=5).for_model("jart_vcm")
    nominal = nominal_parameters("jart_vcm", list(config.spreads))
    assert nominal["nmax"] == 20.0 and nominal["nmin"] == 0.008
    a = Variation(config, ["N1", "N2"], nominal)
    b = Variation(config, ["N1", "N2"], nominal)
    np.testing.assert_array_equal(a.values(), b.values())
    first = a.values()
    assert not np.allclose(first[0], first[1])  # device-to-device offsets differ per device
    a.advance(10)
    b.advance(10)
    np.testing.assert_array_equal(a.values(), b.values())
    assert not np.array_equal(a.values(), first) and a.steps == 10
    k = a.names.index
    assert np.all(a.values()[:, k("nmax")] <= 20.0) and np.all(a.values()[:, k("nmin")] >= 0.008)
    off = Variation(ParameterVariationConfig.off(), ["N1"], nominal)
    assert not off.active
    with pytest.raises(ConfigError, match="variation.spreads.rfil"):
        ParameterVariationConfig(spreads={"rfil": {"d2d": 0.1, "c2d": 0.1}})


def test_pulse_with_variation_runs_in_10_ns_windows_and_is_reproducible():
    xbar = _jart(g=2e-5)
    nominal = nominal_parameters("jart_vcm", list(ParameterVariationConfig().for_model("jart_vcm").spreads))
    reached = []
    with open_session(xbar.netlist) as s:
        start = s.states.copy()
        for seed in (3, 3, 4):
            s.set_states(start)
            v = Variation(ParameterVariationConfig(seed=seed).for_model("jart_vcm"), list(xbar.cells.ravel()), nominal)
            r = apply_pulse(s, xbar, PulseSpec(JART.set_amplitude, 38e-9, 1e-9, 1e-9), variation=v)
            assert r.windows == 4 and v.steps == 4
            reached.append(float(r.after[0, 0]))
    assert reached[0] == reached[1] != reached[2]


def test_read_table_refuses_to_take_ngspice_from_an_open_session():
    from memcosim.errors import MemcosimError

    xbar = _jart(g=2e-5)
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:  # in-process: ngspice is this process's
        with pytest.raises(MemcosimError, match="before opening a session"):
            conductance_table("jart_vcm", JART.v_read, points=7)
        conductance_table("jart_vcm", JART.v_read)  # cached: fine
        assert read_cell(s, xbar, 0, 0) == pytest.approx(2e-5, rel=0.01)  # the session still works


def test_walk_per_pulse_advances_by_the_pulse_intervals_in_one_transient():
    xbar = _jart(g=2e-5)
    nominal = nominal_parameters("jart_vcm", list(ParameterVariationConfig().for_model("jart_vcm").spreads))
    with open_session(xbar.netlist) as s:
        v = Variation(ParameterVariationConfig(seed=3).for_model("jart_vcm"), list(xbar.cells.ravel()), nominal)
        step = s.step
        r = apply_pulse(s, xbar, PulseSpec(JART.set_amplitude, 38e-9, 1e-9, 1e-9), variation=v, walk_within_pulse=False)
        assert r.windows == 1 and s.step == step + 1 and v.steps == 4


def test_walk_advances_per_10_ns_of_pulse_time_over_all_pulses():
    nominal = nominal_parameters("jart_vcm", list(ParameterVariationConfig().for_model("jart_vcm").spreads))
    v = Variation(ParameterVariationConfig(seed=1).for_model("jart_vcm"), ["N1"], nominal)
    times = []
    for duration in (4e-9, 4e-9, 4e-9, 25e-9):
        times.append(v.walk_times(duration))
        v.pass_time(duration)
    assert times[:2] == [[0.0], []]
    np.testing.assert_allclose(times[2], [2e-9])
    np.testing.assert_allclose(times[3], [8e-9, 18e-9])
    xbar = _jart(g=2e-5)
    with open_session(xbar.netlist) as s:
        w = Variation(ParameterVariationConfig(seed=3).for_model("jart_vcm"), list(xbar.cells.ravel()), nominal)
        windows = [apply_pulse(s, xbar, PulseSpec(JART.set_amplitude, 2e-9, 0.2e-9, 0.2e-9), variation=w).windows
                   for _ in range(10)]  # 24 ns of pulse time: the walk moves at 0, 10 and 20 ns
        assert w.steps == 3 and sum(windows) == 12 and w.elapsed == pytest.approx(24e-9)


def test_ir_drop_compensation_puts_the_amplitude_across_the_cell():
    from memcosim.programming.pulses import cell_voltage, compensate_ir_drop

    xbar = _jart(8, 8, g=8e-5, r_wire=10.0)
    with open_session(xbar.netlist) as s:
        before = s.states.copy()
        plain = cell_voltage(s, xbar, (0, 7), *xbar.write_voltages(0, 7, None, 1.35))
        assert plain < 1.33  # the far cell loses part of the write voltage in the wires
        line = compensate_ir_drop(s, xbar, (0, 7), 1.35)
        assert 1.35 < line <= 1.75
        assert cell_voltage(s, xbar, (0, 7), *xbar.write_voltages(0, 7, None, line)) == pytest.approx(1.35, abs=0.005)
        np.testing.assert_array_equal(s.states, before)  # operating points only
        r = apply_pulse(s, xbar, PulseSpec(1.35, 10e-9), "cell", (0, 7), compensate=True)
        assert r.line_amplitude == pytest.approx(line)
        with pytest.raises(ConfigError, match="single-cell"):
            apply_pulse(s, xbar, PulseSpec(1.35, 10e-9), "row", 0, compensate=True)
    # RESET: the half-selected cells conduct more in this polarity, so the far cell needs a boost beyond 0.4 V
    xbar = _jart(8, 8, g=8e-5, r_wire=25.0)
    with open_session(xbar.netlist) as s:
        assert cell_voltage(s, xbar, (0, 7), *xbar.write_voltages(0, 7, None, -1.05)) > -0.8
        line = compensate_ir_drop(s, xbar, (0, 7), -1.05)
        assert line < -1.45
        assert cell_voltage(s, xbar, (0, 7), *xbar.write_voltages(0, 7, None, line)) == pytest.approx(-1.05, abs=0.005)
