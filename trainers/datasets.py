"""Datasets for the trainers: scikit-learn's bundled Iris and 8x8 digits (offline), and a tiny XOR task.

Features are scaled to [0, 1] with the training split's range only (digits: divided by 16), so
the test split never informs training. Splits are stratified and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.errors import ConfigError


@dataclass
class Dataset:
    """Train and test features (samples x features, nominally in [0, 1]) and integer labels 0..classes-1."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{split}"), dtype=float)
            y = np.asarray(getattr(self, f"y_{split}"))
            if x.ndim != 2:
                raise ConfigError(f"dataset.x_{split}", f"must be samples x features, got shape {x.shape}")
            if y.shape != (x.shape[0],):
                raise ConfigError(f"dataset.y_{split}", f"needs one label per sample ({x.shape[0]}), got shape {y.shape}")
            bad = np.argwhere(~np.isfinite(x))
            if bad.size:
                i, j = bad[0]
                raise ConfigError(f"dataset.x_{split}", f"feature [{i}, {j}] is {x[i, j]:g}: every feature must be finite")
            if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= self.n_classes):
                raise ConfigError(f"dataset.y_{split}", f"labels must be integers in 0..{self.n_classes - 1}")
            setattr(self, f"x_{split}", x)
            setattr(self, f"y_{split}", y.astype(int))
        if self.x_train.shape[0] == 0:
            raise ConfigError("dataset.x_train", "the training split is empty")
        if self.x_test.shape[1] != self.x_train.shape[1]:
            raise ConfigError("dataset.x_test", f"has {self.x_test.shape[1]} features, x_train {self.x_train.shape[1]}")

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def load_dataset(name: str, test_fraction: float = 0.2, seed: int = 0, classes: list[int] | None = None,
                 train_limit: int = 0, test_limit: int = 0) -> Dataset:
    """A named dataset, split (stratified, ``seed``) and scaled; ``classes`` keeps a subset relabelled 0..k-1."""
    if name == "xor":
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        y = np.array([0, 1, 1, 0])
        return Dataset("xor", x, y, x.copy(), y.copy(), 2)
    from sklearn.datasets import load_digits, load_iris
    from sklearn.model_selection import train_test_split

    if name == "iris":
        data = load_iris()
    elif name == "digits":
        data = load_digits()
    else:
        raise ConfigError("train.dataset", f"unknown dataset {name!r}; known: iris, digits, xor")
    x, y = np.asarray(data.data, dtype=float), np.asarray(data.target)
    if classes:
        missing = sorted(set(classes) - set(np.unique(y).tolist()))
        if missing:
            raise ConfigError("train.classes", f"{name} has no class {missing[0]}")
        keep = np.isin(y, classes)
        x, y = x[keep], np.searchsorted(np.array(sorted(classes)), y[keep])
    n_classes = int(y.max()) + 1
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    if name == "digits":
        lo, span = 0.0, 16.0
    else:
        lo = x_tr.min(axis=0)
        span = np.where(x_tr.max(axis=0) > lo, x_tr.max(axis=0) - lo, 1.0)
    x_tr, x_te = (x_tr - lo) / span, np.clip((x_te - lo) / span, 0.0, 1.0)
    for field, limit, available in (("train.train_limit", train_limit, len(x_tr)), ("train.test_limit", test_limit, len(x_te))):
        if limit > available:  # a silent clamp would report results on fewer samples than asked for
            raise ConfigError(field, f"{limit} samples asked for, but the {name} split holds {available}: "
                                     f"give at most {available} (0 = all)")
    if train_limit:
        x_tr, y_tr = x_tr[:train_limit], y_tr[:train_limit]
    if test_limit:
        x_te, y_te = x_te[:test_limit], y_te[:test_limit]
    return Dataset(name, x_tr, y_tr, x_te, y_te, n_classes)
