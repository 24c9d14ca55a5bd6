"""Continual learning on chip: naive, joint and replay over the task sequence of ``configs/continual_digits_replay.toml``.

Each method trains the same ``[sgd]`` network (pulse SGD, ngspice in the loop) over digits 0-2, then 3-5,
then 6-9, with the same seed and split; after every task, the test split of every task is read from the
circuit. ``seen_classes_only`` and ``replay_per_class`` come from the config and apply to every method (joint
sees every class from the start, so the first does not change it). Per method: history (JSON, CSV), learning
curve and forgetting matrix (CSV, PNG) in ``benchmarks/results/continual/<method>/`` and
``forgetting_<method>.csv`` / ``.png`` beside them; all methods side by side in ``forgetting.png`` and the table
``continual`` (final mean accuracy over all tasks with its test-split standard error, forgetting, seconds per
epoch and per task).

``MEMCOSIM_BENCH_CL_METHODS`` (default ``naive,replay,joint``) picks the methods (several processes may run
different methods at once; a later call with the methods already finished only reports them);
``MEMCOSIM_BENCH_CL_TRAIN`` limits the training split (0 = all 1,437 samples). Each run checkpoints after every
epoch and resumes from its checkpoint when called again. ``docs/continual/`` holds the figures of
``MEMCOSIM_BENCH_CL_TRAIN=720 ./run bench continual`` (one method at a time; see ``docs/continual/README.md``
for which run each row comes from).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, report
from memcosim.fileio import atomic_write_text

METHODS = [m for m in os.environ.get("MEMCOSIM_BENCH_CL_METHODS", "naive,replay,joint").split(",") if m]
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_CL_TRAIN", "0"))
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "continual_digits_replay.toml"
OUT = RESULTS / "continual"


def run_method(method: str) -> list[dict]:
    """Train (or resume, or just read back) the sequence with ``method``; the per-epoch history."""
    from memcosim.cli.train import save_training
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.continual import ContinualTrainer

    cfg = load_run_config(CONFIG)
    cfg.continual.method = method
    cfg.train.train_limit = TRAIN
    out = OUT / method
    out.mkdir(parents=True, exist_ok=True)
    cfg.train.checkpoint = str(out / "checkpoint.npz")
    done = out / "history.json"
    if done.is_file():
        history = json.loads(done.read_text())
        if len(history) >= cfg.train.epochs:
            return history
    title = f"continual ({method}) on digits, pulse SGD in ngspice"
    with ContinualTrainer(cfg) as trainer:
        resume = cfg.train.checkpoint if Path(cfg.train.checkpoint).is_file() else None
        history = trainer.fit(resume=resume, log=lambda line: (print(f"[{method}] {line}", flush=True),
                                                               save_training(trainer.history, out, "continual", title, cfg)))
    save_training(history, out, "continual", title, cfg)
    return history


def main() -> None:
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.continual import final_mean_error, forgetting_matrix, sequence_scores
    from memcosim.trainers.continual_report import save_forgetting_csv, save_forgetting_plot
    from memcosim.trainers.datasets import dataset_for

    cfg = load_run_config(CONFIG)
    cfg.train.train_limit = TRAIN
    c = cfg.continual
    y_test = dataset_for(cfg).y_test
    test_counts = [int(np.isin(y_test, task).sum()) for task in c.tasks]
    for method in METHODS:
        run_method(method)
    rows, matrices = [], {}
    for method in ("naive", "replay", "joint"):
        path = OUT / method / "history.json"
        if not path.is_file():
            continue
        history = json.loads(path.read_text())
        if len(history) < cfg.train.epochs:
            continue
        a = forgetting_matrix(history, c.epochs_per_task, len(c.tasks))
        matrices[method] = a
        save_forgetting_csv(a, c.tasks, OUT / f"forgetting_{method}.csv")
        save_forgetting_plot({method: a}, c.tasks, OUT / f"forgetting_{method}.png")
        s = sequence_scores(a)
        seconds = np.array([r["seconds"] for r in history[:cfg.train.epochs]])
        rows.append({"method": method, "final mean acc (%)": 100 * s["final_mean"],
                     "test SE (points)": 100 * final_mean_error(a, test_counts),
                     **{f"task{j + 1} final (%)": 100 * a[-1, j] for j in range(len(c.tasks))},
                     "forgetting (points)": 100 * s["forgetting"],
                     "s per epoch": float(seconds.mean()),
                     "s per task": float(seconds.sum() / len(c.tasks)),
                     "cell pulses": int(history[-1].get("cell_pulses", 0))})
    if matrices:
        save_forgetting_plot(matrices, c.tasks, OUT / "forgetting.png",
                             f"digits {' then '.join(','.join(map(str, t)) for t in c.tasks)}: accuracy per task (%)")
    if rows:
        lines = [",".join(rows[0])] + [",".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r.values())
                                       for r in rows]
        atomic_write_text(OUT / "continual.csv", "\n".join(lines) + "\n")
    report("continual", rows, f"pulse SGD ({cfg.sgd.rule}, hidden {cfg.sgd.hidden}) in ngspice, {c.epochs_per_task} "
           f"epochs per task, replay buffer {c.replay_per_class} per class, training split "
           f"{'all' if not TRAIN else TRAIN} samples, test samples per task {test_counts}, seed {cfg.train.seed}; "
           "test SE: binomial standard error of the final mean from the test split only (one training run per "
           "method: the spread between runs is not in it)")
