"""Outputs of a task sequence: the forgetting matrix as CSV and PNG, and methods side by side (written atomically)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from memcosim.fileio import atomic_write_text, save_png


def save_forgetting_csv(a: np.ndarray, tasks: list[list[int]], path: str | Path) -> Path:
    """One row per trained task (``after``), one column per task: accuracy in percent (blank where not reached)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["after"] + [f"task{j + 1} {tasks[j]}" for j in range(len(tasks))])
    for i, row in enumerate(a):
        w.writerow([f"task{i + 1}"] + ["" if np.isnan(v) else f"{100 * v:.2f}" for v in row])
    return atomic_write_text(path, buf.getvalue())


def save_forgetting_plot(matrices: dict[str, np.ndarray], tasks: list[list[int]], path: str | Path,
                         title: str = "accuracy per task after each task") -> Path:
    """Heat maps of one forgetting matrix per method (accuracy in percent) in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n + 0.6, 3.4), squeeze=False)
    labels = [f"{j + 1}: {','.join(map(str, t))}" for j, t in enumerate(tasks)]
    for ax, (name, a) in zip(axes[0], matrices.items()):
        ax.imshow(100 * np.nan_to_num(a, nan=0.0), vmin=0, vmax=100, cmap="viridis")
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                if not np.isnan(a[i, j]):
                    ax.text(j, i, f"{100 * a[i, j]:.0f}", ha="center", va="center",
                            color="white" if a[i, j] < 0.6 else "black", fontsize=9)
        ax.set_xticks(range(len(tasks)), labels, fontsize=7)
        ax.set_yticks(range(len(tasks)), [f"after {i + 1}" for i in range(len(tasks))], fontsize=8)
        ax.set_xlabel("task (classes)")
        ax.set_title(name)
    fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path)
