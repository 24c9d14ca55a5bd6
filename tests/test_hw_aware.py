"""Hardware-aware torch layers: quantization levels, ADC, faults (rate and seed), training determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig
from memcosim.errors import ConfigError
from memcosim.devices.presets import get_preset
from memcosim.hardware_aware.deploy import ArraySettings, hardware_for, install_fault_maps, plan_tiles, tile_faults
from memcosim.hardware_aware.model import HardwareConfig, HwLinear, HwNetwork, adc_quantize, fake_quantize, fault_masks
from memcosim.hardware_aware.train import TrainSettings, accuracy, train_network


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 6])
def test_fake_quantization_gives_exactly_the_configured_levels(bits):
    hw = HardwareConfig(weight_bits=bits, device=DeviceConfig("resistor", g_min=1e-6, g_max=2e-5))
    layer = HwLinear(64, 40, hw, init_seed=3)
    g = layer.conductances()  # (2, outputs, inputs) siemens
    levels = np.unique(np.round(g / 1e-12))  # picosiemens, exact grid values
    assert len(levels) == hw.levels == 2 ** bits
    grid = hw.device.g_min + np.arange(hw.levels) / (hw.levels - 1) * (hw.device.g_max - hw.device.g_min)
    assert np.allclose(np.unique(g), grid, rtol=1e-6, atol=0)  # float32 window units
    # one device of each pair sits at g_min: signed weights take at most 2L - 1 values
    w = (g[0] - g[1]) / (hw.device.g_max - hw.device.g_min)
    assert len(np.unique(np.round(w, 9))) <= 2 * hw.levels - 1
    assert np.all(np.minimum(g[0], g[1]) == hw.device.g_min)


def test_fake_quantize_straight_through_gradient_and_clamp():
    u = torch.tensor([-0.3, 0.1, 0.49, 0.51, 1.4], requires_grad=True)
    q = fake_quantize(u, 3)
    assert q.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    q.sum().backward()
    assert u.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # clamped ends pass no gradient
    with pytest.raises(ConfigError, match="levels"):
        fake_quantize(u, 1)


@pytest.mark.parametrize("bits", [2, 4, 6])
def test_adc_quantize_levels_and_clamping(bits):
    s = torch.linspace(-0.5, 2.5, 5001)
    q = adc_quantize(s, 2.0, bits)  # full scale: column sum 2.0
    assert len(torch.unique(q)) <= 2 ** bits
    assert float(q.max()) == pytest.approx(2.0)  # clamped at full scale
    assert float(q.min()) >= -0.02 * 2.0 - 1e-6  # and at the range's bottom (2 % headroom)
    inside = (s > 0.1) & (s < 1.9)
    lsb = 2.0 * 1.02 / (2 ** bits - 1)
    assert torch.all(torch.abs(q[inside] - s[inside]) <= lsb / 2 + 1e-6)


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.3])
def test_fault_masks_hit_the_rate_and_repeat_from_the_seed(rate):
    shape = (2, 100, 200)
    on, off = fault_masks(shape, rate, 0.5, seed=11)
    n = np.prod(shape)
    faulty = (on | off).mean()
    sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs(faulty - rate) < 4 * sigma
    assert not np.any(on & off)
    assert abs(on.sum() / max((on | off).sum(), 1) - 0.5) < 0.05
    on2, off2 = fault_masks(shape, rate, 0.5, seed=11)
    assert np.array_equal(on, on2) and np.array_equal(off, off2)
    on3, _ = fault_masks(shape, rate, 0.5, seed=12)
    assert not np.array_equal(on, on3)


def test_stuck_devices_take_the_stuck_conductance():
    hw = HardwareConfig(fault_rate=0.2, seed=5, device=DeviceConfig("resistor", g_min=1e-6, g_max=2e-5))
    layer = HwLinear(30, 20, hw)
    g = layer.conductances()
    on, off = layer.stuck_on.numpy(), layer.stuck_off.numpy()
    assert on.any() and off.any()
    assert np.allclose(g[on], 2e-5) and np.allclose(g[off], 1e-6)
    # a device model's stuck devices sit at its state bounds, outside the programming window, as deployed
    arrays = ArraySettings(size=16, device=DeviceConfig("vteam"))
    hw = hardware_for(arrays, fault_rate=0.2, seed=5)
    preset = get_preset("vteam")
    assert (hw.g_stuck_off, hw.g_stuck_on) == (preset.g_min, preset.g_max) == arrays.window()[2:]
    assert hw.device.g_max == preset.g_high
    layer = HwLinear(30, 20, hw)
    g = layer.conductances()
    assert np.allclose(g[layer.stuck_on.numpy()], preset.g_max) and np.allclose(g[layer.stuck_off.numpy()], preset.g_min)


@pytest.mark.parametrize("rate", [0.05, 0.2])
def test_circuit_fault_maps_in_torch_hit_the_rate_and_match_the_netlist(rate):
    """The deployed arrays' stuck-at maps (circuit fault injection) installed in the torch layers."""
    arrays = ArraySettings(size=16, wires=WireConfig.uniform(1.0))
    hw = HardwareConfig(fault_rate=rate, tile_rows=16)
    net = HwNetwork([64, 32, 10], hw)
    tiles = plan_tiles(net.sizes, 16, seed=9)
    counts = install_fault_maps(net, tiles, arrays)
    devices = sum(2 * layer.inputs * layer.outputs for layer in net.layers)
    frac = (counts["stuck_on"] + counts["stuck_off"]) / devices
    assert abs(frac - rate) < 4 * math.sqrt(rate * (1 - rate) / devices)
    again = HwNetwork([64, 32, 10], hw)
    assert install_fault_maps(again, plan_tiles(again.sizes, 16, seed=9), arrays) == counts
    for a, b in zip(net.layers, again.layers):
        assert torch.equal(a.stuck_on, b.stuck_on) and torch.equal(a.stuck_off, b.stuck_off)
    # the same map as the netlist generator draws for that tile's array
    t = tiles[0]
    n_out = t.outputs.stop - t.outputs.start
    xb = build_crossbar(ArrayConfig(16, 2 * n_out, conductance=1e-5, differential=True,
                                    faults=tile_faults(t, hw, arrays)), check=False)
    layer = net.layers[0]
    assert np.array_equal(xb.faults.stuck_on[:, 0::2].T, layer.stuck_on[0, t.outputs, t.inputs].numpy())
    assert np.array_equal(xb.faults.stuck_off[:, 1::2].T, layer.stuck_off[1, t.outputs, t.inputs].numpy())


def test_tiles_cover_the_layer_once():
    tiles = plan_tiles([64, 32, 10], 16, seed=0)
    assert len(tiles) == 4 * 4 + 2 * 2  # 8 pairs per array: layer 0 4 row x 4 column tiles, layer 1 2 x 2
    cover = np.zeros((32, 64), dtype=int)
    for t in (t for t in tiles if t.layer == 0):
        cover[t.outputs, t.inputs] += 1
    assert np.all(cover == 1)
    assert len({t.seed for t in tiles}) == len(tiles)


def test_hardware_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="hardware.device.g_min"):
        HardwareConfig(device=DeviceConfig("resistor"))
    with pytest.raises(ConfigError, match="device.g_max"):
        HardwareConfig(device=DeviceConfig("resistor", g_min=1e-5, g_max=1e-6))
    with pytest.raises(ConfigError, match="hardware.weight_bits"):
        HardwareConfig(weight_bits=2.5)
    with pytest.raises(ConfigError, match="hardware.fault_rate"):
        HardwareConfig(fault_rate=1.5)
    with pytest.raises(ConfigError, match="network.hidden"):
        TrainSettings(hidden=4)
    with pytest.raises(ConfigError, match="method"):
        train_network(TrainSettings(dataset="iris", epochs=1), HardwareConfig(), "magic")


def test_training_is_deterministic_and_hardware_aware_learns_iris():
    settings = TrainSettings(dataset="iris", hidden=[6], epochs=30, hw_epochs=10, batch_size=16, lr=0.02)
    hw = HardwareConfig(weight_bits=3, adc=AdcConfig(bits=5), variation=0.05, fault_rate=0.05, tile_rows=8, seed=2)
    a = train_network(settings, hw, "hw_aware")
    b = train_network(settings, hw, "hw_aware")
    for p, q in zip(a.network.state_dict().values(), b.network.state_dict().values()):
        assert torch.equal(p, q)
    assert a.hardware_model_accuracy >= 0.8
    assert [h["phase"] for h in a.history].count("hw_aware") == 10
    plain = train_network(settings, hw, "plain")
    assert plain.software_accuracy >= 0.85
    data = settings.load()
    assert accuracy(plain.network, data.x_test, data.y_test, False) == plain.software_accuracy


def test_random_fault_maps_during_training_are_redrawn_per_batch_and_the_deployed_map_restored():
    settings = TrainSettings(dataset="iris", hidden=[4], epochs=5, hw_epochs=2, batch_size=32, fault_map="random")
    hw = HardwareConfig(fault_rate=0.2, tile_rows=8, seed=4)
    r = train_network(settings, hw, "hw_aware")
    ref = HwLinear(4, 4, hw, layer=0)
    assert torch.equal(r.network.layers[0].stuck_on, ref.stuck_on)  # the deployed map (from hw.seed) at the end
    layer = HwLinear(40, 40, hw)
    g = torch.Generator()
    g.manual_seed(0)
    layer.draw_faults(g)
    first = layer.stuck_on.clone()
    layer.draw_faults(g)
    assert not torch.equal(first, layer.stuck_on)
    assert abs(float((layer.stuck_on | layer.stuck_off).float().mean()) - 0.2) < 0.03
