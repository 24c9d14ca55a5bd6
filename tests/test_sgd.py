"""Pulse-based SGD with ngspice in the loop: learning, exact resume, bad input, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.errors import ConfigError, MemcosimError
from memcosim.trainers.config import RunConfig, load_run_config, run_config_from_dict
from memcosim.trainers.datasets import Dataset
from memcosim.trainers.sgd import SGDTrainer


def tiny(update: str = "pulse", rule: str = "manhattan", epochs: int = 2, checkpoint: str = "", **sgd) -> RunConfig:
    """Digits 0 vs 1, 12 training samples, a 64-3-2 network."""
    return RunConfig(train=dict(dataset="digits", classes=[0, 1], train_limit=12, test_limit=6, epochs=epochs,
                                batch_size=4, update=update, algorithm="sgd", seed=3, progress=False,
                                checkpoint=checkpoint),
                     sgd=dict(hidden=3, rule=rule, bl=3, lr=0.1, **sgd))


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


def test_ideal_mode_reduces_the_loss():
    with SGDTrainer(tiny("ideal", epochs=2)) as tr:
        d = tr.dataset
        before, _ = tr.evaluate(d.x_train, d.y_train)
        tr.fit(log=None)
        assert tr.evaluate(d.x_train, d.y_train)[0] < before
        assert tr.counters["cell_pulses"] == 0


def test_interrupted_and_resumed_run_ends_with_the_same_device_states(tmp_path):
    ckpt = tmp_path / "sgd.npz"
    with SGDTrainer(tiny(rule="stochastic")) as tr:  # stochastic pulses: the RNG must resume too
        tr.fit(log=None)
        straight = tr.circuit.states
        history = tr.history
    with SGDTrainer(tiny(rule="stochastic", checkpoint=str(ckpt))) as tr:
        tr.fit(epochs=1, log=None)
    with SGDTrainer(tiny(rule="stochastic", checkpoint=str(ckpt))) as tr:
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
    for key, value in (("rule", "adam"), ("v_reset", 0.5), ("hidden", 0), ("bl", 0), ("lr", -1.0), ("bogus", 1)):
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
