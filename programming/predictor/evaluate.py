"""Deployment of the pulse predictors in ngspice on noisy devices, against the conventional write-and-verify.

Attempt ``a`` draws its start and target conductance and its device (device-to-device offsets and
the cycle-to-cycle walk) from ``default_rng([seed, a])``; every method sees the same device and the
same noise sequence. Per attempt and method (noise-free ``baseline``, ``mse`` and ``finetuned``
predictors) one pulse of the predicted length is applied to the device set to the start state, and
the RPD of the reached conductance, |G - G_target| / G_target, is recorded. Then each predictor
drives write-and-verify with at most ``iterations`` pulses, and the conventional
incremental write-and-verify (ISPP: amplitude growing from ``conventional_start`` x the preset
amplitude) and the fixed-amplitude one (10 ns pulses at the dataset's SET / RESET voltage) run to the
same tolerance (or their budget), also at every pair of ``baseline_amplitudes`` (``baselines.png``).

Outputs under ``out``: ``attempts.csv`` (one row per attempt), ``summary.json``, and the plots
``rpd_histogram.png``, ``rpd_vs_conductance.png``, ``write_verify.png``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from memcosim.config import toml
from memcosim.cosim.readout import read_cell
from memcosim.devices.variation import Variation
from memcosim.fileio import atomic_write_csv, atomic_write_text, save_png
from memcosim.programming.predictor.config import DatasetConfig, EvaluateConfig
from memcosim.programming.predictor.dataset import SampleMaker, draw_pair
from memcosim.programming.predictor.model import NoiseFreeBaseline, PredictorPolicy, PulsePredictor, noise_free_baseline
from memcosim.programming.pulses import PulseSpec, apply_pulse
from memcosim.programming.write_verify import IncrementalPolicy, write_verify
from memcosim.signals import unordered_results

METHODS = ("baseline", "mse", "finetuned")
# write-and-verify runs: each predictor (at most ``iterations`` pulses; predictor_wv = fine-tuned), ISPP, fixed V
WRITE_VERIFY = ("baseline_wv", "mse_wv", "predictor_wv", "conventional_wv", "fixed_wv")
_WV_TITLES = {"baseline_wv": "noise-free baseline", "mse_wv": "MSE predictor", "predictor_wv": "fine-tuned predictor",
              "conventional_wv": "conventional (ISPP)", "fixed_wv": "conventional (fixed V)"}


def extra_baselines(config: EvaluateConfig) -> list[tuple[str, str, float, float]]:
    """(column name, ``"fixed"`` or ``"ispp"``, SET V, RESET V) of the conventional write-and-verify runs at
    ``config.baseline_amplitudes``."""
    out = []
    for v_set, v_reset in config.baseline_amplitudes:
        for kind, prefix in (("fixed", "fixed_wv"), ("ispp", "conventional_wv")):
            out.append((f"{prefix}_at_{v_set:g}_{v_reset:g}", kind, v_set, v_reset))
    return out


def conventional_policy(config: EvaluateConfig, kind: str, v_set: float, v_reset: float):
    """The conventional write-and-verify at a [SET, RESET] pair (volts): ``"fixed"`` amplitude, or ``"ispp"``
    growing from ``conventional_start`` x the pair by ``conventional_step`` per pulse up to it."""
    pulse = config.conventional
    if kind == "fixed":
        return IncrementalPolicy(replace(pulse, amplitude=v_set), replace(pulse, amplitude=v_reset))
    start = config.conventional_start
    return IncrementalPolicy(replace(pulse, amplitude=start * v_set),
                             replace(pulse, amplitude=start * v_reset),
                             step=config.conventional_step, set_stop=v_set, reset_stop=v_reset)


def set_pulse(dataset: DatasetConfig) -> PulseSpec | None:
    """The full SET pulse before each predicted RESET of a move up (``dataset.up = "set_then_reset"``), else None."""
    pulses = dataset.write_pulses(True, dataset.step)
    return pulses[0] if len(pulses) > 1 else None


def min_width(dataset: DatasetConfig) -> float:
    """Shortest predicted pulse (seconds) deployed: 0.5 ns, or the dataset's first window if shorter."""
    return min(0.5e-9, dataset.step)


def baseline_path(model_dir: str | Path) -> Path:
    return Path(model_dir) / "baseline_noise_free.json"


def ensure_baseline(dataset: DatasetConfig, model_dir: str | Path):
    """The noise-free baseline, recorded in ngspice once and cached in ``model_dir``."""
    path = baseline_path(model_dir)
    if path.exists():
        return NoiseFreeBaseline.from_json(path.read_text())
    b = noise_free_baseline(dataset.device.model, dataset.v_read, dataset.window, dataset.amplitude(True),
                            dataset.amplitude(False), duration=dataset.t_max * 2, sample=min(2e-9, dataset.step),
                            growth=dataset.time_growth, set_pulse=set_pulse(dataset))
    atomic_write_text(path, b.to_json())
    return b


class Deployer:
    """One process's device session and predictors."""

    def __init__(self, dataset: DatasetConfig, config: EvaluateConfig, model_dir: str | Path):
        torch.set_num_threads(1)  # one-sample predictions; OpenMP threads only spin on shared cores
        self.dataset, self.config = dataset, config
        self.predictors = {
            "baseline": NoiseFreeBaseline.from_json(baseline_path(model_dir).read_text()),
            "mse": PulsePredictor.load(Path(model_dir) / "predictor_mse.pt"),
            "finetuned": PulsePredictor.load(Path(model_dir) / "predictor_finetuned.pt"),
        }
        self.maker = SampleMaker(dataset)  # the same 1x1 array, session and start-state table as the dataset

    def close(self) -> None:
        self.maker.close()

    def _fresh(self, a: int, g_req: float):
        """Reset the device of attempt ``a``: offsets and walk from the attempt's seed, start state; returns
        the variation and the read start conductance."""
        m = self.maker
        rng = np.random.default_rng([self.config.seed, a, 1])
        variation = Variation(self.dataset.variation, [m.xbar.cells[0, 0]], m.nominal, rng=rng)
        variation.apply(m.session)
        m.session.set_states([m.state_for(g_req)])
        return variation, read_cell(m.session, m.xbar, 0, 0, m.v_read)

    def attempt(self, a: int) -> dict:
        c, d, m = self.config, self.dataset, self.maker
        g_req, g_target = draw_pair(np.random.default_rng([c.seed, a]), d)
        row: dict = {"attempt": a, "g_requested": g_req, "g_target": g_target}
        for name in METHODS:
            variation, g0 = self._fresh(a, g_req)
            t = float(self.predictors[name].predict(g0, g_target)[0])
            up = g_target > g0
            shortest = min_width(d)
            width = abs(t) if (t > 0) == up and t != 0 else shortest
            for pulse in d.write_pulses(up, max(width, shortest)):
                apply_pulse(m.session, m.xbar, pulse, variation=variation, preset=m.preset)
            g = read_cell(m.session, m.xbar, 0, 0, m.v_read)
            row.update({f"{name}_g_start": g0, f"{name}_time_s": t, f"{name}_g": g,
                        f"{name}_rpd": abs(g - g_target) / g_target})
        aim = c.aim * c.tolerance
        v_set, v_reset, edge = d.amplitude(True), d.amplitude(False), d.set.rise

        def guided(name: str) -> PredictorPolicy:
            return PredictorPolicy(self.predictors[name], v_set, v_reset, min_width=min_width(d),
                                   max_width=max(5e-6, d.t_max), edge=edge, aim=aim, set_pulse=set_pulse(d))

        policies = {
            "baseline_wv": (guided("baseline"), c.iterations),
            "mse_wv": (guided("mse"), c.iterations),
            "predictor_wv": (guided("finetuned"), c.iterations),
            "conventional_wv": (conventional_policy(c, "ispp", v_set, v_reset), c.conventional_budget),
            "fixed_wv": (conventional_policy(c, "fixed", v_set, v_reset), c.conventional_budget),
        }
        for name, kind, v_set, v_reset in extra_baselines(c):
            policies[name] = (conventional_policy(c, kind, v_set, v_reset), c.conventional_budget)
        for name, (policy, budget) in policies.items():
            variation, g0 = self._fresh(a, g_req)
            r = write_verify(m.session, m.xbar, (0, 0), g_target, policy, tolerance=c.tolerance, max_pulses=budget,
                             variation=variation, preset=m.preset)
            row.update({f"{name}_converged": r.converged, f"{name}_reason": r.reason, f"{name}_pulses": r.pulses,
                        f"{name}_pulse_time_s": r.pulse_time, f"{name}_rpd": r.rpd,
                        f"{name}_history": " ".join(f"{g:.6e}" for g in r.conductances())})
        return row


def _work(args: tuple[dict, dict, str, list[int]]) -> list[dict]:
    ds, ev, model_dir, attempts = args
    deployer = Deployer(toml.from_dict(DatasetConfig, ds, "dataset"), toml.from_dict(EvaluateConfig, ev, "evaluate"),
                        model_dir)
    try:
        return [deployer.attempt(a) for a in attempts]
    finally:
        deployer.close()


def evaluate(dataset: DatasetConfig, config: EvaluateConfig, model_dir: str | Path, progress: bool = True) -> dict:
    """Deploy every method for ``config.attempts`` attempts; write CSV, JSON and PNG; return the summary."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    t0 = time.perf_counter()
    ensure_baseline(dataset, model_dir)
    chunks = [list(range(a, min(config.attempts, a + 10))) for a in range(0, config.attempts, 10)]
    tasks = [(asdict(dataset), asdict(config), str(model_dir), ch) for ch in chunks]
    rows: list[dict] = []
    with unordered_results(_work, tasks, config.workers) as results:
        for part in results:
            rows += part
            if progress:
                el = time.perf_counter() - t0
                print(f"  evaluated {len(rows)}/{config.attempts} attempts, {el:.0f} s elapsed, "
                      f"~{el / len(rows) * (config.attempts - len(rows)):.0f} s left", flush=True)
    rows.sort(key=lambda r: r["attempt"])
    summary = summarize(rows, config)
    summary["seconds"] = time.perf_counter() - t0
    out = Path(config.out)
    atomic_write_csv(out / "attempts.csv", rows)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_methods(summary, out / "methods.csv")
    plot(rows, config, out)
    return summary


def write_methods(summary: dict, path: Path) -> None:
    """One row per method of ``summary``: one-shot fractions within 50 % / 10 % and median RPD, or the
    write-and-verify success within tolerance, mean pulses and mean pulse time (seconds)."""
    rows = []
    for name in METHODS:
        s = summary[f"one_shot_{name}"]
        rows.append({"method": f"one_shot_{name}", "within_50%": s["within_50%"], "within_10%": s["within_10%"],
                     "median_rpd": s["median_rpd"]})
    for name, s in summary.items():
        if isinstance(s, dict) and "within_tolerance" in s:
            rows.append({"method": name, "within_tolerance": s["within_tolerance"], "mean_pulses": s["mean_pulses"],
                         "mean_pulse_time_s": s["mean_pulse_time_s"], "budget_reached": s["budget_reached"]})
    atomic_write_csv(path, rows)


def summarize(rows: list[dict], config: EvaluateConfig) -> dict:
    """Fractions within 50 % / 10 % RPD, write-and-verify pulse counts and pulse time."""
    s: dict = {"attempts": len(rows), "tolerance": config.tolerance}
    for name in METHODS:
        rpd = np.array([r[f"{name}_rpd"] for r in rows])
        s[f"one_shot_{name}"] = {"within_50%": float(np.mean(rpd <= 0.5)), "within_10%": float(np.mean(rpd <= 0.1)),
                                 "median_rpd": float(np.median(rpd))}
    extra = extra_baselines(config)
    for name in WRITE_VERIFY + tuple(e[0] for e in extra):
        pulses = np.array([r[f"{name}_pulses"] for r in rows])
        ptime = np.array([r[f"{name}_pulse_time_s"] for r in rows])
        conv = np.array([r[f"{name}_converged"] for r in rows], dtype=bool)
        s[name] = {"within_tolerance": float(conv.mean()), "mean_pulses": float(pulses.mean()),
                   "median_pulses": float(np.median(pulses)), "mean_pulse_time_s": float(ptime.mean()),
                   "mean_pulse_time_converged_s": float(ptime[conv].mean()) if conv.any() else float("nan"),
                   "budget_reached": int((~conv).sum())}
    comparisons = [("", "conventional_wv"), ("_vs_fixed", "fixed_wv")]
    if extra:
        s["baselines"] = baseline_table(s, config, extra)
        for kind in ("fixed", "ispp"):
            best = best_baseline([b for b in s["baselines"] if b["kind"] == kind])
            s[f"best_{kind}"] = best
            comparisons.append((f"_vs_best_{kind}", best["method"]))
    for suffix, reference in comparisons:
        for quantity, column in (("pulse", "pulses"), ("pulse_time", "pulse_time_s")):
            s.update(reduction(rows, f"{quantity}_reduction{suffix}", reference, column))
    return s


def reduction(rows: list[dict], key: str, reference: str, column: str) -> dict:
    """The predictor's reduction of ``column`` against ``reference``: ``key`` over every attempt (means of
    both methods), the success rate (within tolerance) of each method next to it, and the same ratio over
    the attempts where both reached the tolerance (the comparable ones; NaN if there are none)."""
    ours = np.array([r[f"predictor_wv_{column}"] for r in rows], dtype=float)
    theirs = np.array([r[f"{reference}_{column}"] for r in rows], dtype=float)
    ok_ours = np.array([r["predictor_wv_converged"] for r in rows], dtype=bool)
    ok_theirs = np.array([r[f"{reference}_converged"] for r in rows], dtype=bool)
    both = ok_ours & ok_theirs
    floor = 1e-12 if column == "pulses" else 1e-18
    return {
        key: float(theirs.mean() / max(ours.mean(), floor)),
        f"{key}_success": {"predictor_wv": float(ok_ours.mean()), reference: float(ok_theirs.mean())},
        f"{key}_both_converged": (float(theirs[both].mean() / max(ours[both].mean(), floor)) if both.any()
                                  else float("nan")),
        f"{key}_both_converged_attempts": int(both.sum()),
    }


def baseline_table(s: dict, config: EvaluateConfig, extra: list) -> list[dict]:
    """One row per conventional run: kind, SET / RESET volts and its summary."""
    out = []
    for name, kind, v_set, v_reset in extra:
        out.append({"method": name, "kind": kind, "set_amplitude": v_set, "reset_amplitude": v_reset, **s[name]})
    return out


def best_baseline(rows: list[dict], success: float = 0.95) -> dict:
    """The row with the least mean pulse time among those within tolerance at least ``success`` of the time
    (all rows if none is)."""
    good = [r for r in rows if r["within_tolerance"] >= success] or rows
    return min(good, key=lambda r: r["mean_pulse_time_s"])


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    save_png(fig, path)


def plot(rows: list[dict], config: EvaluateConfig, out: Path) -> None:
    """RPD histograms, RPD vs start and target conductance, write-and-verify histories."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"baseline": "tab:gray", "mse": "tab:blue", "finetuned": "tab:red"}
    rpd = {n: np.maximum(np.array([r[f"{n}_rpd"] for r in rows]), 1e-5) for n in METHODS}
    bins = np.logspace(-4, max(1, math.log10(max(v.max() for v in rpd.values())) + 0.1), 40)
    fig, ax = plt.subplots(figsize=(7, 4))
    for n in METHODS:
        ax.hist(rpd[n], bins=bins, histtype="step", lw=1.8, color=colors[n],
                label=f"{n}: {100 * np.mean(rpd[n] <= 0.5):.1f}% within 50%")
    for x in (0.1, 0.5):
        ax.axvline(x, color="k", ls=":", lw=1)
    ax.set(xscale="log", xlabel="one-shot RPD of the reached conductance", ylabel="attempts",
           title=f"one pulse from the predictor, {len(rows)} noisy devices in ngspice")
    ax.legend()
    _save(fig, out / "rpd_histogram.png")

    fig, ax = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for n in METHODS:
        g0 = np.array([r[f"{n}_g_start"] for r in rows])
        gt = np.array([r["g_target"] for r in rows])
        ax[0].scatter(g0, rpd[n], s=8, alpha=0.6, color=colors[n], label=n)
        ax[1].scatter(gt, rpd[n], s=8, alpha=0.6, color=colors[n], label=n)
    for a, label in zip(ax, ("start conductance (S)", "target conductance (S)")):
        a.set(xscale="log", yscale="log", xlabel=label)
        a.axhline(0.5, color="k", ls=":", lw=1)
    ax[0].set_ylabel("one-shot RPD")
    ax[0].legend()
    _save(fig, out / "rpd_vs_conductance.png")

    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    ax = axes.ravel()
    for name, a in zip(WRITE_VERIFY, ax):
        for r in rows[:12]:
            h = np.array([float(x) for x in r[f"{name}_history"].split()])
            a.plot(np.arange(h.size), h / r["g_target"], marker=".", lw=1)
        a.axhspan(1 - config.tolerance, 1 + config.tolerance, color="tab:green", alpha=0.2)
        a.set(yscale="log", xlabel="pulse", ylabel="G / G_target", title=f"write-and-verify: {_WV_TITLES[name]}")
    counts = [[r[f"{n}_pulses"] for r in rows] for n in WRITE_VERIFY]
    top = max(max(c) for c in counts) + 1
    ax[5].hist(counts, bins=np.unique(np.geomspace(1, top, 30).astype(int)), label=[_WV_TITLES[n] for n in WRITE_VERIFY])
    ax[5].set(xscale="log", xlabel="pulses to reach the tolerance (or budget)", ylabel="attempts")
    ax[5].legend(fontsize=8)
    _save(fig, out / "write_verify.png")
    if config.baseline_amplitudes:
        plot_baselines(summarize(rows, config), out / "baselines.png")


def plot_baselines(s: dict, path: Path) -> None:
    """Conventional write-and-verify against its amplitude (success and mean pulse time), with the predictor."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for kind, marker in (("fixed", "o"), ("ispp", "s")):
        rows = [b for b in s["baselines"] if b["kind"] == kind]
        labels = [f"{b['set_amplitude']:g}/{b['reset_amplitude']:g}" for b in rows]
        x = np.arange(len(rows))
        ax[0].plot(x, [100 * b["within_tolerance"] for b in rows], marker=marker, label=f"conventional ({kind})")
        ax[1].plot(x, [1e9 * b["mean_pulse_time_s"] for b in rows], marker=marker, label=f"conventional ({kind})")
        for a in ax:
            a.set_xticks(x, labels)
    p = s["predictor_wv"]
    ax[0].axhline(100 * p["within_tolerance"], color="tab:red", ls="--", label="predictor")
    ax[1].axhline(1e9 * p["mean_pulse_time_s"], color="tab:red", ls="--", label="predictor")
    ax[0].set(xlabel="SET / RESET amplitude (V)", ylabel=f"% within {100 * s['tolerance']:g} %",
              title="conventional write-and-verify: success")
    ax[1].set(xlabel="SET / RESET amplitude (V)", ylabel="mean pulse time (ns)", yscale="log",
              title="conventional write-and-verify: total pulse time")
    for a in ax:
        a.legend(fontsize=8)
    _save(fig, path)
