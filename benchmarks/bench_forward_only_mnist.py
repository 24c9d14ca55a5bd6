"""Forward-only learning at the paper's scale: MNIST digits 0-3 at 14x14, two arrays of >= 8,064 cells.

Compares the two ngspice runs (``memcosim train configs/forward_only_mnist_ff.toml`` and
``configs/forward_only_mnist_competitive.toml``, their ``history.csv`` in ``docs/forward_only_mnist/<rule>/``)
with the backprop reference of the same architecture (``inputs + bias -> hidden clip(0, 1) -> 4 classes``,
hidden as in the run files) trained in software (numpy floats, plain per-sample SGD, weights clipped to
+-w_max: :func:`memcosim.trainers.backprop_baseline.backprop_baseline`) on the same split:

* ``same training digits``: the run files' ``train_limit`` training digits, tested on their ``test_limit``
  test digits (what the ngspice runs saw);
* ``whole training split``: all 1,600 training digits of classes 0-3, the same test digits.

Backprop runs ``MEMCOSIM_BENCH_FOM_SEEDS`` seeds (default 5; mean and standard deviation of the final test
accuracy) for ``MEMCOSIM_BENCH_FOM_EPOCHS`` epochs (default 20). Writes ``forward_only_mnist.json`` (results/)
and ``docs/forward_only_mnist/summary.csv`` + ``summary.png`` (test accuracy per epoch of each ngspice run
next to the backprop references). Seconds: the backprop part takes ~1 min; the ngspice runs are not rerun here.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from benchmarks.common import report

SEEDS = int(os.environ.get("MEMCOSIM_BENCH_FOM_SEEDS", "5"))
EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_FOM_EPOCHS", "20"))
ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DOCS = ROOT / "docs" / "forward_only_mnist"
RULES = ("ff", "competitive")


def _history(rule: str) -> list[dict]:
    """The ngspice run's per-epoch rows (empty when it has not been run)."""
    path = DOCS / rule / "history.csv"
    if not path.is_file():
        return []
    with path.open() as fh:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]


def _backprop(dataset, hidden: int) -> list[float]:
    """Final test accuracy of backprop over the seeds."""
    from memcosim.trainers.backprop_baseline import backprop_baseline

    return [backprop_baseline(dataset, hidden, epochs=EPOCHS, seed=s)[-1]["test_acc"] for s in range(SEEDS)]


def main() -> None:
    import dataclasses

    from memcosim.fileio import atomic_write_text, save_png
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.datasets import dataset_for

    rows = []
    curves = {}
    for rule in RULES:
        cfg = load_run_config(CONFIGS / f"forward_only_mnist_{rule}.toml")
        s, t = cfg.forward_only, cfg.train
        same = dataset_for(cfg)
        whole = dataset_for(dataclasses.replace(cfg, train=dataclasses.replace(t, train_limit=0)))
        n_in = same.n_features
        rows0 = n_in + (same.n_classes * s.label_repeat if rule == "ff" else 0) + 1
        out1 = s.hidden if rule == "ff" else same.n_classes * s.units_per_class
        cells = rows0 * 2 * s.hidden + (s.hidden + 1) * 2 * out1
        hist = _history(rule)
        curves[rule] = hist
        if hist:
            last = hist[-1]
            rows.append({"run": f"{rule}, ngspice, reset-only pulses", "cells": cells, "train digits": len(same.x_train),
                         "test digits": len(same.x_test), "epochs": int(last["epoch"]),
                         "test acc %": round(100 * last["test_acc"], 1), "sd %": "",
                         "s per epoch": round(float(np.mean([h["seconds"] for h in hist])), 0)})
        for label, data in (("same training digits", same), ("whole training split", whole)):
            acc = _backprop(data, s.hidden)
            rows.append({"run": f"backprop ({rule} hidden {s.hidden}), {label}", "cells": "",
                         "train digits": len(data.x_train), "test digits": len(data.x_test), "epochs": EPOCHS,
                         "test acc %": round(100 * float(np.mean(acc)), 1), "sd %": round(100 * float(np.std(acc)), 1),
                         "s per epoch": ""})
    report("forward_only_mnist", rows, notes="MNIST digits 0-3 at 14x14 (2x2 blocks averaged); backprop: numpy "
           f"floats, {SEEDS} seeds, {EPOCHS} epochs; the ngspice rows are read from docs/forward_only_mnist/<rule>/history.csv")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    DOCS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(DOCS / "summary.csv", buf.getvalue())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (rule, hist), color in zip(curves.items(), ("C0", "C1")):
        if hist:
            ax.plot([h["epoch"] for h in hist], [100 * h["test_acc"] for h in hist], "o-", color=color,
                    label=f"{rule} (ngspice, reset-only)")
        for r in rows:
            if r["run"].startswith(f"backprop ({rule}") and "same" in r["run"]:
                ax.axhline(r["test acc %"], color=color, ls="--", lw=1, label=f"backprop, hidden as {rule}, same digits")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST 0-3 at 14x14: forward-only in ngspice vs backprop")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_png(fig, DOCS / "summary.png")
    print(f"wrote {DOCS / 'summary.csv'} and {DOCS / 'summary.png'}")


if __name__ == "__main__":
    main()
