"""Few-shot meta-learning on chip: the twin's update matches the circuit's, adaptation in ngspice learns, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from memcosim.errors import ConfigError
from memcosim.trainers.config import RunConfig
from memcosim.trainers.crossbar_config import MetaConfig, SgdConfig
from memcosim.trainers.datasets import Dataset, load_dataset
from memcosim.trainers.meta import (CrossbarTwin, TaskSampler, adapt_on_chip, initial_twin, reptile, run_meta,
                                    zero_head)
from memcosim.trainers.sgd import SGDTrainer, cross_entropy


def tiny(**meta) -> RunConfig:
    meta = dict(dict(ways=2, shots=3, queries=2, train_classes=[0, 1, 2], test_classes=[3, 4], updates=2,
                     iterations=6, test_tasks=2, pretrain_epochs=1), **meta)
    return RunConfig(train=dict(algorithm="meta", dataset="digits", update="pulse", progress=False, seed=1),
                     sgd=dict(hidden=4, adc_fill=1.0), meta=meta)


def support_trainer(cfg: RunConfig):
    m = cfg.meta
    d = load_dataset("digits", 0.2, 1)
    task = TaskSampler(d.x_train, d.y_train, m.test_classes, m.ways, m.shots, m.queries).sample(np.random.default_rng(0))
    return SGDTrainer(cfg, Dataset("s", task.x_support, task.y_support, task.x_query, task.y_query, m.ways)), task


@pytest.mark.slow
def test_adaptation_in_ngspice_lowers_the_support_loss_and_the_twin_moves_like_the_circuit():
    """Pulse updates on the support set (ngspice) lower its loss; the twin, given the circuit's weights and its
    measured coincidence step, predicts the circuit's weight change of one update."""
    cfg = tiny()
    tr, task = support_trainer(cfg)
    with tr:
        w = [layer.weights() for layer in tr.circuit.layers]
        twin = CrossbarTwin(torch.from_numpy(w[0]), torch.from_numpy(w[1]), cfg.sgd,
                            tuple(layer.output_step for layer in tr.circuit.layers))
        twin.manhattan(task.x_support, task.y_support, tr.dw)
        states = tr.circuit.states
        before = np.mean(cross_entropy(tr.predict(task.x_support), task.y_support))
        b, a, pulses = adapt_on_chip(tr, states, task, 1)
        moved = [layer.weights() - w0 for layer, w0 in zip(tr.circuit.layers, w)]
        predicted = [tw.numpy() - w0 for tw, w0 in zip(twin.w, w)]
        for _ in range(3):
            tr.circuit.session.forget_solution()
            tr.train_batch(task.x_support, task.y_support)
        after = np.mean(cross_entropy(tr.predict(task.x_support), task.y_support))
    assert pulses > 0
    assert after < before
    for m_, p_ in zip(moved, predicted):  # mostly the same cells move the same way (the circuit's reads differ from
        big = np.abs(p_) > 0              # the twin's by IR drop and rounding, so a few selections differ)
        assert big.any()
        assert np.mean(np.sign(m_[big]) == np.sign(p_[big])) > 0.75
        assert np.abs(m_[~big]).max() <= 1.5 * abs(tr.dw[0])


def test_reptile_resumes_exactly_from_its_checkpoint():
    """Meta-training stopped at a checkpoint and continued from it (weights, iteration, RNG state) ends with the
    same initialization as an uninterrupted run; the output layer stays at 0."""
    cfg = tiny()
    m = cfg.meta
    d = load_dataset("digits", 0.2, 1)
    sampler = TaskSampler(d.x_train, d.y_train, m.train_classes, m.ways, m.shots, m.queries)
    start = initial_twin(SgdConfig(hidden=4), 64, 2, 0)
    dw = (0.01, -0.01)
    full = reptile(start.copy(), sampler, m, dw, 0, np.random.default_rng(5), progress=False)
    saved = {}
    rng = np.random.default_rng(5)

    def keep(it: int, net: CrossbarTwin) -> None:
        saved.setdefault(it, (net.copy(), dict(rng.bit_generator.state)))

    reptile(start.copy(), sampler, m, dw, 0, rng, keep, progress=False, every=3)
    net, state = saved[3]
    resumed_rng = np.random.default_rng()
    resumed_rng.bit_generator.state = state
    resumed = reptile(net, sampler, m, dw, 3, resumed_rng, progress=False)
    assert np.array_equal(resumed.w[0].numpy(), full.w[0].numpy())
    assert not np.array_equal(full.w[0].numpy(), start.w[0].numpy())
    assert not np.any(full.w[1].numpy())


@pytest.mark.slow
def test_run_meta_writes_every_task_and_resumes_without_redoing_them(tmp_path):
    cfg = tiny()
    summary = run_meta(cfg, tmp_path, progress=False, log=lambda s: None)
    rows = json.loads((tmp_path / "tasks.json").read_text())
    assert {(r["task"], r["init"]) for r in rows} == {(k, n) for k in range(2)
                                                       for n in ("reptile", "pretrained")}
    assert all(r["cell_pulses"] > 0 for r in rows)
    assert set(summary) >= {"reptile", "pretrained", "gain_over_pretrained_points"}
    assert (tmp_path / "tasks.csv").read_text().count("\n") == 5
    assert set(summary["twin_after"]) == {"reptile", "pretrained", "pretrained_zero_head"}
    (tmp_path / "tasks.json").write_text(json.dumps(rows[:3]))  # as if stopped after three rows
    again = run_meta(tiny(), tmp_path, progress=False, log=lambda s: None)
    redone = json.loads((tmp_path / "tasks.json").read_text())
    assert redone == rows  # the same results for the rows done again (same seeds, same device states)
    assert again == summary


def test_bad_meta_settings_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"meta\.test_classes.*class 4 is also a training class"):
        MetaConfig(train_classes=[0, 1, 2, 3, 4], test_classes=[4, 5, 6, 7, 8])
    with pytest.raises(ConfigError, match=r"meta\.updates"):
        MetaConfig(updates=6)
    with pytest.raises(ConfigError, match=r"meta\.train_classes.*at least meta\.ways = 5"):
        MetaConfig(train_classes=[0, 1])
    with pytest.raises(ConfigError, match=r"meta\.test_classes.*no class 12"):
        run_meta(tiny(test_classes=[3, 12]), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # refused before anything is written
