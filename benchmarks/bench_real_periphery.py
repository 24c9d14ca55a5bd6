"""Transistor-level periphery on sky130: read accuracy with an error budget (32x32), and its cost (64x64).

``budget`` part. A 32x32 1T1R array (tt corner) reads a known conductance pattern: cell (i, j) is
``G_ON`` when ``(7 i + 3 j) mod 32 <= j`` else ``G_OFF`` (column j holds j + 1 ON cells, so the column
currents span the ADC range), every row at the DAC's full scale (``V_READ``). The ideal code of
column j is the behavioural quantizer of the ideal TIA output ``-R_F * V_READ * sum_i G_ij``. The
non-idealities are switched on one after another, each stage keeping the ones before:

1. ``wires``: 1R cells with ``R_WIRE`` ohm per row and column segment, an ideal TIA (gain 1e9);
2. ``access``: + the sky130 access transistor (``nfet_g5v0d10v5``, W/L = 10/0.5 um, word lines at 3.3 V);
3. ``tia``: + the transistor-level TIA when memcosim has it (``periphery.tia.circuit = "sky130"``), else
   the behavioural TIA's finite open-loop gain (``TiaConfig`` default, 1e5);
4. ``adc``: + the SAR ADC around the sky130 StrongARM comparator (``periphery.adc.circuit = "sky130"``,
   codes converted in ngspice).

The row DACs drive the rows without output resistance (``r_out = 0``), so the wires stage holds only the
row and column segments.

Per stage and column: the error of the ADC input (the TIA output) against the ideal, in LSB, and the
code error against the ideal code. Written: ``docs/real_periphery/budget.csv`` (per column and stage),
``budget.png`` (the README's figure: what each stage adds, mean and largest error) and the table in
``results/real_periphery_budget.json``; the target is the share of columns whose final code is within
1 LSB of the ideal.

``timing`` part. A ``TIMING_N`` x ``TIMING_N`` sky130 1T1R array (default 64) with the full transistor-level
periphery against the same array with the behavioural TIA and ADC, in the same run: time to open the
session (ngspice parses the sky130 model files: the PDK set-up), median time of a cold operating
point and of the transient read (the SAR conversion time, codes read). Parts: ``MEMCOSIM_BENCH_PARTS``
(``budget,timing``), size ``MEMCOSIM_BENCH_TIMING_N``, repeats ``MEMCOSIM_BENCH_TIMING_REPEAT``.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import report
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AccessConfig, AdcConfig, DacConfig, PeripheryConfig, TiaConfig
from memcosim.cosim.conversion import check_comparator, convert, measure_comparator
from memcosim.cosim.engine import open_session
from memcosim.fileio import atomic_write_text

FIGURES = Path(__file__).resolve().parent.parent / "docs" / "real_periphery"  # the README's figure and its CSV
N = 32
G_ON, G_OFF = 1e-5, 1e-6  # siemens
V_READ = 0.2  # volts, the DAC's full scale
R_F = 12e3  # ohm: 32 ON cells at 0.2 V give -0.77 V
R_WIRE = 0.5  # ohm per segment
ADC_BITS = 8
ADC_RANGE = (-1.0, 0.0)  # volts: the TIA output is -I R_F
ACCESS = {"pdk": "sky130", "subckt": "sky130_fd_pr__nfet_g5v0d10v5", "corner": "tt",
          "params": {"w": 10e-6, "l": 0.5e-6}}
PARTS = os.environ.get("MEMCOSIM_BENCH_PARTS", "budget,timing").split(",")
TIMING_N = int(os.environ.get("MEMCOSIM_BENCH_TIMING_N", "64"))
TIMING_REPEAT = int(os.environ.get("MEMCOSIM_BENCH_TIMING_REPEAT", "3"))


def pattern(n: int) -> np.ndarray:
    """The known conductance pattern (siemens): column j holds j + 1 ON cells (n // 32 per step at larger n)."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    on = ((7 * i + 3 * j) % n) <= j
    return np.where(on, G_ON, G_OFF)


def transistor_tia() -> bool:
    """True when memcosim has the transistor-level TIA (``periphery.tia.circuit = "sky130"``)."""
    return "circuit" in {fl.name for fl in dataclasses.fields(TiaConfig)}


def config(n: int, access: bool, tia: str, adc: bool, r_wire: float = R_WIRE) -> ArrayConfig:
    """The array of one stage: ``tia`` is "ideal", "behavioural" or "transistor"."""
    blocks = {"access": ACCESS} if access else None
    gain = 1e9 if tia == "ideal" else TiaConfig().gain
    tia_config = TiaConfig(gain=gain, r_feedback=R_F, **({"circuit": "sky130"} if tia == "transistor" else {}))
    per = PeripheryConfig(dac=DacConfig(bits=8, v_min=0.0, v_max=V_READ, r_out=0.0), tia=tia_config,
                          adc=AdcConfig(bits=ADC_BITS, v_min=ADC_RANGE[0], v_max=ADC_RANGE[1],
                                        circuit="sky130" if adc else "behavioural"))
    return ArrayConfig(n, n, DeviceConfig("resistor"), WireConfig.uniform(r_wire), conductance=pattern(n),
                       cell="1T1R" if access else "1R", access=AccessConfig(v_gate=3.3) if access else None,
                       periphery=per, blocks=blocks)


def read(xb, adc: bool) -> tuple[np.ndarray, np.ndarray]:
    """(TIA output volts, codes) per column with every row at full scale."""
    with open_session(xb.netlist) as s:
        s.set_sources(xb.dac_values(np.full(xb.config.rows, xb.blocks.dac.levels - 1)))
        volts = s.op(voltages=xb.tia_outputs).stack(xb.tia_outputs)
        codes = convert(s, xb) if adc else xb.adc_codes(volts)
    return volts, codes


HEADER = ["stage", "column", "v_ideal_V", "v_tia_V", "v_error_lsb", "code_ideal", "code", "code_error"]


def budget() -> list[dict]:
    tia = "transistor" if transistor_tia() else "behavioural"
    stages = [("wires", False, "ideal", False), ("access", True, "ideal", False), ("tia", True, tia, False),
              ("adc", True, tia, True)]
    FIGURES.mkdir(parents=True, exist_ok=True)
    adc_block = build_crossbar(config(N, False, "ideal", False), check=False).blocks.adc
    v_ideal = -R_F * V_READ * pattern(N).sum(axis=0)
    code_ideal = adc_block.convert(v_ideal)
    per_column, seconds = [], {}
    for name, access, tia_kind, adc in stages:
        t = time.perf_counter()
        xb = build_crossbar(config(N, access, tia_kind, adc))
        volts, codes = read(xb, adc)
        seconds[name] = time.perf_counter() - t
        analog = (volts - v_ideal) / adc_block.lsb
        for j in range(N):
            per_column.append({"stage": name, "column": j, "v_ideal_V": float(v_ideal[j]), "v_tia_V": float(volts[j]),
                               "v_error_lsb": float(analog[j]), "code_ideal": int(code_ideal[j]), "code": int(codes[j]),
                               "code_error": int(codes[j] - code_ideal[j])})
        lines = [",".join(HEADER)] + [",".join(f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]) for k in HEADER)
                                      for r in per_column]
        atomic_write_text(FIGURES / "budget.csv", "\n".join(lines) + "\n")  # after every stage
        rows = summarize(per_column, seconds)
        _plot(rows, FIGURES / "budget.png")
        print(f"  stage {name} ({tia_kind} TIA): {rows[-1]}", flush=True)
    return rows


def summarize(per_column: list[dict], seconds: dict[str, float] | None = None) -> list[dict]:
    """Per stage: the ADC input error and the code error against the ideal (LSB), what the stage added
    (mean |change| of the ADC input error against the stage before; for the ADC stage the mean |change|
    of the code against the behavioural quantizer of the same input) and the share of columns whose
    code is within 1 LSB of the ideal. ``per_column``: rows of the budget CSV."""
    stages = list(dict.fromkeys(r["stage"] for r in per_column))
    by = {name: [r for r in per_column if r["stage"] == name] for name in stages}
    rows, previous = [], None
    for name in stages:
        analog = np.array([float(r["v_error_lsb"]) for r in by[name]])
        code_err = np.array([int(r["code_error"]) for r in by[name]])
        if previous is None:
            added = float(np.mean(np.abs(analog)))
        elif name == "adc":
            added = float(np.mean(np.abs(np.array([int(r["code"]) for r in by[name]])
                                         - np.array([int(r["code"]) for r in by[previous]]))))
        else:
            added = float(np.mean(np.abs(analog - np.array([float(r["v_error_lsb"]) for r in by[previous]]))))
        rows.append({"stage": name, "mean |V err| LSB": float(np.mean(np.abs(analog))),
                     "max |V err| LSB": float(np.max(np.abs(analog))), "added LSB": added,
                     "mean |code err|": float(np.mean(np.abs(code_err))), "max |code err|": int(np.max(np.abs(code_err))),
                     "within 1 LSB": float(np.mean(np.abs(code_err) <= 1)),
                     "s": (seconds or {}).get(name, float("nan"))})
        previous = name
    return rows


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["stage"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    ax.bar(x - 0.27, [r["added LSB"] for r in rows], 0.27, label="added by this stage, mean |change|")
    ax.bar(x, [r["mean |V err| LSB"] for r in rows], 0.27, label="ADC input error so far, mean |.|")
    ax.bar(x + 0.27, [r["max |V err| LSB"] for r in rows], 0.27, label="ADC input error so far, largest")
    ax.plot(x, [r["max |code err|"] for r in rows], "ko", label="code error vs ideal, largest")
    ax.plot(x, [r["mean |code err|"] for r in rows], "ks", mfc="none", label="code error vs ideal, mean |.|")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, [f"+{n}" if k else n for k, n in enumerate(names)])
    ax.set_ylabel("error (LSB of the 8-bit ADC)")
    ax.set_title(f"{N}x{N} sky130 1T1R read: error budget (each stage adds one non-ideality)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_ylim(0, 1.6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def timing() -> list[dict]:
    tia = "transistor" if transistor_tia() else "behavioural"
    out = []
    cases = {"behavioural periphery": config(TIMING_N, True, "behavioural", False),
             f"{tia} TIA + SAR ADC": config(TIMING_N, True, tia, True)}
    results = {}
    for name, cfg in cases.items():
        xb = build_crossbar(cfg)
        adc = xb.blocks.adc
        if hasattr(adc, "conversion_time"):
            check_comparator(adc)  # its own small session, outside the timed steps
        t = time.perf_counter()
        s = open_session(xb.netlist)
        t_open = time.perf_counter() - t
        with s:
            s.set_sources(xb.dac_values(np.full(TIMING_N, xb.blocks.dac.levels - 1)))
            ops, trans = [], []
            for _ in range(TIMING_REPEAT):
                s.forget_solution()
                t = time.perf_counter()
                s.op(voltages=xb.tia_outputs)
                ops.append(time.perf_counter() - t)
            window = build_crossbar(cases[f"{tia} TIA + SAR ADC"], check=False).blocks.adc.conversion_time
            for _ in range(TIMING_REPEAT):
                t = time.perf_counter()
                if hasattr(adc, "conversion_time"):
                    convert(s, xb, check=False)
                else:
                    s.tran(window, window / 200, voltages=xb.tia_outputs)
                trans.append(time.perf_counter() - t)
        results[name] = (t_open, statistics.median(ops), statistics.median(trans))
        print(f"  {name}: open {t_open:.2f} s, op {results[name][1]:.3f} s, read {results[name][2]:.3f} s", flush=True)
    base = results["behavioural periphery"]
    for name, (t_open, op, tran) in results.items():
        out.append({"case": f"{TIMING_N}x{TIMING_N} {name}", "open s": t_open, "op s": op, "tran read s": tran,
                    "op ratio": op / base[1], "tran ratio": tran / base[2], "repeats": TIMING_REPEAT})
    return out


def main() -> None:
    if "budget" in PARTS:
        print("error budget (32x32, tt) ...", flush=True)
        adc = build_crossbar(config(2, True, "ideal", True), check=False).blocks.adc
        check_comparator(adc)  # before the long runs: a comparator that cannot resolve is an error here
        f = measure_comparator(adc)
        rows = [{"stage": "comparator", "offset mV": f.offset * 1e3, "offset resolution mV": f.offset_resolution * 1e3,
                 "t resolve 0.5 LSB ps": f.t_resolve_half_lsb * 1e12, "t resolve 1 mV ps": f.t_resolve_1mv * 1e12,
                 "t available ps": f.t_available * 1e12}]
        print(f"  comparator: {rows[0]}", flush=True)
        rows.extend(budget())
        report("real_periphery_budget", rows, notes="per-column CSV and PNG: docs/real_periphery/budget.*")
    if "timing" in PARTS:
        print(f"timing ({TIMING_N}x{TIMING_N}) ...", flush=True)
        report("real_periphery_timing", timing(), notes="ratios against the behavioural periphery in the same run")


if __name__ == "__main__":
    main()
