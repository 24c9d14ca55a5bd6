"""Pulse-based SGD benchmarks (crossbar layers in ngspice, ``vteam`` with exponential I-V).

1. Time per training step (one batch of ``MEMCOSIM_BENCH_SGD_BATCH`` samples: 2 operating points per
   sample + the batch's pulse slots) and per sample, for hidden sizes 8..64 (the first array is
   65 x 2H devices), Manhattan and stochastic pulses and ideal writes, and the epoch time they imply
   for the 1,437-sample digits training split.
2. Pulse calibration (the issue-5 diagnosis): weight change of one coincidence up and down and the
   common-mode drift of a pair per up-and-down cycle, for vteam's Biolek window at 0.6 V (the old
   default) and the Kvatinsky window at 0.57 / 0.59 V.
   Transients: one batch's pulse slots as ONE transient (what the trainer does) against the same
   slots split into transients of at most 18 slots (what it did while ngspice command lines capped
   line waveforms), from the same device states: seconds (median of 3, alternating order) and the
   largest state difference between the two, for the Manhattan and the stochastic rule.
3. Memory over an epoch: resident set size after the first batch and at the end of the epoch.
4. Accuracy on digits (10 classes, test split never trained on): ``configs/sgd_digits_manhattan.toml``,
   ``configs/sgd_digits_stochastic.toml`` and the same network with ideal writes, ngspice in the
   loop, and the backprop baseline of the same 64-H-10 network in numpy. Epochs and training-set size
   are limited for shared 2-core machines (``MEMCOSIM_BENCH_SGD_EPOCHS``, ``MEMCOSIM_BENCH_SGD_TRAIN``;
   0 = the config's epochs / the whole split); learning curves (PNG + CSV) go to
   ``benchmarks/results/sgd_<run>/``. The full runs are ``memcosim train configs/sgd_digits_<rule>.toml``.
"""

from __future__ import annotations

import os
import time
import warnings

from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, memory_rows, report_parts, step_times

EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_SGD_EPOCHS", "1"))
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_SGD_TRAIN", "200"))
HIDDEN = int(os.environ.get("MEMCOSIM_BENCH_SGD_HIDDEN", "32"))
BATCH = int(os.environ.get("MEMCOSIM_BENCH_SGD_BATCH", "10"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_SGD_SIZES", "8,16,32,64").split(",")]
PARTS = os.environ.get("MEMCOSIM_BENCH_SGD_PARTS", "steps,calibration,transients,memory,accuracy").split(",")
SPLIT_SLOTS = 18  # slots per transient of the old split (0.57 V line waveforms within one ngspice command)
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def sgd_config(update: str, hidden: int, epochs: int, train: int, rule: str = "manhattan", **sgd):
    from memcosim.trainers.config import RunConfig

    return RunConfig(train=dict(dataset="digits", algorithm="sgd", update=update, epochs=epochs, batch_size=BATCH,
                                train_limit=train, seed=0, progress=False),
                     sgd=dict(hidden=hidden, rule=rule, **sgd))


def accuracy_config(rule: str, update: str):
    """``configs/sgd_digits_<rule>.toml`` with the benchmark's epoch and training-set limits and ``update``."""
    from memcosim.trainers.config import load_run_config

    cfg = load_run_config(CONFIGS / f"sgd_digits_{rule}.toml")
    cfg.train.update, cfg.train.progress = update, False
    cfg.train.epochs = EPOCHS or cfg.train.epochs
    cfg.train.train_limit = TRAIN
    return cfg


def calibration_rows() -> list[dict]:
    """Coincidence steps and common-mode drift per up-and-down cycle per device setting."""
    from memcosim.trainers.sgd import SGDTrainer

    rows = []
    for label, params, volts in (("Biolek window (wtype 2)", {"iv": 1, "wtype": 2}, 0.6),
                                 ("Kvatinsky window (wtype 3)", {"iv": 1, "wtype": 3}, 0.57),
                                 ("Kvatinsky window (wtype 3)", {"iv": 1, "wtype": 3}, 0.59)):
        cfg = sgd_config("pulse", 4, 1, 20, device={"model": "vteam", "params": params}, set={"amplitude": volts},
                         reset={"amplitude": -volts})
        cfg.train.test_limit = 10
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with SGDTrainer(cfg) as tr:
                rows.append({"device": label, "v_pulse": volts, "dw_up": tr.dw[0], "dw_down": tr.dw[1],
                             "drift_per_cycle_pct": 100 * tr.drift})
    return rows


def transient_rows(repeats: int = 3) -> list[dict]:
    """One batch's slots as one transient against transients of at most SPLIT_SLOTS slots, same start states."""
    from memcosim.trainers.sgd import SGDTrainer

    rows = []
    for rule in ("manhattan", "stochastic"):
        cfg = accuracy_config(rule, "pulse")
        cfg.train.train_limit = max(TRAIN, BATCH)
        with SGDTrainer(cfg) as tr:
            d = tr.dataset
            start = tr.circuit.states
            xa, aa, _, d_hid, d_out = tr.errors(d.x_train[:BATCH], d.y_train[:BATCH])
            slots = tr.batch_slots(xa, aa, d_hid, d_out)
            plans = {"one": [slots], "split": [slots[k:k + SPLIT_SLOTS] for k in range(0, len(slots), SPLIT_SLOTS)]}
            times: dict[str, list[float]] = {"one": [], "split": []}
            ends = {}
            for r in range(repeats):
                for name in (("one", "split") if r % 2 == 0 else ("split", "one")):
                    tr.circuit.set_states(start)
                    t = time.perf_counter()
                    for part in plans[name]:
                        tr.circuit.pulse_slots(part, tr.timing)
                    times[name].append(time.perf_counter() - t)
                    ends[name] = tr.circuit.states
            moved = np.abs(ends["one"] - start).max()
            one, split = float(np.median(times["one"])), float(np.median(times["split"]))
            rows.append({"rule": rule, "slots": len(slots), "split_transients": len(plans["split"]), "one_s": one,
                         "split_s": split, "split_over_one": split / one,
                         "max_state_change": float(moved),
                         "max_state_diff": float(np.abs(ends["one"] - ends["split"]).max())})
    return rows


def main() -> None:
    from memcosim.trainers.backprop_baseline import backprop_baseline
    from memcosim.trainers.crossbar_report import save_run
    from memcosim.trainers.sgd import SGDTrainer

    rows: list[dict] = []
    if "steps" in PARTS:
        for hidden in SIZES:
            for update, rule in (("pulse", "manhattan"), ("pulse", "stochastic"), ("ideal", "manhattan")):
                cfg = accuracy_config(rule, update)
                cfg.train.batch_size, cfg.train.train_limit, cfg.sgd.hidden = BATCH, 4 * BATCH, hidden
                with SGDTrainer(cfg) as tr:
                    step, fwd = step_times(tr)
                    devices = tr.circuit.session.states.size
                rows.append({"part": "steps", "run": f"{update}{' ' + rule if update == 'pulse' else ''} H={hidden}",
                             "devices": devices, "step_s": step, "forward_per_sample_s": fwd,
                             "epoch_s_est": step * np.ceil(1437 / BATCH) + 360 * fwd})
    if "calibration" in PARTS:
        rows += [dict(part="calibration", **r) for r in calibration_rows()]
    if "transients" in PARTS:
        rows += [dict(part="transients", **r) for r in transient_rows()]
    if "memory" in PARTS:
        rows += memory_rows(lambda: SGDTrainer(sgd_config("pulse", HIDDEN, 1, max(TRAIN, 5 * BATCH))), f"pulse H={HIDDEN}")
    if "accuracy" in PARTS:
        for update, rule in (("pulse", "manhattan"), ("pulse", "stochastic"), ("ideal", "manhattan")):
            cfg = accuracy_config(rule, update)
            name = f"{update}_{rule}" if update == "pulse" else update
            t = time.perf_counter()
            with SGDTrainer(cfg) as tr:
                hist = tr.fit(log=None)
            save_run(hist, RESULTS / f"sgd_{name}", f"pulse-based SGD on digits ({name.replace('_', ' ')}, bench run)")
            last = hist[-1]
            rows.append({"part": "accuracy", "run": f"{name} H={cfg.sgd.hidden}", "train_samples": len(tr.dataset.x_train),
                         "epochs": len(hist), "test_acc": last["test_acc"], "cell_pulses": last["cell_pulses"],
                         "energy_J": last["energy"], "seconds_per_epoch": (time.perf_counter() - t) / len(hist)})
        base = backprop_baseline(tr.dataset, HIDDEN, epochs=max(EPOCHS, 10))
        rows.append({"part": "accuracy", "run": f"backprop numpy H={HIDDEN}", "train_samples": len(tr.dataset.x_train),
                     "epochs": len(base), "test_acc": base[-1]["test_acc"]})
    report_parts("sgd", rows, ["steps", "calibration", "transients", "memory", "accuracy"],
                 notes="steps: one batch = 2 ngspice operating points per sample + the batch's "
                 "pulse slots (both layers) in one transient; epoch_s_est = step x batches + test reads. calibration: "
                 "drift = change of G+ + G- of a pair per up-and-down cycle. transients: one batch's slots as one "
                 f"transient vs split into transients of <= {SPLIT_SLOTS} slots (states in nm). "
                 "accuracy: digits test split.")


if __name__ == "__main__":
    main()
