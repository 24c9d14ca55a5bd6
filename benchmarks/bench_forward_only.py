"""Forward-only (reset-only) benchmarks on ``stanford_pku`` arrays, digits classes 0-3.

The runs use the tuned run files ``configs/forward_only_ff.toml`` and
``configs/forward_only_competitive.toml`` (hidden 16, goodness-margin gate).

1. Time per training step (a batch of the config's ``batch_size`` samples: 4 operating points per
   sample for ``ff``, 2 for ``competitive``, plus one RESET transient per batch, both layers of a pass
   in one slot) for hidden sizes ``MEMCOSIM_BENCH_FO_SIZES``, and the implied epoch time on the
   4-class training split (first batches: every sample is still pulsed, the slowest part of a run).
2. Memory over an epoch (resident set size after the first batch and at the end).
3. Accuracy (test split never trained on) of ``ff`` and ``competitive`` with RESET pulses (and ideal
   decreases) next to the backprop baseline of the same hidden size; seconds per epoch; update
   energy integrated from the simulated pulse waveforms (sum of -V I dt of the programming drivers)
   per RESET pulse, and the energy of programming the same weight changes with SET/RESET (measured
   on every ``compare_every``-th update, then undone). ``MEMCOSIM_BENCH_FO_EPOCHS`` /
   ``MEMCOSIM_BENCH_FO_TRAIN`` (0 = the config's epochs / the whole training split),
   ``MEMCOSIM_BENCH_FO_RULES``, ``MEMCOSIM_BENCH_FO_MODES``; one table per rule
   (``forward_only_accuracy_<rule>``), learning curves (PNG + CSV) in
   ``benchmarks/results/forward_only_<rule>_<mode>/``. The full accuracy part takes about an hour
   (ff) and 25 min (competitive) per mode on 2 cores; the two rules can run in two processes.
4. Energy per update (part ``energy``, a few minutes): one epoch of each rule with RESET pulses on the first
   ``MEMCOSIM_BENCH_FO_ENERGY_TRAIN`` training samples (default 48); joules per update (one transient per
   batch) and per RESET pulse of every supply group of the circuit (programming drivers, row DACs, TIAs,
   row and array sources), their sum, the programming drivers alone (what was reported before the
   session integrated every supply), and the SET/RESET comparison on every ``compare_every``-th update.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_sgd import memory_rows, step_times
from benchmarks.common import RESULTS, report

EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_FO_EPOCHS", "0"))
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_TRAIN", "0"))
MEMORY_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_MEMORY_TRAIN", "120"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_FO_SIZES", "8,16,32,64").split(",")]
PARTS = os.environ.get("MEMCOSIM_BENCH_FO_PARTS", "steps,memory,accuracy,energy").split(",")
ENERGY_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_ENERGY_TRAIN", "48"))
RULES = os.environ.get("MEMCOSIM_BENCH_FO_RULES", "ff,competitive").split(",")
MODES = os.environ.get("MEMCOSIM_BENCH_FO_MODES", "pulse,ideal").split(",")
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
NOTES = ("RESET-only: every update one sub-1 V RESET pulse per selected cell; energy = integral of -V I dt of every "
         "supply of the circuit (programming drivers, row DACs, TIAs, row and array sources) over the simulated pulse "
         "transients.")


def fo_config(rule: str, update: str, hidden: int | None = None, epochs: int = 0, train: int = 0):
    """The tuned run file of ``rule`` with the update mode, and hidden size / epochs / training samples if given."""
    from memcosim.trainers.config import load_run_config

    cfg = load_run_config(CONFIGS / f"forward_only_{rule}.toml")
    cfg.train.update = update
    cfg.train.progress = False
    if epochs:
        cfg.train.epochs = epochs
    if train:
        cfg.train.train_limit = train
    if hidden:
        cfg.forward_only.hidden = hidden
    return cfg


def energy_rows() -> list[dict]:
    """Joules per update and per RESET pulse, by supply group, of one short epoch of each rule (pulse mode)."""
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    rows = []
    for rule in RULES:
        cfg = fo_config(rule, "pulse", None, 1, ENERGY_TRAIN)
        t = time.perf_counter()
        with ForwardOnlyTrainer(cfg) as tr:
            tr.fit(log=None)
            c = dict(tr.counters)
        print(f"  energy {rule}: {ENERGY_TRAIN} samples, {c['transients']} updates in {time.perf_counter() - t:.0f} s",
              flush=True)
        updates, pulses = max(c["transients"], 1), max(c["reset_pulses"], 1)
        groups = {k[len("energy_"):]: v for k, v in c.items() if k.startswith("energy_")}
        for name, joules in [("all supplies", c["energy"])] + sorted(groups.items()):
            rows.append({"part": "energy", "run": f"{rule} H={cfg.forward_only.hidden}", "group": name,
                         "updates": c["transients"], "reset_pulses": c["reset_pulses"], "J_per_update": joules / updates,
                         "J_per_reset_pulse": joules / pulses, "share": joules / c["energy"] if c["energy"] else 0.0})
        if c["compared_pulses"]:
            rows.append({"part": "energy", "run": f"{rule} H={cfg.forward_only.hidden}",
                         "group": "SET/RESET over RESET-only (all supplies)", "updates": c["transients"],
                         "reset_pulses": c["compared_pulses"],
                         "J_per_reset_pulse": c["compared_energy_set_reset"] / c["compared_pulses"],
                         "share": c["compared_energy_set_reset"] / c["compared_energy_reset_only"]})
    return rows


def main() -> None:
    from memcosim.trainers.backprop_baseline import backprop_baseline
    from memcosim.trainers.crossbar_report import save_run
    from memcosim.trainers.forward_only import ForwardOnlyTrainer
    from memcosim.trainers.datasets import dataset_for

    rows: list[dict] = []
    if "steps" in PARTS:
        for hidden in SIZES:
            for rule in RULES:
                cfg = fo_config(rule, "pulse", hidden, 1)
                bs = cfg.train.batch_size
                cfg.train.train_limit = 4 * bs
                with ForwardOnlyTrainer(cfg) as tr:
                    step, fwd = step_times(tr)
                    devices = tr.circuit.session.states.size
                full = dataset_for(fo_config(rule, "pulse"))
                n_train, n_test = len(full.x_train), len(full.x_test)
                rows.append({"part": "steps", "run": f"{rule} H={hidden}", "devices": devices, "step_s": step,
                             "predict_per_sample_s": fwd, "epoch_s_est": step * np.ceil(n_train / bs) + n_test * fwd})
    if "memory" in PARTS:
        rows += memory_rows(lambda: ForwardOnlyTrainer(fo_config("competitive", "pulse", None, 1, MEMORY_TRAIN)),
                            "competitive H=16")
    if "accuracy" in PARTS:
        for rule in RULES:
            dataset, hidden = None, 0
            for update in MODES:
                t = time.perf_counter()
                cfg = fo_config(rule, update, None, EPOCHS, TRAIN)
                hidden = cfg.forward_only.hidden
                with ForwardOnlyTrainer(cfg) as tr:
                    hist = tr.fit(log=None)
                    dataset = tr.dataset
                seconds = time.perf_counter() - t
                save_run(hist, RESULTS / f"forward_only_{rule}_{update}",
                         f"forward-only {rule} on digits 0-3 ({update}, reset-only)", "goodness cross-entropy")
                c = hist[-1]
                row = {"part": f"accuracy_{rule}", "run": f"{rule} {update} H={hidden}",
                       "train_samples": len(dataset.x_train), "epochs": len(hist), "test_acc": c["test_acc"],
                       "best_test_acc": max(h["test_acc"] for h in hist), "reset_pulses": c["reset_pulses"],
                       "conductance_increases": c["conductance_increases"], "s_per_epoch": seconds / len(hist)}
                if update == "pulse" and c["compared_pulses"]:
                    row["energy_J"] = c["energy"]
                    row["J_per_reset_pulse"] = c["compared_energy_reset_only"] / c["compared_pulses"]
                    row["J_per_pulse_set_reset"] = c["compared_energy_set_reset"] / c["compared_pulses"]
                    row["set_reset_over_reset_only"] = c["compared_energy_set_reset"] / c["compared_energy_reset_only"]
                rows.append(row)
            base = backprop_baseline(dataset, hidden, epochs=10)
            rows.append({"part": f"accuracy_{rule}", "run": f"backprop numpy H={hidden}",
                         "train_samples": len(dataset.x_train), "epochs": len(base), "test_acc": base[-1]["test_acc"]})
    if "energy" in PARTS:
        rows += energy_rows()
    for part in ["steps", "memory"] + [f"accuracy_{r}" for r in RULES] + ["energy"]:
        chunk = [{k: v for k, v in r.items() if k != "part"} for r in rows if r["part"] == part]
        if chunk:
            print(f"-- {part}")
            report(f"forward_only_{part}", chunk, notes=NOTES)


if __name__ == "__main__":
    main()
