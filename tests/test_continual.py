"""Continual learning on chip: task sequences with pulse SGD in ngspice, the forgetting matrix, resume, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.errors import ConfigError, MemcosimError
from memcosim.trainers.config import RunConfig, load_run_config
from memcosim.trainers.continual import ContinualTrainer, final_mean_error, forgetting_matrix, sequence_scores
from memcosim.trainers.crossbar_config import ContinualConfig


def tiny(method: str = "naive", checkpoint: str = "", epochs_per_task: int = 1, hidden: int = 3, train_limit: int = 24,
         seen_classes_only: bool = False, **train) -> RunConfig:
    """Digits 0, 1 then 2, 3 (one head of 4 outputs), a 64-``hidden``-4 network, ``train_limit`` training samples."""
    train = dict(dict(update="pulse", lr=0.05), **train)
    return RunConfig(train=dict(dataset="digits", classes=[0, 1, 2, 3], train_limit=train_limit, test_limit=16,
                                epochs=2 * epochs_per_task, batch_size=4, algorithm="continual",
                                seed=3, progress=False, checkpoint=checkpoint, **train),
                     sgd=dict(hidden=hidden, adc_fill=1.0),
                     continual=dict(tasks=[[0, 1], [2, 3]], method=method, epochs_per_task=epochs_per_task,
                                    replay_per_class=2, seen_classes_only=seen_classes_only))


def test_each_method_trains_on_its_own_samples():
    """naive: the task's classes only; joint: every task's; replay: the task's plus the buffer of earlier classes,
    each buffered sample repeated so an old class weighs as much per epoch as a new one."""
    cfgs = {m: tiny(m, update="ideal") for m in ("naive", "joint", "replay")}
    trainers = {m: ContinualTrainer(c) for m, c in cfgs.items()}
    try:
        y = trainers["naive"].dataset.y_train
        assert set(y[trainers["naive"].epoch_indices(0)]) == {0, 1}
        assert set(y[trainers["naive"].epoch_indices(1)]) == {2, 3}
        assert set(y[trainers["joint"].epoch_indices(1)]) == {0, 1, 2, 3}
        r = trainers["replay"]
        second = y[r.epoch_indices(1)]
        assert set(second) == {0, 1, 2, 3}
        new_per_class = np.sum(np.isin(y, [2, 3])) / 2
        for c in (0, 1):  # two kept samples of each old class, repeated to the new classes' count
            kept = r.buffer[c]
            assert kept.size == 2 and set(y[kept]) == {c}
            assert np.sum(second == c) == max(int(np.ceil(new_per_class)), 2)
            assert set(r.epoch_indices(1)[second == c]) == set(kept)
        assert np.array_equal(r.epoch_indices(0), trainers["naive"].epoch_indices(0))
    finally:
        for t in trainers.values():
            t.close()


def test_seen_classes_only_leaves_later_classes_out_of_the_output_error():
    """With seen_classes_only, the softmax of task 1 covers classes 0, 1 only (the outputs of 2, 3 get error 0,
    so no pulses); from task 2 on every class is seen; joint sees every class from the start."""
    trainers = {m: ContinualTrainer(tiny(m, update="ideal", seen_classes_only=True)) for m in ("naive", "joint")}
    try:
        tr = trainers["naive"]
        assert tr.output_mask().tolist() == [True, True, False, False]
        d = tr.dataset
        first = np.isin(d.y_train, [0, 1])
        *_, d_out = tr.errors(d.x_train[first][:5], d.y_train[first][:5])
        assert np.all(d_out[:, 2:] == 0) and np.all(np.abs(d_out[:, :2]).sum(axis=1) > 0)
        assert set(np.argmax(tr.masked(tr.predict(d.x_test)), axis=1)) <= {0, 1}  # predictions among seen classes
        tr.epoch = 1
        assert tr.output_mask() is None
        assert trainers["joint"].output_mask() is None
    finally:
        for t in trainers.values():
            t.close()
    with ContinualTrainer(tiny("naive", update="ideal")) as tr:
        assert tr.output_mask() is None  # off by default


@pytest.mark.slow
def test_seen_classes_only_pulses_no_later_class_output_and_resumes_exactly(tmp_path):
    """Pulse updates in ngspice with seen_classes_only: task 1 lowers its loss and leaves the output columns of
    the later classes as they were; a sequence stopped after task 1 and resumed ends where an uninterrupted run
    ends (same device states)."""
    ck = tmp_path / "ck.npz"
    with ContinualTrainer(tiny("replay", seen_classes_only=True)) as tr:
        d = tr.dataset
        first = np.isin(d.y_train, [0, 1])
        before, _ = tr.evaluate(d.x_train[first], d.y_train[first])
        w_out = tr.circuit.layers[1].weights()
        tr.fit(epochs=1, log=None)
        after, _ = tr.evaluate(d.x_train[first], d.y_train[first])
        w_now = tr.circuit.layers[1].weights()
        full = tr.fit(log=None)
        states = tr.circuit.states
    assert after < before
    assert not np.allclose(w_now[:, :2], w_out[:, :2])
    np.testing.assert_allclose(w_now[:, 2:], w_out[:, 2:], atol=1e-3)  # only half-select disturb, no coincidence
    with ContinualTrainer(tiny("replay", checkpoint=str(ck), seen_classes_only=True)) as tr:
        tr.fit(epochs=1, log=None)
    with ContinualTrainer(tiny("replay", checkpoint=str(ck), seen_classes_only=True)) as tr:
        resumed = tr.fit(resume=ck, log=None)
        np.testing.assert_array_equal(tr.circuit.states, states)
    assert [r["task2_acc"] for r in resumed] == [r["task2_acc"] for r in full]
    with pytest.raises(MemcosimError, match=r"\[continual\]"):
        with ContinualTrainer(tiny("replay", checkpoint=str(ck))) as tr:
            tr.load_checkpoint(ck)


@pytest.mark.slow
def test_pulse_updates_in_ngspice_lower_the_loss_of_the_current_task():
    cfg = tiny("naive", epochs_per_task=2)
    with ContinualTrainer(cfg) as tr:
        d = tr.dataset
        first = np.isin(d.y_train, [0, 1])
        before, _ = tr.evaluate(d.x_train[first], d.y_train[first])
        h = tr.fit(epochs=2, log=None)
        after, _ = tr.evaluate(d.x_train[first], d.y_train[first])
    assert after < before
    assert tr.counters["cell_pulses"] > 0 and tr.counters["transients"] > 0
    assert [r["task"] for r in h] == [1, 1]


@pytest.mark.slow
def test_naive_sequence_forgets_the_first_task_and_the_matrix_shows_it():
    """Naive training of task 2 (new classes, one head; reads in ngspice, ideal writes for a quick, sure learner)
    takes the first task's accuracy down, and the forgetting matrix records it."""
    cfg = tiny("naive", epochs_per_task=2, hidden=8, train_limit=40, update="ideal")
    with ContinualTrainer(cfg) as tr:
        h = tr.fit(log=None)
    a = forgetting_matrix(h, 2, 2)
    assert [r["task"] for r in h] == [1, 1, 2, 2]
    assert a[0, 0] >= 0.75  # task 1 learned
    assert a[1, 1] >= 0.7  # task 2 learned
    assert a[1, 0] < a[0, 0]  # ... and task 1 forgotten meanwhile
    s = sequence_scores(a)
    assert s["forgetting"] == pytest.approx(a[0, 0] - a[1, 0])
    assert s["final_mean"] == pytest.approx(np.mean(a[1]))


@pytest.mark.slow
def test_interrupted_sequence_resumes_to_the_same_device_states(tmp_path):
    """A replay sequence stopped after the first task and resumed from its checkpoint ends where an
    uninterrupted run ends (same device states, same per-task accuracies)."""
    ck = tmp_path / "ck.npz"
    with ContinualTrainer(tiny("replay")) as tr:
        full = tr.fit(log=None)
        states = tr.circuit.states
    with ContinualTrainer(tiny("replay", checkpoint=str(ck))) as tr:
        tr.fit(epochs=1, log=None)
    with ContinualTrainer(tiny("replay", checkpoint=str(ck))) as tr:
        resumed = tr.fit(resume=ck, log=None)
        np.testing.assert_array_equal(tr.circuit.states, states)
    assert [r["task2_acc"] for r in resumed] == [r["task2_acc"] for r in full]
    with pytest.raises(MemcosimError, match=r"\[continual\]"):
        with ContinualTrainer(tiny("naive", checkpoint=str(ck))) as tr:
            tr.load_checkpoint(ck)


def test_final_mean_error_is_the_binomial_error_of_the_mean_over_tasks():
    a = np.array([[0.9, np.nan], [0.8, 0.5]])
    expected = np.sqrt(0.8 * 0.2 / 100 + 0.5 * 0.5 / 25) / 2
    assert final_mean_error(a, [100, 25]) == pytest.approx(expected)
    assert final_mean_error(np.array([[1.0, 0.0], [1.0, 0.0]]), [10, 10]) == 0.0


def test_bad_task_lists_name_the_field():
    with pytest.raises(ConfigError, match=r"continual\.tasks\[1\].*class 1 .*disjoint"):
        ContinualConfig(tasks=[[0, 1], [1, 2]])
    with pytest.raises(ConfigError, match=r"continual\.tasks\b.*at least two"):
        ContinualConfig(tasks=[[0, 1]])
    with pytest.raises(ConfigError, match=r"continual\.method"):
        ContinualConfig(method="ewc")
    with pytest.raises(ConfigError, match=r"train\.epochs.*needs train\.epochs = 4, got 3"):
        RunConfig(train=dict(algorithm="continual", epochs=3), continual=dict(tasks=[[0], [1]], epochs_per_task=2))
    cfg = tiny()
    cfg.continual = ContinualConfig(tasks=[[0, 1], [2, 7]], epochs_per_task=1)
    with pytest.raises(ConfigError, match=r"continual\.tasks\[1\].*class 7 is not a class"):
        ContinualTrainer(cfg)


def test_shipped_config_loads():
    from pathlib import Path

    cfg = load_run_config(Path(__file__).resolve().parent.parent / "configs" / "continual_digits_replay.toml")
    assert cfg.train.algorithm == "continual" and cfg.continual.method == "replay"
    assert cfg.train.epochs == len(cfg.continual.tasks) * cfg.continual.epochs_per_task
