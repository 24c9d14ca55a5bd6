"""Crossbar layers in ngspice: forward reads vs V x G, weight mapping, pulses, several layers in one session."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.config.array import DeviceConfig
from memcosim.config.periphery import AdcConfig, DacConfig, TiaConfig
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig, Slot, SlotTiming, layer_config_from_dict
from memcosim.errors import ConfigError
from memcosim.programming.pulses import apply_layer_pulse

IDEAL = dict(device=DeviceConfig("vteam"), adc=AdcConfig(bits=16), tia=TiaConfig(gain=1e9, r_feedback=0.0),
             dac=DacConfig(bits=12, r_out=0.0))


@pytest.fixture(scope="module")
def circuit():
    layers = [CrossbarLayerConfig(6, 3, init_spread=0.8, seed=1, **IDEAL),
              CrossbarLayerConfig(4, 2, init_spread=0.5, seed=2, mapping="high", **IDEAL)]
    with CrossbarCircuit(layers) as c:
        yield c


def test_forward_read_agrees_with_ideal_v_times_g(circuit):
    layer = circuit.layers[0]
    x = np.random.default_rng(0).uniform(0, 1, (4, 6))
    r = layer.forward(x)
    v = layer.dac_voltages(r.dac_codes)  # volts on the rows
    i_ideal = v @ layer.conductances()  # amperes into each column: wires 0, ideal periphery
    assert r.currents.shape == (4, 6) and r.adc_codes.shape == (4, 6)
    assert np.max(np.abs(r.currents - i_ideal)) <= 1e-6 * np.max(np.abs(i_ideal))
    # the digital outputs (from 16-bit ADC codes) are W^T x in weight units
    expected = layer.ideal_outputs(x)
    assert np.max(np.abs(r.outputs - expected)) < 2e-3 * np.max(np.abs(expected)) + 1e-3
    assert np.allclose(expected, (v / layer.config.device.v_read) @ layer.weights(), rtol=1e-9, atol=1e-12)


def test_weights_round_trip_through_conductance_pairs(circuit):
    for layer in circuit.layers:
        w = np.random.default_rng(3).uniform(-0.9, 0.9, layer.shape)
        layer.write_weights(w)
        g = layer.conductances()
        c = layer.config
        assert np.all(g >= c.device.g_min * (1 - 1e-9)) and np.all(g <= c.device.g_max * (1 + 1e-9))
        assert np.allclose(layer.weights(), w, atol=1e-6)
    high = circuit.layers[1]
    assert np.allclose(high.conductances().max(axis=None), high.config.device.g_max, rtol=1e-6)  # high mapping: one device at g_max


def test_in_array_read_sees_the_written_conductances(circuit):
    layer = circuit.layers[0]
    layer.write_weights(np.full(layer.shape, 0.3))
    measured = layer.read_conductances()  # one op per row at v_read through DAC and TIA virtual ground
    assert np.allclose(measured, layer.conductances(), rtol=1e-4)


def test_pulse_slots_move_conductances_the_requested_way(circuit):
    layer = circuit.layers[0]
    layer.write_weights(np.zeros(layer.shape))
    g0 = layer.conductances()
    rows = np.array([1, 1, 0, 0, 0, 0], bool)
    up, down = np.zeros(6, bool), np.zeros(6, bool)
    up[0], down[3] = True, True
    r = circuit.pulse_slots([Slot(0.8, {0: (rows, up)}), Slot(-0.8, {0: (rows, down)})],
                            SlotTiming(10e-9))
    g = layer.conductances()
    assert r.slots == 2 and r.cell_pulses == 4 and r.energy > 0
    assert {"programming_drivers", "dac", "tia", "row_drivers", "array"} == set(r.groups)
    assert r.groups["programming_drivers"] > 0 and r.energy == pytest.approx(sum(r.groups.values()))
    assert np.all(g[:2, 0] > g0[:2, 0]) and np.all(g[:2, 3] < g0[:2, 3])
    untouched = np.ones_like(g, bool)
    untouched[:2, [0, 3]] = False
    assert np.allclose(g[untouched], g0[untouched], rtol=1e-9)  # half-selected cells see 0.4 V < threshold
    # SET of the + device of output 0 and RESET of the - device of output 1 both raise the weight
    assert np.all(layer.weights()[:2, 0] > 0) and np.all(layer.weights()[:2, 1] > 0)
    # the project's programming path on one cell: a RESET pulse lowers the selected conductance
    before = layer.conductances()[5, 5]
    res = apply_layer_pulse(layer, -0.8, 10e-9, "cell", (5, 5))
    assert layer.conductances()[5, 5] < before and res.delta[5, 5] != 0


def test_device_states_round_trip_for_checkpoints(circuit):
    saved = circuit.states
    assert saved.size == 6 * 6 + 4 * 4
    circuit.layers[1].write_weights(np.full((4, 2), -0.4))
    assert not np.array_equal(circuit.states, saved)
    circuit.set_states(saved)
    assert np.array_equal(circuit.states, saved)
    with pytest.raises(ConfigError, match="device_states"):
        circuit.set_states(saved[:-1])
    assert np.array_equal(circuit.states, saved)


def test_bad_input_names_the_field(circuit):
    layer = circuit.layers[0]
    with pytest.raises(ConfigError, match="^x: layer 0 has 6 inputs"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ConfigError, match="^x: input \\[0, 2\\] is nan"):
        layer.forward(np.array([[0, 0, np.nan, 0, 0, 0]]))
    with pytest.raises(ConfigError, match="^weights:"):
        layer.write_weights(np.zeros((3, 6)))
    with pytest.raises(ConfigError, match="^conductances: cell"):
        layer.write_conductances(np.full((6, 6), 1.0))
    with pytest.raises(ConfigError, match="slots\\[0\\].select\\[0\\]"):
        circuit.pulse_slots([Slot(0.8, {0: (np.ones(5, bool), np.ones(6, bool))})])
    with pytest.raises(ConfigError, match="^layer.inputs"):
        CrossbarLayerConfig(0, 3)
    with pytest.raises(ConfigError, match="^device.g_max"):
        CrossbarLayerConfig(4, 2, DeviceConfig("vteam", g_min=5e-5, g_max=2e-5))
    with pytest.raises(ConfigError, match="^layer.device.g_max"):
        layer_config_from_dict({"inputs": 4, "outputs": 2, "device": {"g_min": 5e-5, "g_max": 2e-5}})
    with pytest.raises(ConfigError, match="^layer.scheme"):
        CrossbarLayerConfig(4, 2, scheme="ground")
    with pytest.raises(ConfigError, match="^layer.bogus"):
        layer_config_from_dict({"inputs": 4, "outputs": 2, "bogus": 1})
