"""Outputs of the crossbar-layer trainers: the per-epoch history as CSV and JSON, the learning curve as a PNG."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from memcosim.fileio import atomic_write_bytes, atomic_write_text
from memcosim.trainers.report import save_history


def save_history_csv(history: list[dict], path: str | Path) -> Path:
    """One row per epoch, every key of the history as a column (atomic write)."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for row in history:
        w.writerow(row)
    return atomic_write_text(path, buf.getvalue())


def save_run(history: list[dict], out: str | Path, title: str, loss_label: str = "cross-entropy (nats)") -> list[Path]:
    """history.json, history.csv and learning_curve.png (accuracy and loss per epoch) in folder ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    paths = [save_history(history, out / "history.json"), save_history_csv(history, out / "history.csv")]
    epochs = [r["epoch"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax1.plot(epochs, [100 * r["train_acc"] for r in history], "o-", label="train (during the epoch)")
    ax1.plot(epochs, [100 * r["test_acc"] for r in history], "s-", label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("accuracy (%)")
    ax1.grid(alpha=0.3)
    ax1.legend()
    ax2.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    ax2.plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel(loss_label)
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    paths.append(atomic_write_bytes(out / "learning_curve.png", buf.getvalue()))
    return paths


def history_from_checkpoint(path: str | Path) -> list[dict]:
    """The per-epoch history stored in a trainer checkpoint (to plot a run that is still going or was stopped)."""
    import json

    import numpy as np

    path = Path(path)
    if not path.is_file() and path.with_name(path.name + ".npz").is_file():
        path = path.with_name(path.name + ".npz")
    with np.load(path, allow_pickle=False) as data:
        return list(json.loads(str(data["meta"]))["history"])
