"""The interface every trainer shares: epochs over a dataset, per-epoch metrics, checkpoints, resume.

A trainer holds a :class:`~memcosim.trainers.config.RunConfig`, a
:class:`~memcosim.trainers.datasets.Dataset` and a seeded RNG. Subclasses implement one training
step on a batch (which exchanges inputs, nudges, read-outs and updates with the session) and a
forward pass; this class runs the epochs, shows progress, logs loss (V^2) and accuracy per epoch
and, after every epoch, writes a checkpoint atomically: trainer state, RNG state and every device
state. :meth:`Trainer.fit` with ``resume=`` continues from one to the same result as a run that was
never interrupted.
"""

from __future__ import annotations

import io
import json
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

import numpy as np

from memcosim.errors import ConfigError, MemcosimError
from memcosim.fileio import atomic_write_bytes
from memcosim.trainers.config import RunConfig, run_config_to_toml
from memcosim.trainers.datasets import Dataset

CHECKPOINT_FORMAT = 1
# train settings that may differ between a checkpoint and the run resuming from it
_RESUMABLE = ("epochs", "checkpoint", "progress")


class Trainer(ABC):
    """Base trainer: subclasses implement :meth:`train_batch`, :meth:`predict`, the state arrays and close."""

    def __init__(self, config: RunConfig, dataset: Dataset):
        if not isinstance(config, RunConfig):
            raise ConfigError("config", f"must be a RunConfig, got {type(config).__name__}")
        if not isinstance(dataset, Dataset):
            raise ConfigError("dataset", f"must be a Dataset, got {type(dataset).__name__}")
        self.config = config
        self.dataset = dataset
        self.rng = np.random.default_rng(config.train.seed)
        self.epoch = 0
        self.history: list[dict] = []

    # -- what a trainer implements -------------------------------------------------------
    @abstractmethod
    def train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One training step on a batch; returns (sum of per-sample losses, correct predictions)."""

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output scores (samples x classes) for features ``x``."""

    @abstractmethod
    def loss(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample loss of ``scores`` against labels ``y``."""

    @abstractmethod
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every array needed to continue exactly (weights, device states, counters)."""

    @abstractmethod
    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_arrays` (device states written back into the circuit)."""

    def close(self) -> None:
        """Release the circuit (the session)."""

    def __enter__(self) -> "Trainer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the shared loop ----------------------------------------------------------------
    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean loss, accuracy) on ``x``, ``y`` (no learning)."""
        if len(x) == 0:
            return float("nan"), float("nan")
        scores = self.predict(x)
        return float(np.mean(self.loss(scores, y))), float(np.mean(np.argmax(scores, axis=1) == y))

    def fit(self, epochs: int | None = None, resume: str | Path | None = None,
            log: Callable[[str], None] | None = print) -> list[dict]:
        """Train until ``epochs`` (default ``train.epochs``) epochs are done; returns the history.

        ``resume``: a checkpoint file to continue from. After each epoch the checkpoint named by
        ``train.checkpoint`` (if any) is written atomically.
        """
        if resume is not None:
            self.load_checkpoint(resume)
        total = self.config.train.epochs if epochs is None else epochs
        d = self.dataset
        bs = self.config.train.batch_size
        while self.epoch < total:
            t0 = time.perf_counter()
            order = self.rng.permutation(len(d.x_train))
            batches = [order[k:k + bs] for k in range(0, len(order), bs)]
            loss_sum, correct, seen = 0.0, 0, 0
            with _Progress(len(batches), f"epoch {self.epoch + 1}/{total}", self.config.train.progress) as bar:
                for b in batches:
                    l, c = self.train_batch(d.x_train[b], d.y_train[b])
                    loss_sum, correct, seen = loss_sum + l, correct + c, seen + len(b)
                    bar.update(loss_sum / seen, correct / seen)
            test_loss, test_acc = self.evaluate(d.x_test, d.y_test)
            self.epoch += 1
            row = {"epoch": self.epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                   "test_loss": test_loss, "test_acc": test_acc, "seconds": time.perf_counter() - t0}
            row.update(self.epoch_extras())
            self.history.append(row)
            if log is not None:
                log(f"epoch {self.epoch:3d}  train loss {row['train_loss']:.4g} acc {row['train_acc']:.3f}  "
                    f"test loss {test_loss:.4g} acc {test_acc:.3f}  ({row['seconds']:.1f} s)")
            if self.config.train.checkpoint:
                self.save_checkpoint(self.config.train.checkpoint)
        return self.history

    def epoch_extras(self) -> dict:
        """Extra per-epoch numbers for the history (e.g. operating points, pulses)."""
        return {}

    # -- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path) -> Path:
        """Write trainer state, RNG state, config and every device state to ``path`` (.npz) atomically."""
        meta = {"format": CHECKPOINT_FORMAT, "epoch": self.epoch, "history": self.history,
                "rng": self.rng.bit_generator.state, "config": run_config_to_toml(self.config),
                "trainer": type(self).__name__}
        arrays = {f"state_{k}": v for k, v in self.state_arrays().items()}
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        return atomic_write_bytes(path, buf.getvalue())

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint written by :meth:`save_checkpoint` for the same run configuration.

        Everything is read and checked before anything changes, so a bad file leaves the trainer
        and every device state as they were.
        """
        path = Path(path)
        if not path.is_file():
            raise MemcosimError(f"checkpoint: no file {str(path)!r} to resume from")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k[len("state_"):]: data[k] for k in data.files if k.startswith("state_")}
        except (OSError, ValueError, KeyError) as exc:
            raise MemcosimError(f"checkpoint: {path} is not a memcosim checkpoint ({exc})") from None
        if meta.get("format") != CHECKPOINT_FORMAT or meta.get("trainer") != type(self).__name__:
            raise MemcosimError(f"checkpoint: {path} was written by {meta.get('trainer')!r} "
                                f"(format {meta.get('format')}), not by {type(self).__name__}")
        self._check_compatible(meta["config"], path)
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        self.load_state_arrays(arrays)
        self.rng = rng
        self.epoch = int(meta["epoch"])
        self.history = list(meta["history"])

    def _check_compatible(self, toml_text: str, path: Path) -> None:
        from memcosim.trainers.config import run_config_from_dict

        try:
            import tomllib
        except ModuleNotFoundError:  # pragma: no cover
            import tomli as tomllib
        saved = run_config_from_dict(tomllib.loads(toml_text))
        for part in ("network", "pulse"):
            if getattr(saved, part) != getattr(self.config, part):
                raise MemcosimError(f"checkpoint: {path} was written for a different [{part}] configuration")
        for name in saved.train.__dataclass_fields__:
            if name not in _RESUMABLE and getattr(saved.train, name) != getattr(self.config.train, name):
                raise MemcosimError(f"checkpoint: {path} has train.{name} = {getattr(saved.train, name)!r}, "
                                    f"this run {getattr(self.config.train, name)!r}")


class _Progress:
    """A tqdm bar when tqdm is installed (else a line every ~10 %), showing running loss and accuracy."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.desc, self.enabled, self.done = total, desc, enabled, 0
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self.bar = None

    def update(self, loss: float, acc: float) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.3g}", acc=f"{acc:.3f}", refresh=False)
            self.bar.update(1)
        elif self.done % max(1, self.total // 10) == 0 or self.done == self.total:
            print(f"{self.desc}: {self.done}/{self.total} batches, loss {loss:.3g}, acc {acc:.3f}", file=sys.stderr)

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
