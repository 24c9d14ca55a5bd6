"""Forward-only (reset-only) benchmarks on ``stanford_pku`` arrays, digits classes 0-3.

1. Time per training step (a batch of ``MEMCOSIM_BENCH_FO_BATCH`` samples: 4 operating points per
   sample for ``ff``, 2 for ``competitive``, plus one RESET transient per batch) for hidden sizes
   8..64, and the implied epoch time on the 4-class training split.
2. Memory over an epoch (resident set size after the first batch and at the end).
3. Accuracy (test split never trained on) of ``ff`` and ``competitive`` with RESET pulses (and ideal
   decreases) next to the backprop baseline of the same size; update energy integrated from the
   simulated pulse waveforms (sum of -V I dt of the programming drivers) per RESET pulse, and the
   energy of programming the same weight changes with SET/RESET (measured on every
   ``compare_every``-th update, then undone). Epochs / training samples limited by
   ``MEMCOSIM_BENCH_FO_EPOCHS`` / ``MEMCOSIM_BENCH_FO_TRAIN`` (0 = the whole split); learning curves
   (PNG + CSV) in ``benchmarks/results/forward_only_<rule>_<mode>/``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.bench_sgd import memory_rows, step_times
from benchmarks.common import RESULTS, report

EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_FO_EPOCHS", "1"))
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_TRAIN", "120"))
HIDDEN = int(os.environ.get("MEMCOSIM_BENCH_FO_HIDDEN", "32"))
BATCH = int(os.environ.get("MEMCOSIM_BENCH_FO_BATCH", "4"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_FO_SIZES", "8,16,32,64").split(",")]
PARTS = os.environ.get("MEMCOSIM_BENCH_FO_PARTS", "steps,memory,accuracy").split(",")
MODES = os.environ.get("MEMCOSIM_BENCH_FO_MODES", "pulse,ideal").split(",")


def fo_config(rule: str, update: str, hidden: int, epochs: int, train: int):
    from memcosim.trainers.config import RunConfig

    return RunConfig(train=dict(dataset="digits", classes=[0, 1, 2, 3], algorithm="forward_only", update=update,
                                epochs=epochs, batch_size=BATCH, train_limit=train, seed=0, progress=False),
                     forward_only=dict(hidden=hidden, rule=rule))


def main() -> None:
    from memcosim.trainers.backprop_baseline import backprop_baseline
    from memcosim.trainers.crossbar_report import save_run
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    rows: list[dict] = []
    if "steps" in PARTS:
        for hidden in SIZES:
            for rule in ("ff", "competitive"):
                with ForwardOnlyTrainer(fo_config(rule, "pulse", hidden, 1, 4 * BATCH)) as tr:
                    step, fwd = step_times(tr)
                    devices = tr.circuit.session.states.size
                    n_train = 574
                rows.append({"part": "steps", "run": f"{rule} H={hidden}", "devices": devices, "step_s": step,
                             "predict_per_sample_s": fwd, "epoch_s_est": step * np.ceil(n_train / BATCH) + 144 * fwd})
    if "memory" in PARTS:
        rows += memory_rows(lambda: ForwardOnlyTrainer(fo_config("competitive", "pulse", HIDDEN, 1, max(TRAIN, 5 * BATCH))),
                            f"competitive H={HIDDEN}")
    if "accuracy" in PARTS:
        dataset = None
        for rule in ("ff", "competitive"):
            for update in MODES:
                t = time.perf_counter()
                with ForwardOnlyTrainer(fo_config(rule, update, HIDDEN, EPOCHS, TRAIN)) as tr:
                    hist = tr.fit(log=None)
                    dataset = tr.dataset
                save_run(hist, RESULTS / f"forward_only_{rule}_{update}",
                         f"forward-only {rule} on digits 0-3 ({update}, reset-only)", "goodness cross-entropy")
                c = hist[-1]
                row = {"part": "accuracy", "run": f"{rule} {update} H={HIDDEN}", "train_samples": len(dataset.x_train),
                       "epochs": EPOCHS, "test_acc": c["test_acc"], "reset_pulses": c["reset_pulses"],
                       "conductance_increases": c["conductance_increases"], "seconds": time.perf_counter() - t}
                if update == "pulse" and c["compared_pulses"]:
                    row["energy_J"] = c["energy"]
                    row["J_per_reset_pulse"] = c["compared_energy_reset_only"] / c["compared_pulses"]
                    row["J_per_pulse_set_reset"] = c["compared_energy_set_reset"] / c["compared_pulses"]
                    row["set_reset_over_reset_only"] = c["compared_energy_set_reset"] / c["compared_energy_reset_only"]
                rows.append(row)
        base = backprop_baseline(dataset, HIDDEN, epochs=max(EPOCHS, 10))
        rows.append({"part": "accuracy", "run": f"backprop numpy H={HIDDEN}", "train_samples": len(dataset.x_train),
                     "epochs": len(base), "test_acc": base[-1]["test_acc"]})
    for part in ("steps", "memory", "accuracy"):
        chunk = [{k: v for k, v in r.items() if k != "part"} for r in rows if r["part"] == part]
        if chunk:
            print(f"-- {part}")
            report(f"forward_only_{part}", chunk, notes="RESET-only: every update one sub-1 V RESET pulse per selected cell; "
           "energy = integral of -V I dt of the programming drivers over the simulated pulse transients.")


if __name__ == "__main__":
    main()
