"""Programming benchmarks: the neural pulse predictor deployed in ngspice, and a 32x32 array programmed with it.

Needs trained predictors (``memcosim predictor dataset`` then ``memcosim predictor train``; folder
``$MEMCOSIM_PREDICTOR_DIR``, default ``out/predictor/model``).

1. Device level (``jart_vcm`` with device-to-device and cycle-to-cycle variation, ``evaluate``
   attempts, default ``$MEMCOSIM_BENCH_ATTEMPTS`` = 200, ``$MEMCOSIM_BENCH_WORKERS`` = 2 processes; 0 attempts
   skips this part): fraction of one-shot pulses within 50 % RPD
   for the noise-free baseline, the MSE-trained and the fine-tuned predictor; fraction within 10 %
   after at most 3 predictor-guided write-and-verify pulses; pulses and pulse time against the
   conventional incremental write-and-verify at the same tolerance.
2. Array level: an N x N 1R array (``$MEMCOSIM_BENCH_ARRAY``, default 32) with 2.5 ohm wire segments
   (0 skips this part) programmed cell by cell to a random target matrix with the V/2 scheme, each cell by predictor-guided
   write-and-verify (at most 3 pulses, 10 % tolerance; device-to-device offsets on every device, the
   cycle-to-cycle walk on the cell being written, advanced per pulse by the pulse's 10 ns intervals:
   a transient per 10 ns of a 32x32 array costs ~0.3 s). Reports the final RPD map (read in the array after
   all writes), the change of each cell's state between its own write and the end (half-select
   disturbance by later writes, expressed as G) and of its read (which also sees the other cells'
   changed IR drop), the state change of half-selected and unselected cells in one 100 ns write, pulses
   per cell and wall-clock time. Progress is checkpointed after every row and resumed. The line
   amplitude of every write is raised against the IR drop so that the cell sees the preset amplitude
   (``compensate_ir_drop``; ``$MEMCOSIM_BENCH_COMPENSATE=0`` writes at the plain amplitude instead).

``$MEMCOSIM_BENCH_CONFIG`` = a predictor TOML (e.g. ``configs/predictor_fast.toml``) runs part 1 with that
file's dataset amplitudes, evaluation settings (``baseline_amplitudes``: the conventional runs at each
pair, and the ratios against the best) and predictors (``train.out``) instead of the defaults.

Tables on screen, JSON in ``benchmarks/results/``, PNG and CSV in ``out/bench_programming/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, report
from memcosim.fileio import atomic_write_bytes, atomic_write_text, save_png

MODEL_DIR = Path(os.environ.get("MEMCOSIM_PREDICTOR_DIR", "out/predictor/model"))
OUT = Path("out/bench_programming")
R_WIRE = 2.5


def device_rows(attempts: int, config_path: str | None = None) -> list[dict]:
    """Device-level table; with ``config_path`` (a predictor TOML) its dataset, evaluation settings and
    model folder (``train.out``), else the defaults and ``MODEL_DIR``."""
    from memcosim.programming.predictor.config import EvaluateConfig, load_config
    from memcosim.programming.predictor.evaluate import evaluate

    workers = int(os.environ.get("MEMCOSIM_BENCH_WORKERS", "2"))
    config = load_config(config_path)
    ev = replace(config.evaluate, attempts=attempts, workers=workers,
                 out=str(OUT / ("device" if config_path is None else f"device_{Path(config_path).stem}")))
    d = config.dataset
    s = evaluate(d, ev, MODEL_DIR if config_path is None else config.train.out)
    amps = f"{d.set.amplitude:g}/{d.reset.amplitude:g}"
    rows = []
    for name in ("baseline", "mse", "finetuned"):
        o = s[f"one_shot_{name}"]
        rows.append({"method": f"one-shot {name}", "amplitude_V": amps, "within_50%": o["within_50%"],
                     "within_10%": o["within_10%"],
                     "median_rpd": o["median_rpd"], "mean_pulses": 1.0, "mean_pulse_time_ns": float("nan"),
                     "target": ">=95% within 50%" if name == "finetuned" else ""})
    for name, label, target in (("baseline_wv", "noise-free baseline write-verify (<=3)", ""),
                                ("mse_wv", "MSE predictor write-verify (<=3)", ""),
                                ("predictor_wv", "fine-tuned predictor write-verify (<=3)", ">=95% within 10%"),
                                ("conventional_wv", "conventional write-verify (ISPP)", ""),
                                ("fixed_wv", "conventional write-verify (fixed V)", "")):
        o = s[name]
        rows.append({"method": label, "amplitude_V": amps, "within_50%": float("nan"),
                     "within_10%": o["within_tolerance"], "median_rpd": float("nan"), "mean_pulses": o["mean_pulses"],
                     "mean_pulse_time_ns": o["mean_pulse_time_s"] * 1e9, "target": target})
    for b in s.get("baselines", []):
        rows.append({"method": f"conventional write-verify ({'ISPP' if b['kind'] == 'ispp' else 'fixed V'})",
                     "amplitude_V": f"{b['set_amplitude']:g}/{b['reset_amplitude']:g}", "within_50%": float("nan"),
                     "within_10%": b["within_tolerance"], "median_rpd": float("nan"), "mean_pulses": b["mean_pulses"],
                     "mean_pulse_time_ns": b["mean_pulse_time_s"] * 1e9, "target": ""})
    ratios = [("ISPP / predictor (ratio)", s["pulse_reduction"], s["pulse_time_reduction"], amps),
              ("fixed V / predictor (ratio)", s["pulse_reduction_vs_fixed"], s["pulse_time_reduction_vs_fixed"], amps)]
    for kind, label in (("ispp", "best ISPP"), ("fixed", "best fixed V")):
        if f"best_{kind}" in s:
            b = s[f"best_{kind}"]
            ratios.append((f"{label} / predictor (ratio)", s[f"pulse_reduction_vs_best_{kind}"],
                           s[f"pulse_time_reduction_vs_best_{kind}"], f"{b['set_amplitude']:g}/{b['reset_amplitude']:g}"))
    for label, pulses, time_ratio, at in ratios:
        rows.append({"method": label, "amplitude_V": at, "within_50%": float("nan"), "within_10%": float("nan"),
                     "median_rpd": float("nan"), "mean_pulses": pulses, "mean_pulse_time_ns": time_ratio,
                     "target": ">=5x pulses, >1x time"})
    return rows


def _fingerprint(n: int, seed: int) -> str:
    from memcosim.programming.predictor.config import EvaluateConfig

    ev = EvaluateConfig()
    blob = (MODEL_DIR / "predictor_finetuned.pt").read_bytes() + \
        f"{n} {seed} {R_WIRE} {ev.aim} {ev.tolerance} {ev.iterations}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def array_rows(n: int, seed: int = 0, compensate: bool = True) -> list[dict]:
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
    from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
    from memcosim.devices.presets import get_preset
    from memcosim.programming.pulses import PulseSpec, apply_pulse
    from memcosim.cosim.device_table import conductance_table
    from memcosim.cosim.readout import read_array
    from memcosim.config.variation import ParameterSpread, ParameterVariationConfig
    from memcosim.cosim.engine import open_session
    from memcosim.cosim.session import SessionOptions
    from memcosim.devices.variation import Variation, nominal_parameters
    from memcosim.programming.write_verify import write_verify
    from memcosim.programming.predictor.model import PredictorPolicy, PulsePredictor

    preset = get_preset("jart_vcm")
    states, table = conductance_table("jart_vcm", preset.v_read)
    x_of = lambda g: np.exp(np.interp(np.log(g), np.log(table), np.log(states)))  # noqa: E731
    g_of = lambda x: np.exp(np.interp(np.log(x), np.log(states), np.log(table)))  # noqa: E731
    rng = np.random.default_rng(seed)
    target = np.exp(rng.uniform(np.log(preset.g_low), np.log(preset.g_high), (n, n)))
    start_g = 3e-5
    xbar = build_crossbar(ArrayConfig(n, n, device=DeviceConfig("jart_vcm"),
                                      wires=WireConfig(r_row=R_WIRE, r_column=R_WIRE), states=float(x_of(start_g)),
                                      periphery=PeripheryConfig(programming=ProgrammingConfig(scheme="V/2"))))
    import torch

    torch.set_num_threads(1)  # one-cell predictions; OpenMP threads only spin on shared cores
    predictor = PulsePredictor.load(MODEL_DIR / "predictor_finetuned.pt")
    from memcosim.programming.predictor.config import EvaluateConfig

    ev = EvaluateConfig()  # the device-level settings: tolerance, iterations and aim
    policy = PredictorPolicy(predictor, preset.set_amplitude, preset.reset_amplitude, aim=ev.aim * ev.tolerance)
    vc = ParameterVariationConfig(seed=seed).for_model("jart_vcm")
    names = list(vc.spreads)
    nominal = nominal_parameters("jart_vcm", names)
    cells = list(xbar.cells.ravel())
    d2d = Variation(vc, cells, nominal, rng=np.random.default_rng([seed, 1]))
    fixed = d2d.values()  # each device's offset parameters
    params_now = fixed.copy()  # after a cell's write its parameters stay where its walk left them
    tag = "" if compensate else "_uncompensated"
    ckpt = RESULTS / f"programming_array_{'ir' if compensate else 'plain'}_checkpoint.npz"
    fp = _fingerprint(n, seed) + ("-ir" if compensate else "-plain")
    pulses = np.zeros((n, n), dtype=int)
    converged = np.zeros((n, n), dtype=bool)
    g_written = np.zeros((n, n))
    x_written = np.zeros((n, n))
    wall = np.zeros((n, n))
    cpu = np.zeros((n, n))
    first_row = 0
    # in this process: ~1,000 parameter writes per pass and a transient per pulse (the worker-process
    # session deadlocked on the pipelined writes of this array: both ends blocked sending)
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:
        d2d.apply(s)
        if ckpt.exists():
            z = np.load(ckpt)
            if str(z["fingerprint"]) == fp:
                first_row = int(z["next_row"])
                pulses, converged, g_written, wall = z["pulses"], z["converged"], z["g_written"], z["wall"]
                cpu = z["cpu"] if "cpu" in z else cpu
                x_written = z["x_written"]
                params_now = z["params"]
                for k in range(n * n):
                    s.set_device_params(cells[k], **dict(zip(names, (float(v) for v in params_now[k]))))
                s.set_states(z["states"])
                print(f"  resuming the {n}x{n} array at row {first_row}", flush=True)
        # one 100 ns SET write of the centre cell: what the half-selected and unselected cells see
        if first_row == 0:
            before = s.state_array(xbar.cells)
            c = n // 2
            r = apply_pulse(s, xbar, PulseSpec(preset.set_amplitude, 100e-9), "cell", (c, c), compensate=compensate)
            dg = np.abs(g_of(r.after) / g_of(r.before) - 1)
            half = np.zeros((n, n), dtype=bool)
            half[c, :] = half[:, c] = True
            half[c, c] = False
            unselected = ~half
            unselected[c, c] = False
            single = {"line_amplitude_V": r.line_amplitude, "selected": float(dg[c, c]), "half_max": float(dg[half].max()),
                      "half_median": float(np.median(dg[half])),
                      "unselected_max": float(dg[unselected].max()) if unselected.any() else 0.0}
            s.set_states(before)
            atomic_write_text(OUT / f"array{tag}_single_write.json", json.dumps(single, indent=2) + "\n")
        single = json.loads((OUT / f"array{tag}_single_write.json").read_text())
        t_all = time.perf_counter()
        for i in range(first_row, n):
            for j in range(n):
                k = i * n + j
                cvc = ParameterVariationConfig(spreads={p: ParameterSpread(0.0, vc.spreads[p].c2c) for p in names},
                                               seed=seed)
                walk = Variation(cvc, [cells[k]], dict(zip(names, fixed[k])), rng=np.random.default_rng([seed, 2, k]))
                t, tc = time.perf_counter(), time.process_time()
                res = write_verify(s, xbar, (i, j), float(target[i, j]), policy, tolerance=ev.tolerance,
                                   max_pulses=ev.iterations,
                                   variation=walk, preset=preset, walk_within_pulse=False, compensate=compensate)
                params_now[k] = walk.values()[0]
                wall[i, j] = time.perf_counter() - t
                cpu[i, j] = time.process_time() - tc
                pulses[i, j], converged[i, j], g_written[i, j] = res.pulses, res.converged, res.g_final
                x_written[i, j] = s.state(cells[k])
            buf = io.BytesIO()
            np.savez(buf, fingerprint=np.array(fp), next_row=np.array(i + 1), pulses=pulses, converged=converged,
                     g_written=g_written, x_written=x_written, wall=wall, cpu=cpu, states=s.states,
                     params=params_now)
            atomic_write_bytes(ckpt, buf.getvalue())
            done = (i + 1) * n
            el = time.perf_counter() - t_all
            print(f"  row {i + 1}/{n}: {converged[:i + 1].mean() * 100:.1f}% of cells within 10% after writing, "
                  f"{el:.0f} s this run, ~{el / max(1, done - first_row * n) * (n * n - done):.0f} s left", flush=True)
        g_final = read_array(s, xbar)
        x_final = s.state_array(xbar.cells)
    rpd = np.abs(g_final - target) / target
    drift = np.abs(g_of(x_final) / g_of(x_written) - 1)  # state disturbance by later writes (as G of the table)
    read_change = np.abs(g_final / g_written - 1)  # what a read sees: also the other cells' changed IR drop
    _array_outputs(target, g_final, rpd, drift, pulses, tag)
    ckpt.unlink(missing_ok=True)
    return [{
        "array": f"{n}x{n} V/2" + (" IR-compensated" if compensate else ""), "cells": n * n, "within_10%_after_write": float(converged.mean()),
        "within_10%_at_end": float(np.mean(rpd <= 0.1)), "within_50%_at_end": float(np.mean(rpd <= 0.5)),
        "median_rpd_end": float(np.median(rpd)), "median_disturbance_later_writes": float(np.median(drift)),
        "max_disturbance_later_writes": float(drift.max()), "median_read_change": float(np.median(read_change)),
        "pulses_per_cell": float(pulses.mean()),
        "single_write_half_selected_max_dG": single["half_max"], "single_write_unselected_max_dG": single["unselected_max"],
        "wall_s": float(wall.sum()), "wall_s_per_cell": float(wall.mean()), "cpu_s": float(cpu.sum()),
    }]


def _array_outputs(target, g_final, rpd, drift, pulses, tag: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for a, data, title, label in ((ax[0], rpd * 100, "final RPD (read in the array after all writes)", "%"),
                                  (ax[1], drift * 100, "state disturbance by later writes (as G)", "%"),
                                  (ax[2], pulses, "pulses per cell (<= 3)", "pulses")):
        im = a.imshow(data, cmap="viridis")
        a.set(title=title, xlabel="column", ylabel="row")
        fig.colorbar(im, ax=a, label=label)
    fig.tight_layout()
    save_png(fig, OUT / f"array{tag}_rpd_map.png")
    n = target.shape[0]
    lines = ["row,column,target_S,final_S,rpd,drift,pulses"]
    lines += [f"{i},{j},{target[i, j]:.6e},{g_final[i, j]:.6e},{rpd[i, j]:.5f},{drift[i, j]:.5f},{pulses[i, j]}"
              for i in range(n) for j in range(n)]
    atomic_write_text(OUT / f"array{tag}_cells.csv", "\n".join(lines) + "\n")


def main() -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    for name in ("predictor_mse.pt", "predictor_finetuned.pt"):
        if not (MODEL_DIR / name).exists():
            raise SystemExit(f"bench_programming: no {MODEL_DIR / name}; run `memcosim predictor dataset` and "
                             f"`memcosim predictor train` first (or set MEMCOSIM_PREDICTOR_DIR)")
    attempts = int(os.environ.get("MEMCOSIM_BENCH_ATTEMPTS", "200"))
    n = int(os.environ.get("MEMCOSIM_BENCH_ARRAY", "32"))
    config_path = os.environ.get("MEMCOSIM_BENCH_CONFIG") or None
    if attempts > 0:
        t = time.perf_counter()
        rows = device_rows(attempts, config_path)
        name = "programming_device" + ("" if config_path is None else f"_{Path(config_path).stem}")
        report(name, rows, f"{attempts} attempts on noisy jart_vcm devices in ngspice, "
                           f"{time.perf_counter() - t:.0f} s; plots in {OUT}")
    if n > 0:
        compensate = os.environ.get("MEMCOSIM_BENCH_COMPENSATE", "1") != "0"
        name = "programming_array" + ("" if compensate else "_uncompensated")
        report(name, array_rows(n, compensate=compensate), f"plots and per-cell CSV in {OUT}")
