"""Training of the pulse predictor: MSE on the pulse time, then fine-tuning through the recorded G-t histories.

1. MSE on the scaled signed pulse time for ``epochs`` epochs (Adam); the weights with the best
   validation RPD of the pulse time (mean |t_pred - t| / |t|) are kept -> ``predictor_mse.pt``.
2. Fine-tuning: each sample's history (read after every ``step``) is resampled onto a ``grid``-second
   time axis and smoothed by a centred moving average of ``kernel`` points (edges replicated), for
   each kernel of ``kernels`` in turn (``finetune_epochs`` each); the window shrinks symmetrically at
   both ends of a history, so the start and end conductance stay exact. The predicted time is mapped through
   the sample's smoothed history to the conductance it would reach; the loss is the squared difference
   of that conductance and the target in the scaled log domain. Outside the recorded time range the
   reached conductance is clamped to the end value and its gradient is the slope at that end
   (straight-through), so a prediction beyond the history is still pulled back; the gradient norm is
   clipped to ``clip``. The weights with the
   best validation RPD of the reached conductance (|G_reached - G_target| / G_target, raw history) are
   kept -> ``predictor_finetuned.pt``.

The split (train / validation / test) is drawn with ``seed`` from the samples that crossed their target.
Every epoch's losses go to ``training.csv``; ``training.json`` holds the summary.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from memcosim.fileio import atomic_write_csv, atomic_write_text, save_png
from memcosim.programming.predictor.config import DatasetConfig, TrainConfig, read_index
from memcosim.programming.predictor.dataset import PulseDataset
from memcosim.programming.predictor.model import PulsePredictor, Scaling


def split_indices(data: PulseDataset, config: TrainConfig) -> dict[str, np.ndarray]:
    """Train / validation / test indices into ``data`` (only samples that crossed their target)."""
    usable = np.flatnonzero(data.crossed & (data.steps > 0))
    rng = np.random.default_rng(config.seed)
    perm = rng.permutation(usable)
    n_train = int(round(config.split[0] * perm.size))
    n_val = int(round(config.split[1] * perm.size))
    return {"train": np.sort(perm[:n_train]), "validation": np.sort(perm[n_train:n_train + n_val]),
            "test": np.sort(perm[n_train + n_val:])}


def scaling_for(dataset: DatasetConfig) -> Scaling:
    return Scaling(*dataset.window, dataset.step, dataset.t_max)


def time_rpd(model: PulsePredictor, data: PulseDataset, index: np.ndarray) -> np.ndarray:
    """Relative difference of predicted and labelled pulse times, per sample."""
    t = model.predict(data.g_start[index], data.g_target[index])
    return np.abs(t - data.time[index]) / np.abs(data.time[index])


class Histories:
    """Histories of a set of samples on a common grid, in scaled log conductance, padded with the end value.

    The grid divides every window between two reads into ``per`` points (``per`` = the first window over
    ``grid`` seconds): with equal windows a time grid of ``grid`` s, with growing windows
    (``time_growth`` > 1) a grid even in the window index (:meth:`index`)."""

    def __init__(self, data: PulseDataset, index: np.ndarray, scaling: Scaling, grid: float):
        per = max(1, int(round(data.step / grid)))
        self.grid = data.step / per
        self.per, self.step, self.growth = per, data.step, data.growth
        hs = [data.history(i) for i in index]
        self.lengths = np.array([(h.size - 1) * per + 1 for h in hs])
        L = int(self.lengths.max())
        out = np.empty((len(hs), L))
        for k, h in enumerate(hs):
            fine = np.interp(np.arange(self.lengths[k]) / per, np.arange(h.size), np.log(h))
            out[k, :fine.size] = fine
            out[k, fine.size:] = fine[-1]
        self.raw = (out - np.log(scaling.g_low)) / np.log(scaling.g_high / scaling.g_low)
        self.direction = np.sign(data.time[index])

    def index(self, t: torch.Tensor) -> torch.Tensor:
        """Grid position of pulse time ``t`` (seconds; below 0 extended with the slope at 0)."""
        if self.growth == 1.0:
            return t / self.grid
        return (self.per * read_index(torch.clamp(t, min=0.0), self.step, self.growth)
                + torch.clamp(t, max=0.0) / self.grid)

    def smoothed(self, kernel: int) -> np.ndarray:
        """Centred moving average of ``kernel`` points over each history's own length; near either end the
        window shrinks symmetrically (so the first and last points, the start and the end conductance,
        are kept and a monotone history stays monotone). Kernel 1: the raw histories."""
        if kernel <= 1:
            return self.raw.copy()
        n, L = self.raw.shape
        c = np.concatenate([np.zeros((n, 1)), np.cumsum(self.raw, axis=1)], axis=1)
        i = np.arange(L)[None, :]
        last = (self.lengths - 1)[:, None]
        w = np.clip(np.minimum(np.minimum(kernel // 2, i), last - i), 0, None)
        rows = np.arange(n)[:, None]
        out = (c[rows, i + w + 1] - c[rows, i - w]) / (2 * w + 1)
        beyond = i > last
        out[beyond] = np.broadcast_to(self.raw[np.arange(n), self.lengths - 1][:, None], out.shape)[beyond]
        return out


def reached(hist: torch.Tensor, lengths: torch.Tensor, direction: torch.Tensor, t: torch.Tensor,
            grid: float | Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Scaled log conductance reached after signed time ``t`` (seconds) on each history row; ``grid``: the
    seconds between grid points, or a function from pulse time to grid position (:meth:`Histories.index`).

    Inside the recorded range: linear interpolation (gradient = local slope). Outside: the end value,
    with the end segment's slope as gradient (straight-through)."""
    idx = grid(t * direction) if callable(grid) else t * direction / grid
    last = (lengths - 1).to(idx.dtype)
    inside = torch.minimum(torch.clamp(idx, min=0.0), last)
    lo = torch.clamp(torch.floor(inside).long(), max=hist.shape[1] - 2)
    frac = inside - lo.to(idx.dtype)
    rows = torch.arange(hist.shape[0])
    v0, v1 = hist[rows, lo], hist[rows, lo + 1]
    value = v0 + (v1 - v0) * frac
    end = lengths - 1
    slope_lo = hist[rows, 1] - hist[rows, 0]
    slope_hi = hist[rows, end.clamp(min=1)] - hist[rows, (end - 1).clamp(min=0)]
    slope = torch.where(idx < 0, slope_lo, slope_hi)
    outside = (idx - inside) * slope
    return value + outside - outside.detach()


def _batches(n: int, size: int, rng: np.random.Generator):
    perm = rng.permutation(n)
    for a in range(0, n, size):
        yield perm[a:a + size]


def train(data: PulseDataset, dataset_config: DatasetConfig, config: TrainConfig, progress: bool = True) -> dict:
    """Run both stages; write the two predictors, ``training.csv`` and ``training.json`` under ``config.out``."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(1)  # a 2-32-64-32-1 network gains nothing from threads; OpenMP barriers on shared cores cost time
    out = Path(config.out)
    scaling = scaling_for(dataset_config)
    split = split_indices(data, config)
    tr, va = split["train"], split["validation"]
    if tr.size == 0 or va.size == 0:
        raise ValueError(f"not enough usable samples to split ({int(data.crossed.sum())} crossed their target)")
    x_tr = scaling.inputs(data.g_start[tr], data.g_target[tr])
    y_tr = torch.as_tensor(scaling.encode_time(data.time[tr])).float()
    model = PulsePredictor(scaling, seed=config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    log: list[dict] = []
    best = (float("inf"), None)
    t0 = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        total = 0.0
        for b in _batches(tr.size, config.batch_size, rng):
            opt.zero_grad()
            loss = torch.mean((model(x_tr[b]) - y_tr[b]) ** 2)
            loss.backward()
            opt.step()
            total += loss.item() * b.size
        model.eval()
        v = float(np.mean(time_rpd(model, data, va)))
        log.append({"stage": "mse", "kernel": "", "epoch": epoch, "train_loss": total / tr.size, "val_rpd": v})
        if v < best[0]:
            best = (v, {k: t.clone() for k, t in model.state_dict().items()})
        if progress and (epoch % 10 == 9 or epoch == config.epochs - 1):
            print(f"  mse epoch {epoch + 1}/{config.epochs}: loss {total / tr.size:.4g}, val time RPD {v:.3f} "
                  f"(best {best[0]:.3f})", flush=True)
    model.load_state_dict(best[1])
    info = {"dataset": asdict(dataset_config), "train": asdict(config), "split": {k: v.tolist() for k, v in split.items()}}
    mse_path = model.save(out / "predictor_mse.pt", {**info, "stage": "mse", "val_time_rpd": best[0]})
    summary = {"samples_used": int(tr.size + va.size + split["test"].size), "train": int(tr.size),
               "validation": int(va.size), "test": int(split["test"].size), "mse_best_val_time_rpd": best[0],
               "mse_seconds": time.perf_counter() - t0}

    # fine-tuning through the histories
    t1 = time.perf_counter()
    h_tr = Histories(data, tr, scaling, config.grid)
    h_va = Histories(data, va, scaling, config.grid)
    x_va = scaling.inputs(data.g_start[va], data.g_target[va])
    u_tr = scaling.u(torch.as_tensor(data.g_target[tr]).float())
    g_va = data.g_target[va]
    args_tr = (torch.as_tensor(h_tr.lengths), torch.as_tensor(h_tr.direction).float())
    raw_va = torch.as_tensor(h_va.raw).float()
    args_va = (torch.as_tensor(h_va.lengths), torch.as_tensor(h_va.direction).float())

    def val_rpd() -> float:
        with torch.no_grad():
            u = reached(raw_va, *args_va, model.time(x_va), h_va.index).double().numpy()
        g = np.exp(u * np.log(scaling.g_high / scaling.g_low) + np.log(scaling.g_low))
        return float(np.mean(np.abs(g - g_va) / g_va))

    start_rpd = val_rpd()
    best_ft = (start_rpd, {k: t.clone() for k, t in model.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=config.finetune_lr)
    for kernel in config.kernels:
        hist = torch.as_tensor(h_tr.smoothed(kernel)).float()
        for epoch in range(config.finetune_epochs):
            model.train()
            total = 0.0
            for b in _batches(tr.size, config.batch_size, rng):
                bt = torch.as_tensor(b)
                opt.zero_grad()
                u = reached(hist[bt], args_tr[0][bt], args_tr[1][bt], model.time(x_tr[bt]), h_tr.index)
                loss = torch.mean((u - u_tr[bt]) ** 2)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                opt.step()
                total += loss.item() * b.size
            model.eval()
            v = val_rpd()
            log.append({"stage": "finetune", "kernel": kernel, "epoch": epoch, "train_loss": total / tr.size,
                        "val_rpd": v})
            if v < best_ft[0]:
                best_ft = (v, {k: t.clone() for k, t in model.state_dict().items()})
        if progress:
            print(f"  fine-tune kernel {kernel}: last loss {total / tr.size:.4g}, val G RPD {v:.3f} "
                  f"(best {best_ft[0]:.3f})", flush=True)
    model.load_state_dict(best_ft[1])
    ft_path = model.save(out / "predictor_finetuned.pt", {**info, "stage": "finetuned", "val_g_rpd": best_ft[0]})
    summary.update({"mse_val_g_rpd": start_rpd, "finetuned_best_val_g_rpd": best_ft[0],
                    "finetune_seconds": time.perf_counter() - t1, "predictor_mse": str(mse_path),
                    "predictor_finetuned": str(ft_path)})
    atomic_write_csv(out / "training.csv", log, ["stage", "kernel", "epoch", "train_loss", "val_rpd"])
    atomic_write_text(out / "training.json", json.dumps(summary, indent=2) + "\n")
    _plot_training(log, out / "training.png")
    return summary


def _plot_training(log: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    mse = [r for r in log if r["stage"] == "mse"]
    ft = [r for r in log if r["stage"] == "finetune"]
    ax[0].plot([r["val_rpd"] for r in mse])
    ax[0].set(xlabel="epoch", ylabel="validation RPD of pulse time", title="MSE training", yscale="log")
    ax[1].plot([r["val_rpd"] for r in ft])
    ax[1].set(xlabel="fine-tuning epoch (kernels in turn)", ylabel="validation RPD of reached G",
              title="fine-tuning through G-t histories", yscale="log")
    fig.tight_layout()
    save_png(fig, path)
