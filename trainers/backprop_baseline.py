"""The software reference: a two-layer perceptron of the same size trained with backpropagation (numpy).

``inputs (+ bias) -> hidden (clip(h, 0, 1)) -> classes``, softmax cross-entropy, plain per-sample SGD
with a seeded shuffle; the baseline the forward-only and SGD trainers are compared against.
"""

from __future__ import annotations

import numpy as np

from memcosim import fields as f
from memcosim.trainers.datasets import Dataset


def _forward(w0: np.ndarray, w1: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ones = np.ones((len(x), 1))
    xa = np.hstack([x, ones])
    h = xa @ w0
    aa = np.hstack([np.clip(h, 0.0, 1.0), ones])
    return xa, h, aa, aa @ w1


def backprop_baseline(dataset: Dataset, hidden: int, epochs: int = 10, lr: float = 0.05, seed: int = 0,
                      w_max: float = 1.0) -> list[dict]:
    """Train the reference network; returns per-epoch rows ``{"epoch", "train_acc", "test_acc"}``.

    Weights start uniform in +-sqrt(3/fan_in) and are clipped to +-``w_max`` (the crossbar's range).
    """
    hidden = f.integer("hidden", hidden, 1)
    epochs = f.integer("epochs", epochs, 1)
    lr = f.number("lr", lr, low=0.0, low_open=True)
    rng = np.random.default_rng(seed)
    n_in, n_out = dataset.n_features, dataset.n_classes
    w0 = rng.uniform(-1, 1, (n_in + 1, hidden)) * np.sqrt(3 / (n_in + 1))
    w1 = rng.uniform(-1, 1, (hidden + 1, n_out)) * np.sqrt(3 / (hidden + 1))
    rows = []
    for epoch in range(1, epochs + 1):
        correct = 0
        for i in rng.permutation(len(dataset.x_train)):
            xa, h, aa, z = _forward(w0, w1, dataset.x_train[i:i + 1])
            p = np.exp(z - z.max())
            p /= p.sum()
            correct += int(np.argmax(z) == dataset.y_train[i])
            d_out = p[0].copy()
            d_out[dataset.y_train[i]] -= 1.0
            d_hid = (w1[:-1] @ d_out) * ((h[0] > 0) & (h[0] < 1))
            w1 -= lr * np.outer(aa[0], d_out)
            w0 -= lr * np.outer(xa[0], d_hid)
            np.clip(w0, -w_max, w_max, out=w0)
            np.clip(w1, -w_max, w_max, out=w1)
        test = np.argmax(_forward(w0, w1, dataset.x_test)[3], axis=1)
        rows.append({"epoch": epoch, "train_acc": correct / len(dataset.x_train),
                     "test_acc": float(np.mean(test == dataset.y_test))})
    return rows
