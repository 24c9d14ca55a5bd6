"""Pulse-based SGD benchmarks (crossbar layers in ngspice, ``vteam`` with exponential I-V).

1. Time per training step (one batch of ``MEMCOSIM_BENCH_SGD_BATCH`` samples: 2 operating points per
   sample + one pulse transient for the batch) and per sample, for hidden sizes 8..64 (the first
   array is 65 x 2H devices), Manhattan pulses and ideal writes, and the epoch time they imply for the
   1,257-sample digits training split.
2. Memory over an epoch: resident set size after the first batch and at the end of the epoch.
3. Accuracy on digits (10 classes, test split never trained on): pulse (Manhattan) and ideal updates
   with ngspice in the loop, and the backprop baseline of the same 64-H-10 network in numpy. Epochs and
   training-set size are limited for shared 2-core machines (``MEMCOSIM_BENCH_SGD_EPOCHS``,
   ``MEMCOSIM_BENCH_SGD_TRAIN``; 0 = the whole split); learning curves (PNG + CSV) go to
   ``benchmarks/results/sgd_<mode>/``. The full runs are ``memcosim train RUN.toml`` (see the README).
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.common import RESULTS, report

EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_SGD_EPOCHS", "1"))
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_SGD_TRAIN", "200"))
HIDDEN = int(os.environ.get("MEMCOSIM_BENCH_SGD_HIDDEN", "32"))
BATCH = int(os.environ.get("MEMCOSIM_BENCH_SGD_BATCH", "10"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_SGD_SIZES", "8,16,32,64").split(",")]
PARTS = os.environ.get("MEMCOSIM_BENCH_SGD_PARTS", "steps,memory,accuracy").split(",")


def rss_mb() -> float:
    """Resident set size of this process (MiB), from /proc."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def step_times(trainer, batches: int = 3) -> tuple[float, float]:
    """(median seconds per training step, median seconds per forward sample) over ``batches`` batches."""
    d = trainer.dataset
    bs = trainer.config.train.batch_size
    steps, fwd = [], []
    for k in range(batches):
        idx = np.arange(k * bs, (k + 1) * bs) % len(d.x_train)
        t = time.perf_counter()
        trainer.train_batch(d.x_train[idx], d.y_train[idx])
        steps.append(time.perf_counter() - t)
        t = time.perf_counter()
        trainer.predict(d.x_test[:2])
        fwd.append((time.perf_counter() - t) / 2)
    return float(np.median(steps)), float(np.median(fwd))


def memory_rows(make, label: str) -> list[dict]:
    """RSS after the first batch and after a whole epoch of ``make()``'s trainer."""
    with make() as tr:
        d = tr.dataset
        bs = tr.config.train.batch_size
        first = None
        for k in range(0, len(d.x_train), bs):
            tr.train_batch(d.x_train[k:k + bs], d.y_train[k:k + bs])
            first = rss_mb() if first is None else first
        end = rss_mb()
    return [{"part": "memory", "run": label, "samples": len(d.x_train), "rss_after_batch1_MiB": round(first, 1),
             "rss_end_MiB": round(end, 1), "growth_MiB": round(end - first, 1)}]


def sgd_config(update: str, hidden: int, epochs: int, train: int, rule: str = "manhattan"):
    from memcosim.trainers.config import RunConfig

    return RunConfig(train=dict(dataset="digits", algorithm="sgd", update=update, epochs=epochs, batch_size=BATCH,
                                train_limit=train, seed=0, progress=False),
                     sgd=dict(hidden=hidden, rule=rule))


def main() -> None:
    from memcosim.trainers.backprop_baseline import backprop_baseline
    from memcosim.trainers.crossbar_report import save_run
    from memcosim.trainers.sgd import SGDTrainer

    rows: list[dict] = []
    if "steps" in PARTS:
        for hidden in SIZES:
            for update in ("pulse", "ideal"):
                with SGDTrainer(sgd_config(update, hidden, 1, 4 * BATCH)) as tr:
                    step, fwd = step_times(tr)
                    devices = tr.circuit.session.states.size
                rows.append({"part": "steps", "run": f"{update} H={hidden}", "devices": devices,
                             "step_s": step, "forward_per_sample_s": fwd,
                             "epoch_s_est": step * np.ceil(1257 / BATCH) + 2 * 360 * fwd})
    if "memory" in PARTS:
        rows += memory_rows(lambda: SGDTrainer(sgd_config("pulse", HIDDEN, 1, max(TRAIN, 5 * BATCH))), f"pulse H={HIDDEN}")
    if "accuracy" in PARTS:
        for update in ("pulse", "ideal"):
            t = time.perf_counter()
            with SGDTrainer(sgd_config(update, HIDDEN, EPOCHS, TRAIN)) as tr:
                hist = tr.fit(log=None)
            save_run(hist, RESULTS / f"sgd_{update}", f"pulse-based SGD on digits ({update} updates, bench run)")
            last = hist[-1]
            rows.append({"part": "accuracy", "run": f"{update} H={HIDDEN}", "train_samples": len(tr.dataset.x_train),
                         "epochs": EPOCHS, "test_acc": last["test_acc"], "cell_pulses": last["cell_pulses"],
                         "energy_J": last["energy"], "seconds": time.perf_counter() - t})
        base = backprop_baseline(tr.dataset, HIDDEN, epochs=max(EPOCHS, 10))
        rows.append({"part": "accuracy", "run": f"backprop numpy H={HIDDEN}", "train_samples": len(tr.dataset.x_train),
                     "epochs": len(base), "test_acc": base[-1]["test_acc"]})
    for part in ("steps", "memory", "accuracy"):
        chunk = [{k: v for k, v in r.items() if k != "part"} for r in rows if r["part"] == part]
        if chunk:
            print(f"-- {part}")
            report(f"sgd_{part}", chunk, notes="steps: one batch = 2 ngspice operating points per sample + ONE pulse transient "
           "(both layers); epoch_s_est = step x batches + test reads. accuracy: digits test split.")


if __name__ == "__main__":
    main()
