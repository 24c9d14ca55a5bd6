"""memcosim.nn.pulse: on-chip pulse SGD of a converted model (real ngspice on tiny tiles) and the shared rule."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import DacConfig
from memcosim.config.pulse import PulseConfig
from memcosim.config.toml import ConfigWarning
from memcosim.cosim.tiles import TileSettings
from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError
from memcosim.hardware_aware.deploy import ArraySettings
from memcosim.nn.convert import calibrate, close, convert_to_circuit, program
from memcosim.nn.pulse import PulseSGD, PulseSgdSettings, tile_slots
from memcosim.trainers import pulse_rule

VTEAM = get_preset("vteam")
# a window above the preset's bottom, where a 0.59 V SET pulse still moves the conductance
ARRAYS = ArraySettings(size=8, device=DeviceConfig("vteam", {"iv": 1, "wtype": 3},
                                                   g_min=VTEAM.g_low + 0.15 * (VTEAM.g_high - VTEAM.g_low),
                                                   g_max=VTEAM.g_high),
                       wires=WireConfig.uniform(2.5), dac=DacConfig(bits=8, r_out=1.0))
SETTINGS = PulseSgdSettings(set=PulseConfig(0.62, 10e-9, 1e-9), reset=PulseConfig(-0.62, 10e-9, 1e-9),
                            x_threshold=0.3, bias_lr=0.02)


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 10, generator=g)
    return x, (x[:, :5].sum(1) > x[:, 5:].sum(1)).long()


def programmed(x: torch.Tensor) -> nn.Module:
    """A 10-6-2 model on 8x8 tiles (layer 0: 2 row tiles x 2 column tiles), calibrated and programmed."""
    torch.manual_seed(0)
    model = convert_to_circuit(nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 2)), ARRAYS)
    calibrate(model, x)
    program(model, tiles=TileSettings(workers=0))
    return model


def test_manhattan_rule_selects_rows_and_pairs():
    c = pulse_rule.manhattan(np.array([0.9, 0.1, 0.6]), np.array([-0.7, 0.9, 0.1]), 0.5, 0.3)
    assert c.rows.tolist() == [True, False, True]
    # output 0 goes up (SET +, RESET -), output 1 down (SET -, RESET +), output 2 below the threshold
    assert c.set_columns.tolist() == [True, False, False, True, False, False]
    assert c.reset_columns.tolist() == [False, True, True, False, False, False]
    assert pulse_rule.manhattan(np.ones(3), np.zeros(3), 0.5, 0.3) is None


def test_slots_are_cut_into_the_tiles_rows_and_column_pairs():
    x, _ = data()
    model = programmed(x)
    try:
        layer = model[0]  # 10 inputs x 6 outputs on 8x8 tiles: row tiles 0..7 / 8..9, pairs 0..3 / 4..5
        rows = np.zeros(10, bool)
        rows[[1, 9]] = True
        c = pulse_rule.Coincidence(rows, *pulse_rule.pair_columns(np.eye(6, dtype=bool)[5], np.eye(6, dtype=bool)[0]))
        slots = tile_slots(layer, [c], SETTINGS)
        assert sorted(slots) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        set_slot, reset_slot = slots[(1, 1)]
        tile_rows, tile_cols = set_slot.select[0]
        assert np.flatnonzero(tile_rows).tolist() == [1] and np.flatnonzero(tile_cols).tolist() == [2]
        assert set_slot.amplitude > 0 > reset_slot.amplitude
        assert np.flatnonzero(reset_slot.select[0][1]).tolist() == [3]
        assert np.flatnonzero(slots[(0, 0)][0].select[0][1]).tolist() == [1]  # output 0 down: SET its minus device
    finally:
        close(model)


def test_refuses_resistor_cells_and_unprogrammed_models():
    torch.manual_seed(0)
    model = convert_to_circuit(nn.Sequential(nn.Linear(4, 2)), ArraySettings(size=8))
    with pytest.raises(ConfigError, match="program the model"):
        PulseSGD(model)
    with pytest.raises(ConfigError, match="set.amplitude"):
        PulseSgdSettings(set=PulseConfig(-0.5, 10e-9, 1e-9))
    with pytest.raises(ConfigError, match="pulse_sgd.reset.width"):  # both slots share one width
        PulseSgdSettings(reset=PulseConfig(-0.59, 20e-9, 1e-9))


@pytest.mark.slow
def test_pulse_sgd_in_ngspice_lowers_the_loss_and_resumes_to_the_same_result(tmp_path):
    x, y = data()
    model = programmed(x)
    try:
        trainer = PulseSGD(model, SETTINGS)
        first = trainer.step(x, y)
        assert first.slots > 0 and first.cell_pulses > 0 and first.written == len(x)
        for _ in range(2):
            trainer.step(x, y)
        ckpt = trainer.save(tmp_path / "pulse.npz", extra={"epoch": 0})
        later = [trainer.step(x, y) for _ in range(2)]
        weights = [layer.weight.detach().clone() for layer in trainer.layers]
        biases = [layer.bias.detach().clone() for layer in trainer.layers]
        assert later[-1].loss < first.loss  # the loss of the circuit's forward falls under pulse updates
    finally:
        close(model)
    resumed_model = programmed(x)
    try:
        resumed = PulseSGD(resumed_model, SETTINGS)
        assert resumed.load(ckpt) == {"epoch": 0}
        again = [resumed.step(x, y) for _ in range(2)]
        assert [r.loss for r in again] == [r.loss for r in later]
        for layer, w, b in zip(resumed.layers, weights, biases):
            assert torch.equal(layer.weight.detach(), w) and torch.equal(layer.bias.detach(), b)
        with pytest.raises(ConfigError, match="other pulse-SGD settings"):
            PulseSGD(resumed_model, PulseSgdSettings()).load(ckpt)
    finally:
        close(resumed_model)


def test_run_config_names_the_bad_key_and_line(tmp_path):
    from memcosim.nn.pulse import load_pulse_run
    path = tmp_path / "run.toml"
    path.write_text('hidden = 8\n\n[pulse_sgd]\nx_threshold = 2.0\n')
    with pytest.raises(ConfigError) as info:
        load_pulse_run(path)
    assert info.value.field.startswith("pulse_sgd.x_threshold") and "line 4" in str(info.value)
    path.write_text('[arrays]\ndevice = { model = "resistor", params = {}, g_min = 1e-6, g_max = 2e-5 }\n')
    with pytest.raises(ConfigError, match="cannot be pulsed"):
        load_pulse_run(path)
    # the old flat array keys are read into [arrays], each with a warning naming the old key and its line
    path.write_text('size = 32\nwire_ohm = 1.5\ndac_bits = 6\ndac_r_out = 0.5\nadc_bits = 5\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = load_pulse_run(path)
    assert [w.category for w in caught] == [ConfigWarning] * 5 and "`wire_ohm` was renamed" in str(caught[1].message)
    a = run.arrays
    assert (a.size, a.wires.r_row, a.wires.r_column, a.dac.bits, a.dac.r_out, a.adc.bits) == (32, 1.5, 1.5, 6, 0.5, 5)
