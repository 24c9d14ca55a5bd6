"""memcosim.nn: CircuitLinear and convert_to_circuit (torch side here; the ngspice forward below)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from memcosim.config.array import WireConfig
from memcosim.cosim.tiles import TileSettings
from memcosim.errors import ConfigError
from memcosim.hardware_aware.deploy import ArraySettings, hardware_for
from memcosim.nn.convert import calibrate, circuit_layers, convert_to_circuit, set_mode
from memcosim.nn.linear import CircuitLinear


def small_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 6), nn.ReLU(), nn.Sequential(nn.Linear(6, 3, bias=False)))


ARRAYS = ArraySettings(size=8, wires=WireConfig.uniform(2.5))


def test_convert_replaces_every_linear_with_the_same_weights_and_leaves_the_original():
    model = small_model()
    x = torch.rand(5, 12)
    converted = convert_to_circuit(model, ARRAYS)
    layers = circuit_layers(converted)
    assert [(m.in_features, m.out_features, m.layer) for m in layers] == [(12, 6, 0), (6, 3, 1)]
    assert isinstance(model[0], nn.Linear)  # a copy was converted
    assert torch.allclose(converted(x), model(x), atol=1e-6)  # float mode = the torch model
    assert not layers[1].bias.requires_grad and float(layers[1].bias.abs().sum()) == 0.0
    assert layers[0].hw.tile_rows == 8 and layers[0].tiles == 2  # 12 inputs on 8-row arrays


def test_hardware_mode_trains_in_torch_and_matches_the_hardware_model():
    converted = convert_to_circuit(small_model(), ARRAYS)
    x = torch.rand(40, 12)
    calibrate(converted, x)
    set_mode(converted, "hardware")
    converted.eval()
    first = converted[0]
    manual = first.from_column_sums(first.column_sums(first.dac_inputs(x)), first.input_scale)
    assert torch.allclose(converted[0](x), manual)
    converted.train()
    opt = torch.optim.SGD(converted.parameters(), lr=0.01)
    loss = converted(x).pow(2).mean()
    loss.backward()
    assert first.weight.grad is not None and float(first.weight.grad.abs().sum()) > 0
    opt.step()


def test_bad_input_is_refused_before_work():
    with pytest.raises(ConfigError, match="no torch.nn.Linear"):
        convert_to_circuit(nn.Sequential(nn.ReLU()), ARRAYS)
    with pytest.raises(ConfigError, match="tile_rows"):
        convert_to_circuit(small_model(), ARRAYS, hardware_for(ArraySettings(size=16)))
    converted = convert_to_circuit(small_model(), ARRAYS)
    with pytest.raises(ConfigError, match="inputs must be >= 0"):
        calibrate(converted, torch.randn(10, 12))
    with pytest.raises(ConfigError, match="programmed tiles"):
        set_mode(converted, "circuit")
    with pytest.raises(ConfigError, match="has 5 features"):
        converted(torch.rand(2, 5))


@pytest.mark.slow
def test_circuit_forward_in_ngspice_matches_the_hardware_forward():
    """A 12-6 layer on four 8x8 tiles (2.5 ohm wires, resistor cells): ngspice outputs vs the torch hardware model."""
    from memcosim.nn.convert import close, program

    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(12, 6))
    converted = convert_to_circuit(model, ARRAYS)
    x = torch.rand(6, 12)
    calibrate(converted, x)
    set_mode(converted, "hardware")
    converted.eval()
    with torch.no_grad():
        hw = converted(x)
    info = program(converted, tiles=TileSettings(workers=0))  # the tiles in this process, one after another
    set_mode(converted, "circuit")
    with torch.no_grad():
        circ = converted(x)
    close(converted)
    assert info["tiles"] == 4  # 2 row tiles (12 inputs) x 2 column tiles (6 outputs, 4 pairs per array)
    lsb = float(converted[0].adc_full_scale.max()) * (1.02 / 63) * float(converted[0].w_max()) * float(converted[0].input_scale)
    err = (circ - hw).abs().max().item()
    assert err <= 2.5 * lsb, (err, lsb)
    assert float(((circ - hw).abs() < 1e-5).float().mean()) > 0.8  # most outputs are the same ADC codes  # an ADC code or two per tile where IR drop nudges a column over a code edge
    assert np.corrcoef(circ.flatten().numpy(), hw.flatten().numpy())[0, 1] > 0.999


@pytest.mark.slow
def test_two_layers_on_a_worker_pool_with_the_circuit_bias_correction():
    """A 12-6-3 model on 8x8 tiles in a local worker process per layer, with the bias correction measured in the
    circuit: outputs within an ADC code or so of the hardware model's; the float model is untouched."""
    from memcosim.nn.convert import close, cost, program

    converted = convert_to_circuit(small_model(2), ARRAYS)
    x = torch.rand(8, 12)
    calibrate(converted, x)
    set_mode(converted, "hardware")
    converted.eval()
    with torch.no_grad():
        hw = converted(x)
    try:
        program(converted, x, tiles=TileSettings(workers=1))
        set_mode(converted, "circuit")
        with torch.no_grad():
            circ = converted(x)
        spent = cost(converted)
    finally:
        close(converted)
    assert spent["tiles"] == 4 + 1 and spent["operating_points"] == 2 * 8 * 5  # correction pass + this read
    assert float((circ - hw).abs().max()) < 0.02  # an ADC code or so (one code of the last layer is ~0.0075)
    assert all(float(m.circuit_correction.abs().max()) < 0.02 for m in circuit_layers(converted))
    assert [m.mode for m in circuit_layers(converted)] == ["hardware", "hardware"]  # closed: back to torch
    set_mode(converted, "float")
    with torch.no_grad():
        assert torch.allclose(converted(x), small_model(2)(x), atol=1e-6)
