"""Continual learning on the crossbar: a sequence of tasks learned one after another with pulse SGD in ngspice.

The network is the ``[sgd]`` two-layer crossbar network with one output per class of the whole
dataset (one head, class-incremental). Epoch ``e`` trains task ``continual.task_of(e)`` with the
samples :meth:`ContinualTrainer.epoch_data` picks for the ``method`` (naive, joint, replay; see
:class:`~memcosim.trainers.crossbar_config.ContinualConfig`); updates are the ``[sgd]`` pulse (or ideal)
updates. After every epoch the test split of every task is read from the circuit: the history rows
carry ``task`` (1-based) and ``task<k>_acc``, and :func:`forgetting_matrix` turns the rows at the end
of each task into the matrix ``A[i, j]`` = accuracy on task ``j`` after training task ``i``.

Checkpoints and resume are the trainers' own (device states, RNG, position inside an epoch), so a
sequence stopped in any task continues exactly.
"""

from __future__ import annotations

import numpy as np

from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError, MemcosimError
from memcosim.trainers.config import RunConfig, stored_run_config
from memcosim.trainers.crossbar_config import ContinualConfig
from memcosim.trainers.datasets import Dataset
from memcosim.trainers.sgd import SGDTrainer


class ContinualTrainer(SGDTrainer):
    """Pulse SGD over a sequence of tasks (``[sgd]`` network, ``[continual]`` tasks and method)."""

    def __init__(self, config: RunConfig, dataset: Dataset | None = None, options: SessionOptions | None = None):
        if config.continual is None:
            config.continual = ContinualConfig()
        self.c = config.continual
        super().__init__(config, dataset, options)
        d = self.dataset
        for k, task in enumerate(self.c.tasks):
            unknown = [c for c in task if c >= d.n_classes]
            if unknown:
                raise ConfigError(f"continual.tasks[{k}]", f"class {unknown[0]} is not a class of dataset {d.name!r} "
                                  f"(labels 0..{d.n_classes - 1})")
        self.train_index = [np.flatnonzero(np.isin(d.y_train, task)) for task in self.c.tasks]
        self.test_index = [np.flatnonzero(np.isin(d.y_test, task)) for task in self.c.tasks]
        for k, idx in enumerate(self.train_index):
            if idx.size == 0:
                raise ConfigError(f"continual.tasks[{k}]", f"dataset {d.name!r} has no training sample of classes "
                                  f"{self.c.tasks[k]}")
        self.buffer = self._draw_buffer()
        self.task_accuracy: list[float] = []

    def _draw_buffer(self) -> dict[int, np.ndarray]:
        """Training-sample indices kept per class for ``replay`` (at most ``replay_per_class`` each), drawn from a
        generator of its own (seeded by ``train.seed``) so the run's shuffles are those of the other methods."""
        rng = np.random.default_rng([self.config.train.seed, 1])
        y = self.dataset.y_train
        return {c: rng.permutation(np.flatnonzero(y == c))[:self.c.replay_per_class]
                for task in self.c.tasks for c in task}

    # -- what each epoch trains on ----------------------------------------------------------------
    def epoch_indices(self, epoch: int) -> np.ndarray:
        """Training-split indices of epoch ``epoch`` (counted from 0) for the configured method."""
        t = self.c.task_of(epoch)
        if self.c.method == "joint":
            return np.concatenate(self.train_index)
        own = self.train_index[t]
        if self.c.method == "naive" or t == 0:
            return own
        per_class = int(np.ceil(own.size / len(self.c.tasks[t])))
        old = [np.resize(self.buffer[c], max(per_class, self.buffer[c].size))
               for task in self.c.tasks[:t] for c in task if self.buffer[c].size]
        return np.concatenate([own, *old])

    def epoch_data(self) -> tuple[np.ndarray, np.ndarray]:
        idx = self.epoch_indices(self.epoch)
        return self.dataset.x_train[idx], self.dataset.y_train[idx]

    def output_mask(self) -> np.ndarray | None:
        """With ``seen_classes_only``: the outputs of the classes trained so far (every class for ``joint``, the
        tasks up to the current one otherwise); the others get no error and no pulses. None otherwise."""
        if not self.c.seen_classes_only or self.c.method == "joint":
            return None
        seen = [c for task in self.c.tasks[:self.c.task_of(self.epoch) + 1] for c in task]
        if len(seen) == self.dataset.n_classes:
            return None
        mask = np.zeros(self.dataset.n_classes, bool)
        mask[seen] = True
        return mask

    def step_scale(self) -> float:
        """``step_decay ** e`` with ``e`` the epoch counted from the start of the current task."""
        return float(self.s.step_decay ** (self.epoch % self.c.epochs_per_task))

    # -- per-task accuracy --------------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean loss, accuracy) on ``x``, ``y``; on the dataset's test split also the accuracy of every task's
        classes (:attr:`task_accuracy`), from the same reads. With ``seen_classes_only`` the test split's
        predictions are among the classes trained so far (the loss is over every output)."""
        if x is not self.dataset.x_test or len(x) == 0:
            return super().evaluate(x, y)
        self._forget_solution()
        scores = self.predict(x)
        hit = np.argmax(self.masked(scores), axis=1) == y  # with seen_classes_only: among the classes seen so far
        self.task_accuracy = [float(np.mean(hit[idx])) if idx.size else float("nan") for idx in self.test_index]
        return float(np.mean(self.loss(scores, y))), float(np.mean(hit))

    def epoch_extras(self) -> dict:
        row = dict(super().epoch_extras(), task=self.c.task_of(self.epoch - 1) + 1,
                   train_samples=int(self.epoch_indices(self.epoch - 1).size))
        row.update({f"task{k + 1}_acc": a for k, a in enumerate(self.task_accuracy)})
        return row

    def _check_compatible(self, toml_text: str, path) -> None:
        super()._check_compatible(toml_text, path)
        if stored_run_config(toml_text, f"{path} (config)").continual != self.c:
            raise MemcosimError(f"checkpoint: {path} was written for a different [continual] configuration")


def forgetting_matrix(history: list[dict], epochs_per_task: int, tasks: int) -> np.ndarray:
    """``A[i, j]``: accuracy (fraction) on task ``j`` after the last epoch of task ``i`` (NaN where not reached)."""
    a = np.full((tasks, tasks), np.nan)
    for row in history:
        if row["epoch"] % epochs_per_task == 0 and row["epoch"] // epochs_per_task <= tasks:
            i = row["epoch"] // epochs_per_task - 1
            a[i] = [row.get(f"task{j + 1}_acc", np.nan) for j in range(tasks)]
    return a


def sequence_scores(a: np.ndarray) -> dict[str, float]:
    """Summary of a forgetting matrix: ``final_mean`` (mean accuracy over all tasks after the last task),
    ``forgetting`` (mean over the earlier tasks of their best accuracy minus their final one) and
    ``backward_transfer`` (mean final minus just-learned accuracy of the earlier tasks)."""
    t = a.shape[0]
    final = a[-1]
    earlier = range(t - 1)
    return {"final_mean": float(np.mean(final)),
            "forgetting": float(np.mean([np.nanmax(a[:t - 1, j]) - final[j] for j in earlier])),
            "backward_transfer": float(np.mean([final[j] - a[j, j] for j in earlier]))}


def final_mean_error(a: np.ndarray, test_counts: list[int]) -> float:
    """Binomial standard error (fraction) of ``sequence_scores(a)["final_mean"]`` from the test split alone:
    ``sqrt(sum_j p_j (1 - p_j) / n_j) / tasks`` with ``p_j`` the final accuracy on task ``j`` and ``n_j`` its
    test samples. It counts only the sampling of the test split, not the spread between training runs."""
    p = a[-1]
    n = np.asarray(test_counts, dtype=float)
    return float(np.sqrt(np.sum(p * (1 - p) / n)) / len(p))
