"""Energy per update as the forward-only paper measures it: one sub-1 V RESET pulse against program-and-verify of
the same conductance change, and the energy per inference with and without learning
(:mod:`memcosim.studies.energy_update`).

On the circuit of ``configs/forward_only_competitive.toml`` (``stanford_pku`` pairs initialised high, V/2
drivers, row DACs, column TIAs and ADCs, the forward-only network's first layer), ``MEMCOSIM_BENCH_EU_CELLS``
cells (default 10, seeded; each first set to a conductance drawn uniformly in [``MEMCOSIM_BENCH_EU_G_LOW``
(default 1e-4 S), g_max], the range a trained network holds): reset-only (one -0.83 V, 100 ns pulse) against SET/RESET write-and-verify to the
same read conductance within ``MEMCOSIM_BENCH_EU_TOL`` of the change (default 0.5), with two incremental
step pulse (ISPP) policies of 100 ns pulses that restart at each change of direction:

* ``ispp 20 mV``: SET from +0.70 V and RESET from -0.70 V in 0.02 V steps up to +1.2 / -1.0 V;
* ``ispp 50 mV``: the same from +-0.60 V in 0.05 V steps.

(Fixed pulses at the preset's +1.2 V / -0.9 V move a high-state cell by +2.6 % / -3.9 %: they cannot land
within a fraction of a 0.4 % change, and a trial spent its whole budget; see ``docs/energy_update/``.)

Verify and inference reads are held ``MEMCOSIM_BENCH_EU_TREAD`` seconds (default 100e-9). Every supply group
is counted. Energy per inference on ``MEMCOSIM_BENCH_EU_SAMPLES`` test samples (default 8) and the update
energy per training sample over one epoch of ``MEMCOSIM_BENCH_EU_TRAIN`` samples (default 48).

Writes ``benchmarks/results/energy_update.json`` (summary and inference rows) and, in ``docs/energy_update/``,
``cells.csv`` (every cell and method), ``summary.json`` and ``energy_update.png``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import report
from memcosim.fileio import atomic_write_text, save_png

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / os.environ.get("MEMCOSIM_BENCH_EU_DOCS", "energy_update")
RUN = ROOT / "configs" / os.environ.get("MEMCOSIM_BENCH_EU_RUN", "forward_only_competitive.toml")
CELLS = int(os.environ.get("MEMCOSIM_BENCH_EU_CELLS", "10"))
TOL = float(os.environ.get("MEMCOSIM_BENCH_EU_TOL", "0.5"))
T_READ = float(os.environ.get("MEMCOSIM_BENCH_EU_TREAD", "100e-9"))
SAMPLES = int(os.environ.get("MEMCOSIM_BENCH_EU_SAMPLES", "8"))
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_EU_TRAIN", "48"))
G_LOW = float(os.environ.get("MEMCOSIM_BENCH_EU_G_LOW", "1e-4"))
MAX_PULSES = int(os.environ.get("MEMCOSIM_BENCH_EU_MAX_PULSES", "40"))
NOTES = ("energy = integral of -V I dt of every supply of the circuit (programming drivers, TIAs, DACs, row and "
         "array sources); program-and-verify = its pulses plus every verify read (the first included) held t_read; "
         "ratios over the converged cells only (success_rate).")


def policies(width: float, edge: float) -> dict:
    """The two program-and-verify policies of the benchmark (see the module docstring)."""
    from memcosim.programming.write_verify import IncrementalPolicy

    return {"ispp 20 mV": IncrementalPolicy(set_start=0.70, reset_start=-0.70, step=0.02, set_stop=1.2,
                                            reset_stop=-1.0, width=width, edge=edge),
            "ispp 50 mV": IncrementalPolicy(set_start=0.60, reset_start=-0.60, step=0.05, set_stop=1.2,
                                            reset_stop=-1.0, width=width, edge=edge)}


def plot(rows: list[dict], summary: list[dict], path: Path) -> None:
    """Per-cell energies (log scale) of every method, and the ratio to reset-only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [s["method"] for s in summary]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for k, m in enumerate(methods):
        pts = [r for r in rows if r["method"] == m]
        x = k + np.linspace(-0.25, 0.25, len(pts))
        ax.semilogy(x, [r["E_total"] * 1e12 for r in pts], "o", mfc="none" if "reset" in m else None, label=m)
        ok = [r for r in pts if r["converged"]]
        bad = [r for r in pts if not r["converged"]]
        if m != "reset-only":
            bx.semilogy([k] * len(ok), [r["ratio"] for r in ok], "o", alpha=0.7)
            bx.semilogy([k] * len(bad), [r["ratio"] for r in bad], "x", color="r")
    ax.set_xticks(range(len(methods)), [m.replace(" (", "\n(") for m in methods], fontsize=8)
    ax.set_ylabel("energy per update, every supply (pJ)")
    bx.set_xticks(range(len(methods)), [m.replace(" (", "\n(") for m in methods], fontsize=8)
    bx.set_ylabel("program-and-verify / reset-only")
    bx.set_title("x: not converged within the pulse budget", fontsize=8)
    for a in (ax, bx):
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_png(fig, path)


def main() -> None:
    from memcosim.studies.energy_update import UpdateEnergyConfig, run_update_energy
    from memcosim.trainers.config import load_run_config

    run = load_run_config(RUN)
    run.train.progress = False
    cfg = UpdateEnergyConfig(cells=CELLS, dg_tolerance=TOL, max_pulses=MAX_PULSES, t_read=T_READ, samples=SAMPLES,
                             train_samples=TRAIN, g_start_low=G_LOW, policies=policies(run.forward_only.reset.width, run.forward_only.reset.rise))
    t0 = time.perf_counter()
    rows, summary, inference = run_update_energy(run, cfg, log=lambda m: print("  " + m, flush=True))
    seconds = time.perf_counter() - t0
    conditions = {"run": RUN.name, "device": run.forward_only.device.model, "scheme": run.forward_only.scheme,
                  "reset_V": run.forward_only.reset.amplitude, "reset_width_s": run.forward_only.reset.width,
                  "dg_tolerance": TOL, "g_start_low_S": G_LOW, "max_pulses": MAX_PULSES, "t_read_s": T_READ, "cells": CELLS,
                  "seconds": seconds}
    print("-- update energy per cell method (means over converged cells; joules)")
    report("energy_update", summary + [{"method": "inference", **inference}], notes=NOTES + f" {conditions}")
    DOCS.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(DOCS / "cells.csv", buf.getvalue())
    atomic_write_text(DOCS / "summary.json", json.dumps({"conditions": conditions, "summary": summary,
                                                         "inference": inference}, indent=2) + "\n")
    plot(rows, summary, DOCS / "energy_update.png")
    print(f"wrote {DOCS}/cells.csv, summary.json, energy_update.png ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
