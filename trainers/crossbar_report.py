"""Outputs of the crossbar-layer trainers: the per-epoch history as CSV and JSON, the learning curve as a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from memcosim.fileio import atomic_write_csv
from memcosim.trainers.report import save_history, save_learning_curve


def save_history_csv(history: list[dict], path: str | Path) -> Path:
    """One row per epoch, every key of the history as a column (atomic write)."""
    return atomic_write_csv(path, history)


def save_run(history: list[dict], out: str | Path, title: str, loss_label: str = "cross-entropy (nats)") -> list[Path]:
    """history.json, history.csv and learning_curve.png (accuracy and loss per epoch) in folder ``out``."""
    out = Path(out)
    paths = [save_history(history, out / "history.json"), save_history_csv(history, out / "history.csv")]
    paths.append(save_learning_curve(history, out / "learning_curve.png", title, loss_label, log_loss=False))
    return paths


def history_from_checkpoint(path: str | Path) -> list[dict]:
    """The per-epoch history stored in a trainer checkpoint (to plot a run that is still going or was stopped)."""
    path = Path(path)
    if not path.is_file() and path.with_name(path.name + ".npz").is_file():
        path = path.with_name(path.name + ".npz")
    with np.load(path, allow_pickle=False) as data:
        return list(json.loads(str(data["meta"]))["history"])
