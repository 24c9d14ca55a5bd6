"""Deployment of trained networks onto ngspice crossbar tiles: the circuit computes what the torch model says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.errors import ConfigError
from memcosim.hardware_aware.deploy import ArraySettings, deploy_network, hardware_for, install_fault_maps, plan_tiles
from memcosim.hardware_aware.train import TrainSettings, train_network

SETTINGS = TrainSettings(dataset="iris", hidden=[4], epochs=25, hw_epochs=5, batch_size=16, lr=0.02)


def _trained(arrays: ArraySettings, method: str = "hw_aware", seed: int = 3, **hw):
    data = SETTINGS.load()
    hwc = hardware_for(arrays, seed=seed, **hw)
    trained = train_network(SETTINGS, hwc, method, data,
                            fault_setup=lambda net: install_fault_maps(net, plan_tiles(net.sizes, arrays.size, seed), arrays))
    return data, trained


def _torch_scores(net, x):
    net.set_hardware(True)
    with torch.no_grad():
        s = net(torch.as_tensor(x, dtype=torch.float32)).numpy()
    net.set_hardware(False)
    return s


@pytest.mark.parametrize("fault_rate", [0.0, 0.25])
def test_ideal_wires_circuit_matches_the_torch_hardware_model(fault_rate):
    """With ideal wires the ngspice read (DAC, array, TIA, ADC codes; stuck cells from the circuit's fault
    injection) gives the torch model's outputs up to an ADC code at rounding boundaries."""
    arrays = ArraySettings(size=4, wires=WireConfig())  # iris 4-4-3: layer 0 one row tile, 2 column tiles
    data, trained = _trained(arrays, weight_bits=3, fault_rate=fault_rate)
    x = data.x_test[:12]
    dep = deploy_network(trained.network, arrays, x, None, seed=3)
    ref = _torch_scores(trained.network, x)
    assert dep.scores.shape == ref.shape == (12, 3)
    assert dep.operating_points == 12 * len(plan_tiles(trained.network.sizes, 4, 3))
    span = np.ptp(ref)
    assert np.median(np.abs(dep.scores - ref)) < 0.02 * span
    assert np.mean(dep.scores.argmax(1) == ref.argmax(1)) >= 11 / 12
    assert dep.current_error < 1e-3  # only the TIA's finite gain


def test_wire_resistance_costs_current_and_bias_correction_is_measured():
    arrays = ArraySettings(size=8, device=DeviceConfig("resistor", g_min=1e-5, g_max=2e-4), wires=WireConfig.uniform(20.0))
    data, trained = _trained(arrays, method="plain")
    dep = deploy_network(trained.network, arrays, data.x_test[:6], data.x_train[:6], seed=3)
    assert dep.current_error > 0.01  # IR drop: the columns see less current than the ideal product
    assert len(dep.bias_corrections) == 2 and np.any(np.abs(dep.bias_corrections[0]) > 0)
    assert dep.netlist_seconds > 0 and dep.simulation_seconds > 0


@pytest.mark.slow
def test_programming_path_writes_the_weights_with_write_verify():
    """vteam devices programmed cell by cell with pulses and verify reads (V/2 scheme)."""
    arrays = ArraySettings(size=4, device=DeviceConfig("vteam"), wires=WireConfig.uniform(0.5), program="write_verify",
                           tolerance=0.1, max_pulses=30)
    data, trained = _trained(arrays, weight_bits=2)
    x = data.x_test[:4]
    dep = deploy_network(trained.network, arrays, x, None, seed=3)
    assert dep.programming_pulses > 0
    assert dep.unconverged_cells <= 2
    ideal = deploy_network(trained.network, ArraySettings(size=4, device=DeviceConfig("vteam"), wires=WireConfig.uniform(0.5)), x, None, seed=3)
    assert np.mean(dep.scores.argmax(1) == ideal.scores.argmax(1)) >= 0.75


def test_array_settings_errors_name_the_field():
    with pytest.raises(ConfigError, match="size"):
        ArraySettings(size=7)
    with pytest.raises(ConfigError, match="program"):
        ArraySettings(program="write_verify")
    with pytest.raises(ConfigError, match="wires.r_row"):
        ArraySettings(wires=WireConfig.uniform(-1.0))


def test_bias_correction_toward_the_hardware_model_is_near_zero_when_the_circuit_matches_it():
    """A hardware-aware network aims at the torch hardware model's outputs (faults included): with ideal wires
    the circuit already gives them, so the measured correction is about one ADC step or less."""
    arrays = ArraySettings(size=4, wires=WireConfig())
    data, trained = _trained(arrays, weight_bits=3, fault_rate=0.25)
    ref = _torch_scores(trained.network, data.x_train[:10])
    dep = deploy_network(trained.network, arrays, data.x_test[:2], data.x_train[:10], seed=3, reference="hardware")
    for delta in dep.bias_corrections:
        assert np.all(np.abs(delta) < 0.02 * np.ptp(ref))
    with pytest.raises(ConfigError, match="reference"):
        deploy_network(trained.network, arrays, data.x_test[:2], None, reference="magic")
