"""Where the sky130 mismatch of one seed goes (``./run bench mismatch``).

1. Read error of the corners study's array (``studies/corners.toml``: 8x8 resistor cells of 5 .. 50 uS behind
   sky130 5 V access transistors, transistor-level TIAs, 1 ohm wire segments, rows up to 0.2 V; an operating point)
   for mismatch seeds 0 .. N-1, with three parts of :func:`memcosim.circuits.sky130.apply_mismatch` switched on:
   the PDK's own per-device mismatch only (ngspice's seeded AGAUSS: the TIA op-amps, the access transistors' oxide
   and subthreshold terms), memcosim's Pelgrom threshold draws only (the access transistors; sigma printed), both
   (what a study's ``mismatch_seed`` does). Read error: mean over columns of |V_out - (-Rf G^T V)| / mean |.|.
2. The SAR comparator's offset for the same seeds: the threshold shifts that seed draws for its input pair
   (column 0 of an 8-column SAR ADC), the offset measured by bisection in ngspice (``measure_comparator``),
   against the drawn difference.

Writes ``docs/corners/mismatch.csv`` and ``docs/corners/mismatch.png``. ``MEMCOSIM_BENCH_SEEDS`` (default 6).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import report  # noqa: E402
from memcosim.circuits import sky130  # noqa: E402
from memcosim.circuits.crossbar import build_crossbar  # noqa: E402
from memcosim.circuits.netlist import Netlist  # noqa: E402
from memcosim.circuits.periphery.adc import SarAdc  # noqa: E402
from memcosim.config.periphery import AdcConfig  # noqa: E402
from memcosim.cosim.conversion import measure_comparator  # noqa: E402
from memcosim.cosim.engine import open_session  # noqa: E402
from memcosim.fileio import atomic_write_text, save_png  # noqa: E402
from memcosim.studies.config import load_study  # noqa: E402
from memcosim.studies.read import read_array, read_pattern  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "corners"
SEEDS = int(os.environ.get("MEMCOSIM_BENCH_SEEDS", "6"))
PARTS = {"pdk": (True, False), "threshold": (False, True), "both": (True, True)}  # (PDK AGAUSS, Pelgrom draws)


def read_error(study, point, seed: int | None, pdk: bool, threshold: bool) -> tuple[float, float]:
    """Read error of the study's pattern on ``point``'s array with the chosen mismatch parts; and the sigma (volts)
    of the access transistors' threshold draws (0 without them)."""
    xbar = build_crossbar(read_array(study, point))
    sigma = 0.0
    if seed is not None:
        sigma = sky130.apply_mismatch(xbar.netlist, seed, pdk=pdk, threshold=threshold).sigma_access
    g, v = read_pattern(study.read, point.arrays.size, study.settings.seed)
    with open_session(xbar.netlist) as s:
        codes = xbar.blocks.dac.code(v)
        s.set_sources(xbar.dac_values(codes))
        applied = np.asarray(xbar.blocks.dac.voltage(codes), dtype=float)
        out = s.op(voltages=xbar.tia_outputs).stack(xbar.tia_outputs)
    ideal = -study.read.tia.r_feedback * (g.T @ applied)
    return float(np.mean(np.abs(out - ideal)) / np.mean(np.abs(ideal))), sigma


def main() -> None:
    study = load_study(ROOT / "studies" / "corners.toml")
    point = next(p for p in study.points if p.corner == "tt" and p.temperature == 27.0 and p.mismatch_seed < 0)
    rows = []
    t = time.perf_counter()
    nominal, _ = read_error(study, point, None, False, False)
    rows.append({"part": "none", "seed": -1, "read_error_pct": 100 * nominal, "sigma_vth_mV": 0.0,
                 "offset_drawn_mV": float("nan"), "offset_measured_mV": float("nan"), "seconds": time.perf_counter() - t})
    adc = SarAdc(AdcConfig(bits=8, v_min=-1, v_max=0, circuit="sky130"))
    for seed in range(SEEDS):
        for part, (pdk, threshold) in PARTS.items():
            t = time.perf_counter()
            err, sigma = read_error(study, point, seed, pdk, threshold)
            rows.append({"part": part, "seed": seed, "read_error_pct": 100 * err, "sigma_vth_mV": 1e3 * sigma,
                         "offset_drawn_mV": float("nan"), "offset_measured_mV": float("nan"),
                         "seconds": time.perf_counter() - t})
            print(f"  seed {seed} {part}: read error {100 * err:.4f} %", flush=True)
        t = time.perf_counter()
        net = Netlist(title="sar")
        adc.define(net)
        for j in range(8):
            adc.place(net, f"ADC{j}", (f"in{j}",))
        draws = sky130.apply_mismatch(net, seed)
        dp, dn = draws.comparators["XADC0"]
        fig = measure_comparator(adc, offset_span=30e-3, offset_steps=12, pair=(dp, dn))
        rows.append({"part": "comparator", "seed": seed, "read_error_pct": float("nan"),
                     "sigma_vth_mV": 1e3 * draws.sigma_pair, "offset_drawn_mV": 1e3 * (dp - dn),
                     "offset_measured_mV": 1e3 * fig.offset, "seconds": time.perf_counter() - t})
        print(f"  seed {seed} comparator: drawn {1e3 * (dp - dn):+.3f} mV, measured {1e3 * fig.offset:+.3f} mV", flush=True)
    notes = ("read: corners study 8x8 sky130 1T1R array, tt, 27 C, operating point; comparator: SAR column 0, "
             "8 bit over -1..0 V, tt, 1.8 V, 1 ns clock")
    report("mismatch", rows, notes)
    keys = list(rows[0])
    atomic_write_text(OUT / "mismatch.csv", ",".join(keys) + "\n" + "".join(
        ",".join(f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]) for k in keys) + "\n" for r in rows))
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    for part, marker in (("pdk", "o"), ("threshold", "s"), ("both", "x")):
        sel = [r for r in rows if r["part"] == part]
        a.plot([r["seed"] for r in sel], [r["read_error_pct"] for r in sel], marker, label={
            "pdk": "PDK mismatch only", "threshold": "access Vth (Pelgrom) only", "both": "both (study)"}[part])
    a.axhline(100 * nominal, color="grey", lw=0.8, label="no mismatch")
    a.set_xlabel("mismatch seed")
    a.set_ylabel("read error (%)")
    a.set_title("8x8 sky130 1T1R read (corners study)", fontsize=9)
    a.legend(fontsize=7)
    comp = [r for r in rows if r["part"] == "comparator"]
    drawn = [r["offset_drawn_mV"] for r in comp]
    b.plot(drawn, [r["offset_measured_mV"] for r in comp], "o")
    lim = max(1.0, *(abs(x) for x in drawn)) * 1.2
    b.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
    b.set_xlabel("drawn dVth(inp) - dVth(inn) (mV)")
    b.set_ylabel("measured comparator offset (mV)")
    b.set_title("StrongARM offset per seed (SAR column 0)", fontsize=9)
    fig.tight_layout()
    save_png(fig, OUT / "mismatch.png")
    print(f"wrote {OUT / 'mismatch.csv'} and {OUT / 'mismatch.png'}")
