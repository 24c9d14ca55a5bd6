"""Month-scale stability of a trained forward-only network (``memcosim retention STUDY.toml``).

A forward-only run (:class:`~memcosim.trainers.forward_only.ForwardOnlyTrainer`, its TOML named by
``retention.run``) is trained, or resumed from its checkpoint; with ``retention.checkpoint`` (a checkpoint
of that run written by ``memcosim train``) the trained network is loaded from it and nothing is trained.
Two networks are then aged:

* ``reset_only``: the device states training left (sub-1 V RESET pulses only);
* ``write_verify``: the same trained conductances programmed into fresh devices (the run's initial
  states) with full SET/RESET write-and-verify (:func:`~memcosim.programming.write_verify.write_verify`,
  :class:`~memcosim.programming.write_verify.IncrementalPolicy` at the model's preset SET and RESET
  pulses), device by device in a 1x1 array of the same model, until within ``tolerance``.

Each network is aged by :meth:`~memcosim.cosim.session.Session.age` (zero bias, closed form) to every
time in ``seconds`` at every temperature in ``celsius``, and its test accuracy is read in ngspice.
Results are appended to ``retention.json`` after every point (a re-run skips the points it holds);
``retention.csv``, ``retention.md`` (table) and ``retention.png`` are written at the end.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from memcosim import fields as f
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config import toml
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.cosim.engine import open_session
from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_bytes, atomic_write_csv, atomic_write_text, read_text_file, save_png
from memcosim.programming.write_verify import IncrementalPolicy, write_verify
from memcosim.trainers.config import load_run_config
from memcosim.trainers.forward_only import ForwardOnlyTrainer

HOUR, DAY = 3600.0, 86400.0
NETWORKS = ("reset_only", "write_verify")


@dataclass
class RetentionStudyConfig:
    """``run``: the forward-only run TOML (relative to the study file); ``seconds``: ageing times (s, > 0);
    ``celsius``: ageing temperatures (degrees C); ``write_verify``: also age the write-and-verify copy,
    programmed to within ``tolerance`` (relative) with at most ``max_pulses`` pulses per device;
    ``checkpoint``: a trained checkpoint of the run (relative to the study file) to start from instead of
    training ("": train, or resume from the output folder's own checkpoint); ``test_samples``: test on the
    first that many samples of the run's test split (0 = all of it)."""

    run: str = "forward_only_competitive.toml"
    seconds: list[float] = field(default_factory=lambda: [HOUR, DAY, 7 * DAY, 30 * DAY])
    celsius: list[float] = field(default_factory=lambda: [25.0, 85.0])
    write_verify: bool = True
    tolerance: float = 0.05
    max_pulses: int = 200
    checkpoint: str = ""
    test_samples: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.run, str) or not self.run:
            raise ConfigError("retention.run", f"must name a forward-only run TOML, got {self.run!r}")
        if not isinstance(self.checkpoint, str):
            raise ConfigError("retention.checkpoint", f"must be a checkpoint file path, got {self.checkpoint!r}")
        if not isinstance(self.seconds, list) or not self.seconds:
            raise ConfigError("retention.seconds", "must be a non-empty list of ageing times (s)")
        self.seconds = [f.number(f"retention.seconds[{k}]", v, low=0.0, low_open=True, unit="s")
                        for k, v in enumerate(self.seconds)]
        if not isinstance(self.celsius, list) or not self.celsius:
            raise ConfigError("retention.celsius", "must be a non-empty list of temperatures (degrees C)")
        self.celsius = [f.number(f"retention.celsius[{k}]", v, low=-273.15, low_open=True)
                        for k, v in enumerate(self.celsius)]
        self.write_verify = f.boolean("retention.write_verify", self.write_verify)
        self.tolerance = f.number("retention.tolerance", self.tolerance, low=0.0, low_open=True, high=1.0)
        self.max_pulses = f.integer("retention.max_pulses", self.max_pulses, 1)
        self.test_samples = f.integer("retention.test_samples", self.test_samples, 0)


@dataclass
class RetentionStudyFile:
    """A retention study file: one ``[retention]`` table."""

    retention: RetentionStudyConfig = field(default_factory=RetentionStudyConfig)


def load_retention_study(path: str | Path) -> tuple[RetentionStudyConfig, Path]:
    """The study in ``path`` and the path of its run TOML; errors name the key, its line, or the missing file.
    A relative ``checkpoint`` is made absolute (relative to the study file) and must exist."""
    study = toml.load(path, RetentionStudyFile).retention
    run = (Path(path).resolve().parent / study.run)
    read_text_file(run, "retention.run")  # a missing run file fails here, before any training
    if study.checkpoint:
        ckpt = Path(path).resolve().parent / study.checkpoint
        if not ckpt.is_file():
            raise ConfigError("retention.checkpoint", f"no checkpoint file {str(ckpt)!r} (named in {path})")
        study.checkpoint = str(ckpt)
    return study, run


def program_write_verify(trainer: ForwardOnlyTrainer, start: np.ndarray, trained: np.ndarray,
                         study: RetentionStudyConfig, log: Callable[[str], None] | None = print) -> tuple[np.ndarray, dict]:
    """States of the trained network programmed by SET/RESET write-and-verify from the states ``start``:
    every device's target is its trained read conductance; returns (states in session order, statistics)."""
    circuit = trainer.circuit
    states = np.array(start, dtype=float)
    pulses, failed, devices = [], 0, 0
    t0 = time.perf_counter()
    for layer in circuit.layers:
        dev = layer.config.device
        preset = get_preset(dev.model)
        policy = IncrementalPolicy.for_model(dev.model)
        idx = layer.device_index
        targets = np.clip(layer.device.conductance(trained[idx]), preset.g_min, preset.g_max)
        drivers = PeripheryConfig(programming=ProgrammingConfig(layer.config.scheme, layer.config.pulse))
        xbar = build_crossbar(ArrayConfig(1, 1, DeviceConfig(dev.model, dict(dev.params)), states=float(start[idx][0, 0]),
                                          periphery=drivers))
        with open_session(xbar.netlist) as s:
            for (i, j), k in np.ndenumerate(idx):
                s.set_states([float(start[k])])
                r = write_verify(s, xbar, (0, 0), float(targets[i, j]), policy, tolerance=study.tolerance,
                                 max_pulses=study.max_pulses, preset=preset, v_read=dev.v_read)
                states[k] = s.states[0]
                pulses.append(r.pulses)
                failed += not r.converged
                devices += 1
                if log is not None and devices % 250 == 0:
                    log(f"write-and-verify: {devices} devices, {np.mean(pulses):.1f} pulses each, "
                        f"{failed} not within tolerance ({time.perf_counter() - t0:.0f} s)")
    stats = {"devices": devices, "mean_pulses": float(np.mean(pulses)), "max_pulses": int(np.max(pulses)),
             "not_converged": failed, "seconds": time.perf_counter() - t0, "tolerance": study.tolerance}
    return states, stats


def _conductance_change(trainer: ForwardOnlyTrainer, before: np.ndarray) -> float:
    """Mean relative read-conductance change of all devices from states ``before`` to now."""
    changes = []
    for layer in trainer.circuit.layers:
        g0 = layer.device.conductance(before[layer.device_index])
        changes.append(np.ravel(layer.conductances() / g0 - 1.0))
    return float(np.mean(np.concatenate(changes)))


def run_retention_study(path: str | Path, out: str | Path, progress: bool = True,
                        log: Callable[[str], None] | None = print, checkpoint: str | Path | None = None) -> list[dict]:
    """Train (or resume) the run, then age and test both networks (see the module docstring); returns the rows.
    ``checkpoint``: a trained checkpoint of the run to start from, instead of the study's ``checkpoint``."""
    study, run_path = load_retention_study(path)
    if checkpoint:
        if not Path(checkpoint).is_file():
            raise ConfigError("--checkpoint", f"no checkpoint file {str(checkpoint)!r}")
        study.checkpoint = str(Path(checkpoint).resolve())
    out = Path(out)
    run = load_run_config(run_path)
    if run.train.algorithm != "forward_only":
        raise ConfigError("retention.run", f"{run_path} trains {run.train.algorithm!r}; the study needs forward_only")
    run.train.checkpoint = str(out / "train_checkpoint.npz")
    run.train.progress = progress
    results = out / "retention.json"
    saved = json.loads(results.read_text()) if results.exists() else {}
    rows: list[dict] = saved.get("rows", [])
    done = {(r["network"], r["celsius"], r["seconds"]) for r in rows}
    with ForwardOnlyTrainer(run) as trainer:
        start = trainer.circuit.states
        ckpt = Path(run.train.checkpoint)
        if study.checkpoint:
            trainer.load_checkpoint(study.checkpoint)
        else:
            trainer.fit(resume=ckpt if ckpt.exists() else None, log=log)
        trained = trainer.circuit.states
        networks = {"reset_only": trained}
        if study.write_verify:
            wv = out / "write_verify_states.npy"
            if wv.exists() and "write_verify" in saved:
                networks["write_verify"] = np.load(wv)
            else:
                networks["write_verify"], saved["write_verify"] = program_write_verify(trainer, start, trained, study, log)
                buf = io.BytesIO()
                np.save(buf, networks["write_verify"])
                atomic_write_bytes(wv, buf.getvalue())
        d = trainer.dataset
        for name, states in networks.items():
            for celsius in study.celsius:
                for seconds in [0.0] + study.seconds:
                    if (name, celsius, seconds) in done:
                        continue
                    t0 = time.perf_counter()
                    same = [r for r in rows if r["network"] == name and r["seconds"] == 0.0]
                    if seconds == 0.0 and same:  # as trained: the same states at every temperature, tested once
                        rows.append({**same[0], "celsius": celsius, "wall_s": 0.0})
                        continue
                    trainer.circuit.set_states(states)
                    if seconds:
                        trainer.circuit.session.age(seconds, celsius=celsius)
                    trainer.circuit.session.forget_solution()
                    n = study.test_samples or len(d.x_test)
                    _, acc = trainer.evaluate(d.x_test[:n], d.y_test[:n])
                    row = {"network": name, "celsius": celsius, "seconds": seconds, "test_acc": acc, "test_samples": n,
                           "mean_conductance_change": _conductance_change(trainer, states),
                           "wall_s": time.perf_counter() - t0}
                    rows.append(row)
                    saved.update(rows=rows, history=trainer.history, run=str(run_path))
                    atomic_write_text(results, json.dumps(saved, indent=2) + "\n")
                    if log is not None:
                        log(f"{name:12s} {celsius:5.1f} C  {_span(seconds):>8s}  test accuracy {100 * acc:.1f} %  "
                            f"mean dG/G {100 * row['mean_conductance_change']:+.2f} %")
    write_outputs(rows, out, saved.get("write_verify"))
    return rows


def _span(seconds: float) -> str:
    for unit, s in (("month", 30 * DAY), ("week", 7 * DAY), ("day", DAY), ("hour", HOUR)):
        if seconds >= s and abs(seconds / s - round(seconds / s)) < 1e-9:
            n = round(seconds / s)
            return f"{n} {unit}" + ("s" if n > 1 else "")
    return "as trained" if seconds == 0 else f"{seconds:g} s"


def write_outputs(rows: list[dict], out: Path, write_verify_stats: dict | None) -> None:
    """``retention.csv``, the markdown table ``retention.md`` and the plot ``retention.png`` of ``rows``."""
    atomic_write_csv(out / "retention.csv", rows)
    spans = sorted({r["seconds"] for r in rows})
    lines = ["| network | ambient | " + " | ".join(_span(s) for s in spans) + " |",
             "|---|---|" + "---|" * len(spans)]
    for name in NETWORKS:
        for celsius in sorted({r["celsius"] for r in rows}):
            acc = {r["seconds"]: r["test_acc"] for r in rows if r["network"] == name and r["celsius"] == celsius}
            if acc:
                lines.append(f"| {name.replace('_', '-')} | {celsius:g} C | "
                             + " | ".join(f"{100 * acc[s]:.1f} %" if s in acc else "" for s in spans) + " |")
    if write_verify_stats:
        lines.append("")
        lines.append("write-and-verify: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                        for k, v in write_verify_stats.items()))
    atomic_write_text(out / "retention.md", "\n".join(lines) + "\n")
    _plot(rows, out / "retention.png")


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    styles = {"reset_only": "o-", "write_verify": "s--"}
    for name in NETWORKS:
        for celsius in sorted({r["celsius"] for r in rows}):
            pts = sorted((r["seconds"], r["test_acc"], r["mean_conductance_change"]) for r in rows
                         if r["network"] == name and r["celsius"] == celsius)
            if pts:
                x = [max(s, 60.0) for s, _, _ in pts]  # "as trained" drawn at 1 minute on the log axis
                label = f"{name.replace('_', '-')}, {celsius:g} C"
                ax.semilogx(x, [100 * a for _, a, _ in pts], styles[name], label=label)
                bx.semilogx(x, [100 * c for _, _, c in pts], styles[name], label=label)
    for axis in (ax, bx):
        for s, label in ((HOUR, "1 h"), (DAY, "1 d"), (7 * DAY, "1 wk"), (30 * DAY, "1 mo")):
            axis.axvline(s, color="0.85", lw=0.8, zorder=0)
            axis.text(s, axis.get_ylim()[0], label, fontsize=7, ha="center", va="bottom")
        axis.set_xlabel("time at ambient (s); 'as trained' at 60 s")
        axis.grid(alpha=0.3)
    ax.set_ylabel("test accuracy (%)")
    bx.set_ylabel("mean read-conductance change (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)

