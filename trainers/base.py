"""The interface every trainer shares: epochs over a dataset, per-epoch metrics, checkpoints, resume.

A trainer holds a :class:`~memcosim.trainers.config.RunConfig`, a
:class:`~memcosim.trainers.datasets.Dataset` and a seeded RNG. Subclasses implement one training
step on a batch (which exchanges inputs, nudges, read-outs and updates with the session) and a
forward pass; this class runs the epochs, shows progress, logs loss (V^2) and accuracy per epoch
and, after every epoch, writes a checkpoint atomically: trainer state (weights, optimizer state,
counters: :meth:`Trainer.state_arrays`), RNG state and every device state. On SIGINT or SIGTERM
the running batch is finished, a checkpoint with the position inside the epoch is written and
:class:`Interrupted` is raised. :meth:`Trainer.fit` with ``resume=`` continues from either kind of
checkpoint to the same result as a run that was never interrupted; a run killed outright
(SIGKILL) resumes from its last epoch checkpoint, which is never half-written (temporary file and
rename).
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

import numpy as np

from memcosim.errors import ConfigError, Interrupted as InterruptedCommand, MemcosimError
from memcosim.fileio import atomic_write_bytes
from memcosim.trainers.config import RunConfig, run_config_to_toml, stored_run_config
from memcosim.trainers.datasets import Dataset

CHECKPOINT_FORMAT = 1  # "position" (mid-epoch checkpoints) is optional: older files still load
# train settings that may differ between a checkpoint and the run resuming from it
_RESUMABLE = ("epochs", "checkpoint", "progress")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(InterruptedCommand):
    """Training stopped on SIGINT/SIGTERM after finishing a batch; ``checkpoint`` is the file written (or None)."""

    def __init__(self, signum: int, epoch: int, batch: int, checkpoint: Path | None, command: str = ""):
        self.epoch, self.batch, self.checkpoint = epoch, batch, checkpoint
        where = f"in epoch {epoch + 1} after batch {batch}"
        saved = (f"checkpoint written to {checkpoint}: resume with --resume {checkpoint}" if checkpoint
                 else "no checkpoint configured (train.checkpoint), nothing saved")
        if checkpoint and command:
            saved += f" ({command})"
        super().__init__(signum, f"interrupted by {signal.Signals(signum).name} {where}; {saved}")


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
        self._position: dict | None = None  # where inside an epoch a mid-epoch checkpoint stopped

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
        """Every array needed to continue exactly (weights, optimizer state, device states, counters)."""

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
        self._forget_solution()
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
        with _CatchSignals() as signals:
            while self.epoch < total:
                pos, self._position = self._position, None
                t0 = time.perf_counter() - (pos["seconds"] if pos else 0.0)
                x_train, y_train = self.epoch_data()
                order = np.asarray(pos["order"], dtype=int) if pos else self.rng.permutation(len(x_train))
                batches = [order[k:k + bs] for k in range(0, len(order), bs)]
                start = pos["batch"] if pos else 0
                loss_sum, correct, seen = (pos["loss_sum"], pos["correct"], pos["seen"]) if pos else (0.0, 0, 0)
                with _Progress(len(batches), f"epoch {self.epoch + 1}/{total}", self.config.train.progress) as bar:
                    bar.done = start
                    for k in range(start, len(batches)):
                        b = batches[k]
                        self._forget_solution()
                        l, c = self.train_batch(x_train[b], y_train[b])
                        loss_sum, correct, seen = loss_sum + l, correct + c, seen + len(b)
                        bar.update(loss_sum / seen, correct / seen)
                        if signals.pending is not None and k + 1 < len(batches):
                            self._stop(signals.take(), dict(batch=k + 1, order=order.tolist(), loss_sum=loss_sum,
                                                            correct=correct, seen=seen,
                                                            seconds=time.perf_counter() - t0))
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
                if signals.pending is not None and self.epoch < total:
                    self._stop(signals.take(), None)
        return self.history

    def _stop(self, signum: int, position: dict | None) -> None:
        """After signal ``signum``: write a checkpoint at ``position`` (None: at the epoch boundary) and raise
        :class:`Interrupted`."""
        path = None
        if self.config.train.checkpoint:
            self._position = position
            try:
                path = self.save_checkpoint(self.config.train.checkpoint)
            finally:
                self._position = None
        raise Interrupted(signum, self.epoch, position["batch"] if position else 0, path)

    def _forget_solution(self) -> None:
        """Each batch's operating points start from scratch (Session.forget_solution): results depend
        only on the device states and the batch, so resuming at a batch or epoch boundary is exact."""
        session = getattr(getattr(self, "circuit", None), "session", None)
        if session is not None:
            session.forget_solution()

    def epoch_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The training samples of the epoch about to run (features, labels): the dataset's training split;
        a trainer whose data change over the epochs (a sequence of tasks) returns the current epoch's."""
        return self.dataset.x_train, self.dataset.y_train

    def epoch_extras(self) -> dict:
        """Extra per-epoch numbers for the history (e.g. operating points, pulses)."""
        return {}

    # -- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path) -> Path:
        """Write trainer state, RNG state, config and every device state to ``path`` (.npz) atomically."""
        path = _checkpoint_path(path)
        meta = {"format": CHECKPOINT_FORMAT, "epoch": self.epoch, "history": self.history,
                "rng": self.rng.bit_generator.state, "config": run_config_to_toml(self.config),
                "trainer": type(self).__name__, "position": self._position}
        arrays = {f"state_{k}": v for k, v in self.state_arrays().items()}
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        written = atomic_write_bytes(path, buf.getvalue())
        for stale in written.parent.glob(f".{written.name}.*.tmp"):  # left by a writer killed mid-write
            try:
                stale.unlink()
            except OSError:
                pass
        return written

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint written by :meth:`save_checkpoint` for the same run configuration.

        Everything is read and checked before anything changes, so a bad file leaves the trainer
        and every device state as they were.
        """
        path = _checkpoint_path(path)
        if not path.is_file():
            raise MemcosimError(f"checkpoint: no file {str(path)!r} to resume from")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k[len("state_"):]: data[k] for k in data.files if k.startswith("state_")}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise MemcosimError(f"checkpoint: {path} is not a memcosim checkpoint, or it is truncated "
                                f"({type(exc).__name__}: {exc})") from None
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
        position = meta.get("position")
        self._position = dict(position) if position else None


    def _check_compatible(self, toml_text: str, path: Path) -> None:
        saved = stored_run_config(toml_text, f"{path} (config)")
        for part in ("network", "pulse"):
            if getattr(saved, part) != getattr(self.config, part):
                raise MemcosimError(f"checkpoint: {path} was written for a different [{part}] configuration")
        for name in saved.train.__dataclass_fields__:
            if name not in _RESUMABLE and getattr(saved.train, name) != getattr(self.config.train, name):
                raise MemcosimError(f"checkpoint: {path} has train.{name} = {getattr(saved.train, name)!r}, "
                                    f"this run {getattr(self.config.train, name)!r}")


def _checkpoint_path(path: str | Path) -> Path:
    """``path`` as a Path; ConfigError for text with control characters (or not a path at all)."""
    if not isinstance(path, (str, os.PathLike)) or not str(path) or not str(path).isprintable():
        raise ConfigError("train.checkpoint", f"must be a file path of printable characters, got {path!r}")
    return Path(path)


class _CatchSignals:
    """While training: SIGINT/SIGTERM only set ``pending`` (the loop stops after the batch).

    A second signal while the first is pending raises KeyboardInterrupt at once. Only the main
    thread can install handlers; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.previous: dict[int, object] = {}
        self.pending: int | None = None  # the signal number caught and not yet acted on

    def take(self) -> int:
        """The pending signal number, which is no longer pending."""
        signum, self.pending = self.pending, None
        return signum

    def _handler(self, signum: int, frame: object) -> None:
        if self.pending is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping at once")
        self.pending = signum

    def __enter__(self) -> "_CatchSignals":
        self.pending = None
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous.clear()


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
