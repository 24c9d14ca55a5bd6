"""Pulse-based SGD with ngspice in the loop: learning, exact resume, bad input, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.errors import ConfigError, MemcosimError
from memcosim.trainers.config import RunConfig, load_run_config, run_config_from_dict
from memcosim.trainers.datasets import Dataset
from memcosim.trainers.sgd import DRIFT_WARNING, SGDTrainer


def tiny(update: str = "pulse", rule: str = "manhattan", epochs: int = 2, checkpoint: str = "", **sgd) -> RunConfig:
    """Digits 0 vs 1, 12 training samples, a 64-3-2 network. ADC full scale at every row of the 4-row
    output array on at g_max (adc_fill 1): at 0.25, the bias row plus 3 saturated hidden units clip it."""
    sgd.setdefault("adc_fill", 1.0)
    return RunConfig(train=dict(dataset="digits", classes=[0, 1], train_limit=12, test_limit=6, epochs=epochs,
                                batch_size=4, update=update, algorithm="sgd", seed=3, progress=False,
                                checkpoint=checkpoint),
                     sgd=dict(hidden=3, rule=rule, bl=3, lr=0.1, **sgd))


@pytest.mark.slow
def test_training_with_ngspice_in_the_loop_reduces_the_loss():
    with SGDTrainer(tiny(epochs=3)) as tr:
        d = tr.dataset
        before, _ = tr.evaluate(d.x_train, d.y_train)
        tr.fit(log=None)
        after, acc = tr.evaluate(d.x_train, d.y_train)
        assert after < before
        assert tr.counters["cell_pulses"] > 0 and tr.counters["transients"] > 0 and tr.counters["energy"] > 0
        assert tr.counters["transients"] <= 3 * 3  # at most one transient per batch
        assert tr.dw[0] > 0 > tr.dw[1]  # calibrated weight change of one coincidence, up and down


@pytest.mark.slow
def test_default_device_keeps_pairs_balanced_while_the_biolek_window_sinks_them():
    """Issue 5's pulse-SGD gap: with vteam's Biolek window (wtype=2) a RESET step is ~3x a SET step at
    mid-window, so every up-and-down cycle lowers both devices of a pair (weights and steps shrink)."""
    with SGDTrainer(tiny()) as tr:
        assert abs(tr.drift) < DRIFT_WARNING / 4
        assert tr.dw[0] > 0 > tr.dw[1] and abs(tr.dw[0] + tr.dw[1]) < 0.05 * tr.dw[0]  # up and down steps match
    with pytest.warns(UserWarning, match="^sgd.device.params: one up-and-down cycle changes a pair's G\\+ \\+ G- by -"):
        with SGDTrainer(tiny(device={"model": "vteam", "params": {"iv": 1}}, set={"amplitude": 0.6}, reset={"amplitude": -0.6})) as tr:
            assert tr.drift < -2 * DRIFT_WARNING


@pytest.mark.parametrize("rule", ["manhattan", pytest.param("stochastic", marks=pytest.mark.slow)])
def test_pulses_move_only_the_selected_devices_in_the_asked_direction(rule):
    """Every device a slot selects moves the way its slots ask (SET up, RESET down); half-selected and
    unselected devices stay put (no sign error, no wrong column of a pair, no V/2 disturb). The
    stochastic batch (24 slots, lines of ~100 breakpoints: longer than one 1,024-character ngspice
    command, which once cut the tail off and held lines at pulse levels) runs as ONE transient."""
    with SGDTrainer(tiny(rule=rule)) as tr:
        d = tr.dataset
        x, y = d.x_train[:4], d.y_train[:4]
        xa, aa, _, d_hid, d_out = tr.errors(x, y)
        slots = tr.batch_slots(xa, aa, d_hid, d_out)
        ups = [np.zeros(layer.config.inputs * layer.config.columns).reshape(layer.config.inputs, -1)
               for layer in tr.circuit.layers]
        downs = [u.copy() for u in ups]
        for slot in slots:
            for k, (rows, cols) in slot.select.items():
                (ups if slot.amplitude > 0 else downs)[k] += np.outer(rows, cols)
        if rule == "stochastic":  # more slots than one ngspice command can carry as a line waveform
            assert len(slots) == 4 * 2 * 3
        before = [layer.conductances() for layer in tr.circuit.layers]
        tr.run_slots(slots)
        step = abs(tr.dw[0]) * tr.circuit.layers[0].config.k / 2  # one device's conductance step, siemens
        for k, layer in enumerate(tr.circuit.layers):
            dg = layer.conductances() - before[k]
            up, down = ups[k] > 0, downs[k] > 0
            assert up.any() and down.any()
            assert np.all(dg[up & ~down] > 0.3 * step) and np.all(dg[down & ~up] < -0.3 * step)
            assert np.all(np.abs(dg[~up & ~down]) < 1e-3 * step)


def test_step_decay_anneals_the_step_per_epoch_and_is_validated(tmp_path):
    """Manhattan: each selected column fires with probability step_decay**epoch (seeded draws);
    ideal/stochastic: lr * step_decay**epoch. Bad values name sgd.step_decay; the TOML key loads."""
    with SGDTrainer(tiny("ideal", step_decay=0.5, d_threshold=0.0)) as tr:
        x = np.ones(4)
        fired = []
        for epoch in (0, 1, 3):
            tr.epoch = epoch
            assert tr.step_scale() == 0.5 ** epoch
            n = 0
            for _ in range(200):
                set_slot, reset_slot = tr.manhattan_slots([(1, x, np.array([-0.7, 0.9]))])
                n += set_slot.select[1][1].sum() + reset_slot.select[1][1].sum()
            fired.append(n / (200 * 4))  # 2 pairs, each SETs one device and RESETs the other
        assert fired[0] == 1.0
        assert abs(fired[1] - 0.5) < 0.08 and abs(fired[2] - 0.125) < 0.05
        tr.epoch = 2
        w = [layer.weights() for layer in tr.circuit.layers]
        xa, aa = np.ones((1, 65)), np.ones((1, 4))
        d_hid, d_out = np.ones((1, 3)), np.ones((1, 2))
        tr.ideal_update(xa, aa, d_hid, d_out)
        step = w[1] - tr.circuit.layers[1].weights()
        assert np.allclose(step[np.abs(w[1]) < 0.8], 0.1 * 0.25, rtol=0.05, atol=2e-3)  # lr 0.1 x 0.5**2
    for value in (0.0, 1.5, "fast", float("nan")):
        with pytest.raises(ConfigError, match="^sgd.step_decay"):
            run_config_from_dict({"train": {"algorithm": "sgd"}, "sgd": {"step_decay": value}})
    run = tmp_path / "run.toml"
    run.write_text('[train]\nalgorithm = "sgd"\n\n[sgd]\nstep_decay = 0.9\n')
    assert load_run_config(run).sgd.step_decay == 0.9


def test_ideal_mode_reduces_the_loss():
    with SGDTrainer(tiny("ideal", epochs=2)) as tr:
        d = tr.dataset
        before, _ = tr.evaluate(d.x_train, d.y_train)
        tr.fit(log=None)
        assert tr.evaluate(d.x_train, d.y_train)[0] < before
        assert tr.counters["cell_pulses"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("rule, step_decay", [("stochastic", 1.0), ("manhattan", 0.6)])
def test_interrupted_and_resumed_run_ends_with_the_same_device_states(tmp_path, rule, step_decay):
    """Stochastic pulses and annealed Manhattan columns draw from the RNG: it must resume too."""
    ckpt = tmp_path / "sgd.npz"
    with SGDTrainer(tiny(rule=rule, step_decay=step_decay)) as tr:
        tr.fit(log=None)
        straight = tr.circuit.states
        history = tr.history
    with SGDTrainer(tiny(rule=rule, step_decay=step_decay, checkpoint=str(ckpt))) as tr:
        tr.fit(epochs=1, log=None)
    with SGDTrainer(tiny(rule=rule, step_decay=step_decay, checkpoint=str(ckpt))) as tr:
        tr.fit(resume=ckpt, log=None)
        assert np.array_equal(tr.circuit.states, straight)
        assert [r["test_acc"] for r in tr.history] == [r["test_acc"] for r in history]
        assert tr.counters["cell_pulses"] == history[-1]["cell_pulses"]


def test_bad_input_names_the_field_and_keeps_device_states(tmp_path):
    cfg = tiny()
    cfg.sgd.inputs = 60
    with pytest.raises(ConfigError, match="^sgd.inputs: the network has 60 inputs but dataset 'digits' has 64"):
        SGDTrainer(cfg)
    cfg = tiny()
    cfg.sgd.outputs = 10
    with pytest.raises(ConfigError, match="^sgd.outputs"):
        SGDTrainer(cfg)
    with pytest.raises(ConfigError, match="^dataset.x_train: feature \\[0, 1\\]"):
        Dataset("bad", np.array([[0.0, np.inf], [1.0, 0.0]]), np.array([0, 1]), np.zeros((1, 2)), np.array([0]), 2)
    for key, value in (("rule", "adam"), ("reset", {"amplitude": 0.5}), ("hidden", 0), ("bl", 0), ("lr", -1.0), ("bogus", 1)):
        with pytest.raises(ConfigError, match=f"^sgd.{key}"):
            run_config_from_dict({"train": {"algorithm": "sgd"}, "sgd": {key: value}})
    with pytest.raises(ConfigError, match="^train.algorithm"):
        run_config_from_dict({"train": {"algorithm": "backprop"}})
    with SGDTrainer(tiny(epochs=1)) as tr:
        states = tr.circuit.states
        with pytest.raises(MemcosimError, match="no file"):
            tr.fit(resume=tmp_path / "missing.npz", log=None)
        with pytest.raises(ConfigError, match="^x: layer 0 has 65 inputs"):
            tr.predict(np.zeros((1, 10)))
        assert np.array_equal(tr.circuit.states, states)


@pytest.mark.slow
def test_cli_train_selects_sgd_and_writes_csv_and_png(tmp_path, capsys):
    from memcosim.cli import main

    run = tmp_path / "run.toml"
    run.write_text('[train]\nalgorithm = "sgd"\ndataset = "digits"\nclasses = [0, 1]\ntrain_limit = 8\n'
                   'test_limit = 4\nepochs = 1\nupdate = "pulse"\nbatch_size = 4\n\n[sgd]\nhidden = 2\n')
    assert load_run_config(run).sgd.hidden == 2
    out = tmp_path / "out"
    assert main(["train", str(run), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "pulse-based SGD (manhattan rule)" in text and "epoch   1" in text
    csv = (out / "history.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,train_loss,train_acc,test_loss,test_acc") and len(csv) == 2
    assert (out / "learning_curve.png").stat().st_size > 1000
