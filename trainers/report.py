"""Training outputs: the per-epoch history as JSON and the learning curve as a PNG (written atomically)."""

from __future__ import annotations

import json
from pathlib import Path

from memcosim.fileio import atomic_write_text, save_png


def save_history(history: list[dict], path: str | Path) -> Path:
    """The per-epoch rows (loss in V^2, accuracy as a fraction, seconds) as JSON."""
    return atomic_write_text(path, json.dumps(history, indent=2) + "\n")


def save_learning_curve(history: list[dict], path: str | Path, title: str = "equilibrium propagation",
                        loss_label: str = "loss (V$^2$)", log_loss: bool = True) -> Path:
    """Accuracy (train, test) and loss per epoch as a PNG (``log_loss``: loss on a log axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax1.plot(epochs, [100 * r["train_acc"] for r in history], "o-", label="train (during the epoch)")
    ax1.plot(epochs, [100 * r["test_acc"] for r in history], "s-", label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("accuracy (%)")
    ax1.grid(alpha=0.3)
    ax1.legend()
    plot = ax2.semilogy if log_loss else ax2.plot
    plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel(loss_label)
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path)
