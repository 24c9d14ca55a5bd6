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

``MEMCOSIM_BENCH_EU_POLICIES=preset`` (not in the default run): fixed pulses at the preset's +1.2 V / -0.9 V,
which move a high-state cell by a few per cent, so they cannot land within a fraction of a 0.4 % change.

Verify and inference reads are held ``MEMCOSIM_BENCH_EU_TREAD`` seconds (default 100e-9). Every supply group
is counted. Energy per inference on ``MEMCOSIM_BENCH_EU_SAMPLES`` test samples (default 8) and the update
energy per training sample over one epoch of ``MEMCOSIM_BENCH_EU_TRAIN`` samples (default 48).

Part ``response`` (seconds; ``MEMCOSIM_BENCH_EU_PARTS``, default ``response,updates``): the relative
read-conductance change and the energy of one 100 ns pulse (5 ns edges) at each amplitude on a lone 1x1
``stanford_pku`` cell with V/2 drivers at 2.0e-4 S, written to ``pulse_response.csv``.

Writes ``benchmarks/results/energy_update.json`` (summary and inference rows) and, in ``docs/energy_update/``,
``cells.csv`` (every cell and method), ``summary.json``, ``energy_update.png`` and ``sensitivity.csv``: the
ratio of the mean energies recomputed from the measured per-cell figures for longer verify reads (a DC read:
its energy grows in proportion to its length) and without the TIA's share of the pulses (as with the TIAs
switched off the columns during writes). ``MEMCOSIM_BENCH_EU_FROM=docs/energy_update/cells.csv`` recomputes
that table from a saved ``cells.csv`` without ngspice.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import report
from memcosim.fileio import atomic_write_csv, atomic_write_text, save_png

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
    """The program-and-verify policies of the benchmark (see the module docstring), those named in
    ``MEMCOSIM_BENCH_EU_POLICIES`` (``ispp20``, ``ispp50``, ``preset``; default the first two)."""
    from memcosim.config.pulse import PulseConfig
    from memcosim.programming.write_verify import IncrementalPolicy
    from memcosim.studies.energy_update import preset_policy

    every = {"ispp20": ("ispp 20 mV", IncrementalPolicy(PulseConfig(0.70, width, edge), PulseConfig(-0.70, width, edge),
                                                        step=0.02, set_stop=1.2, reset_stop=-1.0)),
             "ispp50": ("ispp 50 mV", IncrementalPolicy(PulseConfig(0.60, width, edge), PulseConfig(-0.60, width, edge),
                                                        step=0.05, set_stop=1.2, reset_stop=-1.0)),
             "preset": ("preset", preset_policy("stanford_pku", width, edge))}
    chosen = os.environ.get("MEMCOSIM_BENCH_EU_POLICIES", "ispp20,ispp50").split(",")
    return dict(every[name] for name in chosen)


PARTS = os.environ.get("MEMCOSIM_BENCH_EU_PARTS", "response,updates").split(",")
AMPLITUDES = (-0.70, -0.75, -0.80, -0.83, -0.86, -0.90, -1.0, 0.70, 0.80, 0.90, 1.0, 1.2)


def pulse_response(g_start: float = 2.0e-4) -> list[dict]:
    """Change of the read conductance (0.2 V) and energy (every supply) of one pulse per amplitude, on a lone
    1x1 cell restored to ``g_start`` siemens before each."""
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.config.array import ArrayConfig, DeviceConfig
    from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
    from memcosim.config.pulse import PulseConfig
    from memcosim.cosim.device_table import conductance_device
    from memcosim.cosim.engine import open_session
    from memcosim.cosim.readout import read_cell
    from memcosim.programming.pulses import PulseSpec, apply_pulse

    state = float(conductance_device("stanford_pku", {}, 0.2).state_for(np.array([g_start]))[0])
    xb = build_crossbar(ArrayConfig(1, 1, DeviceConfig("stanford_pku"), states=state, periphery=PeripheryConfig(
        programming=ProgrammingConfig("V/2", PulseConfig(1.0, 100e-9)))))
    rows = []
    with open_session(xb.netlist) as s:
        for a in AMPLITUDES:
            s.set_states([state])
            g0 = read_cell(s, xb, 0, 0, 0.2)
            r = apply_pulse(s, xb, PulseSpec(a, 100e-9, 5e-9, 5e-9), "cell", (0, 0))
            rows.append({"amplitude_V": a, "g_start_S": g0, "dG_rel": read_cell(s, xb, 0, 0, 0.2) / g0 - 1,
                         "E_pulse_J": r.total_energy})
    return rows


READ_TIMES = (100e-9, 1e-6, 10e-6, 100e-6)


def sensitivity(rows: list[dict]) -> list[dict]:
    """Ratio of the mean energies (converged cells) against reset-only for verify reads of other lengths
    (``E_read_one``, a DC read, grows in proportion to the read time) and, in ``ratio_drivers_only``, with only
    the programming drivers counted during the pulses (the TIAs switched off the columns while writing; the
    verify reads keep every supply)."""
    reset = {r["cell"]: r for r in rows if r["method"] == "reset-only"}
    out = []
    for method in dict.fromkeys(r["method"] for r in rows if r["method"] != "reset-only"):
        ok = [r for r in rows if r["method"] == method and str(r["converged"]) == "True"]
        if not ok:
            continue
        ref = np.mean([float(reset[r["cell"]]["E_total"]) for r in ok])
        ref_drivers = np.mean([float(reset[r["cell"]]["E_programming_drivers"]) for r in ok])
        for t in READ_TIMES:
            reads = np.mean([float(r["E_reads"]) * t / T_READ for r in ok])
            pv = np.mean([float(r["E_pulses"]) for r in ok]) + reads
            pv_drivers = np.mean([float(r["E_programming_drivers"]) for r in ok]) + reads
            out.append({"method": method, "t_read_s": t, "E_pv_J": pv, "E_reset_J": ref, "ratio": pv / ref,
                        "E_pv_drivers_only_J": pv_drivers, "E_reset_drivers_only_J": ref_drivers,
                        "ratio_drivers_only": pv_drivers / ref_drivers})
    return out


def plot(rows: list[dict], table: list[dict], path: Path) -> None:
    """Per-cell energy of every method (log scale; crosses: not converged), and the ratio of the mean energies
    against the verify-read time, with every supply and with the pulses' drivers only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for k, m in enumerate(methods):
        pts = [r for r in rows if r["method"] == m]
        x = k + np.linspace(-0.25, 0.25, len(pts))
        ok = np.array([str(r["converged"]) == "True" for r in pts])
        e = np.array([float(r["E_total"]) * 1e12 for r in pts])
        ax.semilogy(x[ok], e[ok], "o", color=f"C{k}")
        ax.semilogy(x[~ok], e[~ok], "x", color=f"C{k}")
    ax.set_xticks(range(len(methods)), [m.replace(" (", "\n(") for m in methods], fontsize=8)
    ax.set_ylabel("energy per update, every supply (pJ)")
    ax.set_title("verify reads 100 ns; x: not within tolerance after the pulse budget", fontsize=8)
    for k, m in enumerate(dict.fromkeys(t["method"] for t in table)):
        pts = [t for t in table if t["method"] == m]
        t_read = [t["t_read_s"] for t in pts]
        bx.loglog(t_read, [t["ratio"] for t in pts], "o-", label=f"{m}: every supply")
        bx.loglog(t_read, [t["ratio_drivers_only"] for t in pts], "s--", label=f"{m}: pulses' drivers only")
    bx.axhline(460, color="0.5", lw=0.8)
    bx.text(1.2e-7, 500, "paper: 460x", fontsize=8, color="0.4")
    bx.set_ylim(top=1500)
    bx.set_xlabel("verify read time (s)")
    bx.set_ylabel("program-and-verify / reset-only")
    bx.legend(fontsize=7)
    for a in (ax, bx):
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_png(fig, path)


def write_sensitivity(rows: list[dict]) -> list[dict]:
    """Print, report and write ``sensitivity.csv`` (see :func:`sensitivity`); returns the table."""
    table = sensitivity(rows)
    print("-- ratio against verify-read time and without the pulses' TIA energy (from the measured cells)")
    report("energy_update_sensitivity", table, notes=f"derived from the per-cell figures measured with t_read = {T_READ:g} s")
    atomic_write_csv(DOCS / "sensitivity.csv", table)
    return table


def main() -> None:
    from memcosim.studies.energy_update import UpdateEnergyConfig, run_update_energy
    from memcosim.trainers.config import load_run_config

    saved = os.environ.get("MEMCOSIM_BENCH_EU_FROM")
    if saved:
        with open(ROOT / saved, newline="") as fh:
            rows = list(csv.DictReader(fh))
        plot(rows, write_sensitivity(rows), DOCS / "energy_update.png")
        return

    if "response" in PARTS:
        response = pulse_response()
        print("-- one 100 ns pulse on a lone 1x1 cell at 2e-4 S")
        report("energy_update_pulse_response", response)
        atomic_write_csv(DOCS / "pulse_response.csv", response)
    if "updates" not in PARTS:
        return
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
    atomic_write_csv(DOCS / "cells.csv", rows)
    atomic_write_text(DOCS / "summary.json", json.dumps({"conditions": conditions, "summary": summary,
                                                         "inference": inference}, indent=2) + "\n")
    plot(rows, write_sensitivity(rows), DOCS / "energy_update.png")
    print(f"wrote {DOCS}/cells.csv, summary.json, energy_update.png ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
