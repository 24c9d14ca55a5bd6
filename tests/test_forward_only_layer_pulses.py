"""Per-layer programming pulses of the forward-only network: ``[[forward_only.layer_reset]]`` /
``[[forward_only.layer_set]]`` parse and validate, and each layer's amplitude and width reach its slots
(tiny stanford_pku layers, real ngspice)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.config.array import DeviceConfig
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig, Slot, SlotTiming
from memcosim.errors import ConfigError
from memcosim.trainers.config import load_run_config, run_config_from_dict
from memcosim.trainers.crossbar_config import ForwardOnlyConfig
from memcosim.trainers.forward_only import ForwardOnlyTrainer

TWO = [{"amplitude": -0.95, "width": 2e-6, "rise": 5e-9}, {"amplitude": -0.83, "width": 1e-6, "rise": 5e-9}]


def _run(**fo) -> dict:
    """A forward-only run table with 2 us SET and RESET pulses and the given extra ``[forward_only]`` keys."""
    return {"train": {"algorithm": "forward_only"},
            "forward_only": {"reset": {"amplitude": -0.83, "width": 2e-6, "rise": 5e-9},
                             "set": {"amplitude": 1.2, "width": 2e-6, "rise": 5e-9}, **fo}}


def test_layer_pulses_load_from_toml(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("""[train]
algorithm = "forward_only"
[forward_only.reset]
amplitude = -0.83
width = 2e-6
rise = 5e-9
[forward_only.set]
amplitude = 1.2
width = 2e-6
rise = 5e-9
[[forward_only.layer_reset]]
amplitude = -0.95
width = 2e-6
rise = 5e-9
[[forward_only.layer_reset]]
amplitude = -0.83
width = 1e-6
rise = 5e-9
[[forward_only.layer_set]]
amplitude = 1.2
width = 2e-6
rise = 5e-9
[[forward_only.layer_set]]
amplitude = 1.1
width = 1e-6
rise = 5e-9
""")
    s = load_run_config(path).forward_only
    assert [p.amplitude for p in s.layer_reset] == [-0.95, -0.83]
    assert s.reset_of(0).amplitude == -0.95 and s.reset_of(1).width == 1e-6 and s.set_of(1).amplitude == 1.1
    assert s.slot_width == 2e-6
    plain = ForwardOnlyConfig()
    assert plain.reset_of(1) is plain.reset and plain.set_of(0) is plain.set and plain.slot_width == plain.reset.width


def test_bad_layer_pulses_name_the_field():
    bad = {
        r"^forward_only\.layer_reset: must be empty or two": {"layer_reset": TWO[:1]},
        r"^forward_only\.layer_reset\[0\]\.amplitude: a sub-1 V RESET": {"layer_reset": [{**TWO[0], "amplitude": -1.1}, TWO[1]]},
        r"^forward_only\.layer_reset\[1\]\.amplitude: a sub-1 V RESET": {"layer_reset": [TWO[0], {**TWO[1], "amplitude": 0.5}]},
        r"^forward_only\.layer_reset\[1\]\.rise: the layers' pulses share": {"layer_reset": [TWO[0], {**TWO[1], "rise": 1e-9}]},
        r"^forward_only\.layer_set\[0\]\.amplitude: a SET pulse must be > 0": {
            "layer_reset": TWO, "layer_set": [{**TWO[0], "amplitude": -0.2}, {**TWO[1], "amplitude": 1.2}]},
        r"^forward_only\.layer_set\[1\]\.width: layer 1's SET and RESET": {
            "layer_reset": TWO, "layer_set": [{**TWO[0], "amplitude": 1.2}, {**TWO[1], "amplitude": 1.2, "width": 2e-6}]},
        r"^forward_only\.layer_reset\[1\]\.width: layer 1's SET and RESET": {"layer_reset": TWO},
    }
    for match, fo in bad.items():
        with pytest.raises(ConfigError, match=match):
            run_config_from_dict(_run(**fo))
    with pytest.raises(ConfigError, match=r"^pulse\.widths\[1\]: must be <="):
        SlotTiming(1e-6, 5e-9, 5e-9, widths={1: 2e-6})


def _pair() -> list[CrossbarLayerConfig]:
    return [CrossbarLayerConfig(3, 1, DeviceConfig("stanford_pku", g_min=1e-6, g_max=2.5e-5), mapping="high",
                                pulse=PulseConfig(1.2, 100e-9, 5e-9), seed=k) for k in range(2)]


def _drop(slot_amplitudes: dict, timing: SlotTiming) -> list[float]:
    """Relative decrease of cell (1, 0) of each of two identical layers after one slot on it in both layers."""
    with CrossbarCircuit(_pair()) as circuit:
        rows, cols = np.array([False, True, False]), np.array([True, False])
        g0 = [layer.conductances()[1, 0] for layer in circuit.layers]
        r = circuit.pulse_slots([Slot(-0.9, {0: (rows, cols), 1: (rows, cols)}, amplitudes=slot_amplitudes)], timing)
        assert r.cell_pulses == 2
        return [1.0 - layer.conductances()[1, 0] / g for layer, g in zip(circuit.layers, g0)]


@pytest.mark.slow
def test_each_layer_gets_its_own_amplitude_and_width_in_a_shared_slot():
    timing = SlotTiming(200e-9, 5e-9, 5e-9)
    same = _drop({}, timing)
    assert same[0] > 1e-3 and same[1] == pytest.approx(same[0], rel=0.05)
    lower = _drop({1: -0.75}, timing)  # the second layer at a smaller RESET amplitude
    assert lower[0] == pytest.approx(same[0], rel=1e-3) and lower[1] < 0.5 * same[1]
    shorter = _drop({}, SlotTiming(200e-9, 5e-9, 5e-9, widths={1: 40e-9}))  # the second layer's pulse 5x shorter
    assert shorter[0] == pytest.approx(same[0], rel=1e-3) and shorter[1] < 0.5 * same[1]


@pytest.mark.slow
def test_the_trainer_puts_each_layers_pulse_in_its_slots():
    cfg = run_config_from_dict({
        "train": {"algorithm": "forward_only", "dataset": "digits", "classes": [0, 1], "train_limit": 4,
                  "test_limit": 2, "epochs": 1, "batch_size": 2, "seed": 1, "progress": False},
        "forward_only": {"rule": "competitive", "hidden": 2, "units_per_class": 1, "energy_compare": False,
                         "reset": {"amplitude": -0.83, "width": 100e-9, "rise": 5e-9},
                         "set": {"amplitude": 1.2, "width": 100e-9, "rise": 5e-9},
                         "layer_reset": [{"amplitude": -0.9, "width": 200e-9, "rise": 5e-9},
                                         {"amplitude": -0.7, "width": 50e-9, "rise": 5e-9}],
                         "layer_set": [{"amplitude": 1.2, "width": 200e-9, "rise": 5e-9},
                                       {"amplitude": 1.1, "width": 50e-9, "rise": 5e-9}]}})
    with ForwardOnlyTrainer(cfg) as tr:
        assert tr.timing.width == 200e-9 and tr.timing.widths == {0: 200e-9, 1: 50e-9}
        sel = {k: (np.ones(layer.config.inputs, bool), np.ones(layer.config.columns, bool))
               for k, layer in enumerate(tr.circuit.layers)}
        assert tr.slot("reset", sel).amplitudes == {0: -0.9, 1: -0.7}
        assert tr.slot("set", {1: sel[1]}).amplitude_of(1) == 1.1
        g0 = [layer.conductances() for layer in tr.circuit.layers]
        tr.circuit.pulse_slots([tr.slot("reset", sel)], tr.timing)
        drop = [float(np.median(1 - layer.conductances() / g)) for layer, g in zip(tr.circuit.layers, g0)]
        assert drop[0] > 5 * drop[1] > 0  # -0.9 V x 200 ns against -0.7 V x 50 ns


def test_revive_pushes_silent_units_of_the_positive_group_up():
    cfg = run_config_from_dict({
        "train": {"algorithm": "forward_only", "dataset": "digits", "classes": [0, 1], "train_limit": 4,
                  "test_limit": 2, "seed": 1, "progress": False},
        "forward_only": {"rule": "competitive", "hidden": 4, "units_per_class": 2, "energy_compare": False,
                         "margin": 0.1, "selection": "threshold", "d_threshold": 0.01}})
    h = np.array([[0.5, -0.2, 0.3, -0.1]])  # class 0 (units 0, 1) leads class 1 by 0.08 < margin: both updated
    with ForwardOnlyTrainer(cfg) as tr:
        x0 = np.ones((1, tr.circuit.layers[0].config.inputs))
        x1 = np.ones((1, 5))
        off = tr.updates_for(x0, h, x1, h, 0)[0][4]
        assert list(off) == [1, 0, -1, 0]  # silent unit 1 of the true class gets no pulse
        tr.s.revive = 0.1
        on = tr.updates_for(x0, h, x1, h, 0)[0][4]
        assert list(on) == [1, 1, -1, 0]  # now pushed up; the silent rival unit 3 stays untouched
    with pytest.raises(ConfigError, match=r"^forward_only\.revive"):
        run_config_from_dict(_run(revive=1.5))
