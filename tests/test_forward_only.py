"""Forward-only learning with reset-only updates on stanford_pku arrays, ngspice in the loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memcosim.errors import ConfigError
from memcosim.trainers.backprop_baseline import backprop_baseline
from memcosim.trainers.config import RunConfig, run_config_from_dict
from memcosim.trainers.crossbar_config import ForwardOnlyConfig
from memcosim.trainers.forward_only import ForwardOnlyTrainer


def tiny(rule: str = "ff", update: str = "pulse", epochs: int = 2, checkpoint: str = "", **fo) -> RunConfig:
    """Digits 0 vs 1, 8 training samples, hidden 4."""
    return RunConfig(train=dict(dataset="digits", classes=[0, 1], train_limit=8, test_limit=4, epochs=epochs,
                                batch_size=4, update=update, algorithm="forward_only", seed=5, progress=False,
                                checkpoint=checkpoint),
                     forward_only=dict(hidden=4, rule=rule, units_per_class=2, compare_every=1, **fo))


@pytest.mark.slow
def test_reset_only_never_increases_a_conductance_and_energy_is_measured():
    with ForwardOnlyTrainer(tiny(epochs=2)) as tr:
        g0 = [layer.conductances() for layer in tr.circuit.layers]
        high = tr.circuit.layers[0].config.device.g_max
        assert all(np.all(g >= 0.9 * high) for g in g0)  # arrays initialised high
        tr.fit(log=None)
        c = tr.counters
        assert c["reset_pulses"] > 0 and c["transients"] > 0
        assert c["conductance_increases"] == 0
        for layer, g in zip(tr.circuit.layers, g0):
            assert np.all(layer.conductances() <= g * (1 + 1e-12))
        assert np.any(tr.circuit.layers[0].conductances() < g0[0])
        assert c["energy"] > 0 and c["compared_energy_reset_only"] > 0
        assert c["compared_energy_set_reset"] > c["compared_energy_reset_only"]  # SET at 1.2 V costs more
        # the update energy counts every supply group of the circuit, not only the programming drivers
        groups = {k[len("energy_"):]: v for k, v in c.items() if k.startswith("energy_")}
        assert set(groups) == set(tr.circuit.supply_groups) >= {"programming_drivers", "tia", "dac"}
        assert c["energy"] == pytest.approx(sum(groups.values()))
        assert groups["programming_drivers"] > 0 and groups["tia"] > 0


@pytest.mark.slow
def test_competitive_rule_reduces_the_loss():
    with ForwardOnlyTrainer(tiny("competitive", epochs=3)) as tr:
        d = tr.dataset
        before, _ = tr.evaluate(d.x_train, d.y_train)
        tr.fit(log=None)
        after, _ = tr.evaluate(d.x_train, d.y_train)
        assert after < before


@pytest.mark.slow
def test_mnist_run_file_settings_learn_on_a_tiny_version():
    """The competitive MNIST run file's circuit (pooled digits, 1e-5 S window, 0.25 ohm wires, per-layer RESET pulses),
    shrunk: MNIST 0 vs 1 at 7x7, hidden 4, 8 training digits; the training loss falls."""
    from memcosim.trainers.config import load_run_config

    cfg = load_run_config(Path(__file__).resolve().parent.parent / "configs" / "forward_only_mnist_competitive.toml")
    t, s = cfg.train, cfg.forward_only
    t.classes, t.pool, t.train_limit, t.test_limit, t.epochs, t.batch_size, t.progress = [0, 1], 4, 8, 2, 3, 4, False
    s.hidden, s.units_per_class = 4, 2
    with ForwardOnlyTrainer(cfg) as tr:
        d = tr.dataset
        assert d.n_features == 49 and tr.circuit.layers[0].config.wires.r_row == 0.25
        before, _ = tr.evaluate(d.x_train, d.y_train)
        g0 = tr.circuit.layers[0].conductances()
        tr.fit(log=None)
        after, _ = tr.evaluate(d.x_train, d.y_train)
        assert after < before
        assert tr.counters["reset_pulses"] > 0 and tr.counters["conductance_increases"] == 0
        assert np.all(tr.circuit.layers[0].conductances() <= g0 * (1 + 1e-12))


def test_ideal_mode_lowers_conductances_by_the_measured_step():
    with ForwardOnlyTrainer(tiny(update="ideal", epochs=1)) as tr:
        assert 0 < tr.step < 0.2
        g0 = tr.circuit.layers[0].conductances()
        tr.fit(log=None)
        g1 = tr.circuit.layers[0].conductances()
        assert np.all(g1 <= g0 * (1 + 1e-12)) and np.any(g1 < g0)


@pytest.mark.slow
def test_interrupted_and_resumed_run_ends_with_the_same_device_states(tmp_path):
    ckpt = tmp_path / "fo.npz"
    with ForwardOnlyTrainer(tiny()) as tr:
        tr.fit(log=None)
        straight, history = tr.circuit.states, tr.history
    with ForwardOnlyTrainer(tiny(checkpoint=str(ckpt))) as tr:
        tr.fit(epochs=1, log=None)
    with ForwardOnlyTrainer(tiny(checkpoint=str(ckpt))) as tr:
        tr.fit(resume=ckpt, log=None)
        # equal up to the solver's rounding: half-selected cells below stanford_pku's field threshold
        # hold their gap exactly, and the resumed run's fresh ngspice session then ends the selected
        # cells' pulses within ~3e-12 relative of the uninterrupted session
        np.testing.assert_allclose(tr.circuit.states, straight, rtol=1e-10, atol=0)
        assert tr.history[-1]["reset_pulses"] == history[-1]["reset_pulses"]


def test_bad_input_names_the_field():
    for key, value in (("reset", {"amplitude": -1.2}), ("reset", {"amplitude": 0.3}), ("rule", "bp"), ("hidden", 0), ("selection", "all"),
                       ("label_scale", 2.0), ("label_repeat", 0), ("margin", -0.1), ("bogus", 1),
                       ("negative", "worst"), ("gate", "both"), ("normalize", "yes")):
        with pytest.raises(ConfigError, match=f"^forward_only.{key}"):
            run_config_from_dict({"train": {"algorithm": "forward_only"}, "forward_only": {key: value}})
    cfg = tiny("competitive")
    cfg.forward_only.hidden = 5
    with pytest.raises(ConfigError, match="^forward_only.hidden: the competitive rule"):
        ForwardOnlyTrainer(cfg)
    cfg = tiny()
    cfg.forward_only.n_classes = 4
    with pytest.raises(ConfigError, match="^forward_only.n_classes: the network has 4 outputs"):
        ForwardOnlyTrainer(cfg)


def test_margin_gate_label_repeat_and_one_slot_per_pass():
    with ForwardOnlyTrainer(tiny("competitive", margin=0.1, selection="threshold", d_threshold=0.1)) as tr:
        h_clear = np.array([0.9, 0.9, 0.0, 0.0])  # class 0 leads class 1 by 0.81 > margin: no pulse
        h_close = np.array([0.3, 0.3, 0.25, 0.25])  # leads by 0.0275 < margin: both groups pulsed
        x0 = np.ones((1, tr.circuit.layers[0].config.inputs))
        x1 = np.ones((1, 5))
        assert tr.updates_for(x0, h_clear[None], x1, h_clear[None], 0) == []
        ups = tr.updates_for(x0, h_close[None], x1, h_close[None], 0)
        assert [u[1] for u in ups] == [0, 1]  # both layers, one pass
        direction = ups[0][4]
        assert list(direction) == [1, 1, -1, -1]  # true group up (RESET of -), rival down (RESET of +)
        groups = tr.slot_groups([(0, *u) for u in ups] + [(1, *ups[0])])
        assert [len(g) for g in groups] == [2, 1]  # the two layers of a pass share one slot
    with ForwardOnlyTrainer(tiny("ff", label_repeat=3)) as tr:
        n = tr.dataset.n_features
        assert tr.circuit.layers[0].config.inputs == n + 2 * 3 + 1
        x = tr.embed(tr.dataset.x_train[:2], np.array([1, 0]))
        assert np.array_equal(x[:, n:-1], [[0, 1] * 3, [1, 0] * 3]) and np.all(x[:, -1] == 1)


def test_ff_options_load_from_toml_and_hardest_negative_with_total_gate():
    from memcosim.trainers.config import run_config_from_text

    cfg = run_config_from_text('[train]\nalgorithm = "forward_only"\n[forward_only]\nrule = "ff"\nnegative = "hardest"\n'
                               'gate = "total"\nnormalize = false\n', "ff.toml")
    s = cfg.forward_only
    assert (s.negative, s.gate, s.normalize) == ("hardest", "total", False)
    assert (ForwardOnlyConfig().negative, ForwardOnlyConfig().gate, ForwardOnlyConfig().normalize) == \
        ("random", "layer", True)
    with ForwardOnlyTrainer(tiny("ff", margin=0.1, negative="hardest", gate="total", selection="threshold",
                                 d_threshold=0.1)) as tr:
        x0 = np.ones((2, tr.circuit.layers[0].config.inputs))
        x1 = np.ones((2, 5))
        # layer 0 separates the passes by 0.25 - 0.04 = 0.21, layer 1 is 0.15 the wrong way: the layers' own
        # margins would update only layer 1, the summed margin (0.06 < 0.1) updates both, each in both passes
        h0 = np.array([[0.5] * 4, [0.2] * 4])
        h1 = np.array([[0.1] * 4, [0.4] * 4])
        ups = tr.updates_for(x0, h0, x1, h1, 0)
        assert sorted((u[0], u[1]) for u in ups) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        tr.s.gate = "layer"
        assert sorted((u[0], u[1]) for u in tr.updates_for(x0, h0, x1, h1, 0)) == [(0, 1), (1, 1)]
        tr.s.gate = "total"
        h1 = np.array([[0.1] * 4, [0.0] * 4])  # summed margin 0.22 > 0.1: no pulse at all
        assert tr.updates_for(x0, h0, x1, h1, 0) == []
        # training reads every label and scores them all (no -inf for unread labels); no update passes the gate
        tr.s.margin, tr.s.min_error = 0.0, 10.0
        loss, correct = tr.train_batch(tr.dataset.x_train[:2], tr.dataset.y_train[:2])
        assert np.isfinite(loss) and tr.circuit.reads == 2 * 2 * tr.n_classes  # 2 digits x 2 labels x 2 layers
        assert tr.counters["transients"] == 0


@pytest.mark.slow
def test_ff_hardest_negative_reduces_the_loss_in_ngspice():
    """FF with the hardest wrong label as the negative and the summed-goodness gate, reset-only pulses in
    ngspice: the training loss falls (digits 0 vs 1, hidden 4)."""
    with ForwardOnlyTrainer(tiny("ff", epochs=3, negative="hardest", gate="total", margin=0.05,
                                 energy_compare=False)) as tr:
        d = tr.dataset
        before, _ = tr.evaluate(d.x_train, d.y_train)
        tr.fit(log=None)
        after, _ = tr.evaluate(d.x_train, d.y_train)
        assert after < before
        assert tr.counters["reset_pulses"] > 0 and tr.counters["conductance_increases"] == 0


def test_backprop_baseline_learns():
    from memcosim.trainers.datasets import load_dataset

    rows = backprop_baseline(load_dataset("digits", 0.2, 0, [0, 1]), hidden=4, epochs=2)
    assert len(rows) == 2 and rows[-1]["test_acc"] > 0.9


def _with_dac_v_min(text: str, v_min: float) -> str:
    """A stored run config with ``[forward_only.dac] v_min`` written out, as checkpoints of earlier versions had."""
    assert text.count("[forward_only.dac]\n") == 1
    return text.replace("[forward_only.dac]\n", f"[forward_only.dac]\nv_min = {v_min}\n")


def test_a_stored_config_with_the_default_range_written_out_still_loads():
    """Checkpoints written before set ranges were told apart from defaults stored `v_min = 0.0`: a run file
    that sets it is refused (the layer sets the range), the same text stored in a checkpoint loads as unset."""
    from memcosim import fields
    from memcosim.trainers.config import run_config_from_text, run_config_to_toml, stored_run_config

    text = run_config_to_toml(tiny())
    assert "v_min" not in text
    old = _with_dac_v_min(text, 0.0)
    with pytest.raises(ConfigError, match=r"^forward_only.dac.v_min: cannot take effect"):
        run_config_from_text(old)
    stored = stored_run_config(old)
    assert fields.unset(stored.forward_only.dac, "v_min") and stored.forward_only == tiny().forward_only
    with pytest.raises(ConfigError, match=r"^forward_only.dac.v_min: cannot take effect"):
        stored_run_config(_with_dac_v_min(text, 0.05))
    with pytest.raises(ConfigError, match=r"^forward_only.dac.v_min: cannot take effect"):
        run_config_from_text(old)  # the leniency ends with the stored config


@pytest.mark.slow
def test_a_checkpoint_that_stored_the_default_range_resumes(tmp_path):
    import json

    ckpt = tmp_path / "fo.npz"
    with ForwardOnlyTrainer(tiny(epochs=1, checkpoint=str(ckpt))) as tr:
        tr.fit(log=None)
        states = tr.circuit.states
    with np.load(ckpt, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta["config"] = _with_dac_v_min(meta["config"], 0.0)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(ckpt, **arrays)
    with ForwardOnlyTrainer(tiny(epochs=1, checkpoint=str(ckpt))) as tr:
        tr.load_checkpoint(ckpt)
        np.testing.assert_array_equal(tr.circuit.states, states)
