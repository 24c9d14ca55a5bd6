"""Energy of a weight update as the forward-only paper measures it (after Renaudineau et al., "Forward-only
learning in memristor arrays with month-scale stability": sub-1 V reset-only updates against
program-and-verify, and the energy per inference with and without learning).

Everything runs on the devices and circuit of a forward-only run (:class:`~memcosim.trainers.forward_only.ForwardOnlyTrainer`
built from its run TOML: both layers in one netlist, the run's device, wires, row DACs, column TIAs and ADCs,
V/2 or V/3 programming drivers). Energy is always every supply group of that circuit
(:attr:`memcosim.cosim.session.Result.energy`): programming drivers, TIAs, DACs, row and array sources.

* **Update energy** (:func:`measure_updates`): for ``cells`` cells of the first layer (drawn with ``seed``),
  from the states the run starts in:

  - *reset-only*: one pulse of the run's ``reset`` (amplitude, width, edges) on the cell through the
    trainer's own update path (:meth:`~memcosim.cosim.layer.CrossbarCircuit.pulse_slots`); the cell's
    read conductance (:func:`~memcosim.cosim.readout.read_cell`, the apparent conductance at ``v_read``)
    before ``g_start`` and after ``g_reset``; no verify read (the learning rule's inference reads decide
    the update);
  - *program-and-verify*, per policy: the cell back at its start state, then
    :func:`~memcosim.programming.write_verify.write_verify` to the target ``g_reset`` within
    ``dg_tolerance`` of the change ``|g_reset - g_start|``, SET and RESET pulses from an
    :class:`~memcosim.programming.write_verify.IncrementalPolicy` (fixed amplitude or incremental step
    pulses), at most ``max_pulses`` pulses. Its energy is the pulses' (every supply) plus every verify
    read (the first one included) times the energy of one read of that row held ``t_read`` seconds
    (:func:`~memcosim.cosim.readout.read_row_energy`, measured on the cell's start state).

  The ratio per cell is program-and-verify over reset-only; it is summarised over the cells whose
  program-and-verify converged (the success rate is reported next to it).

* **Energy per inference** (:func:`measure_inference`): the mean energy of one inference of a test sample
  (every layer read of one pass, ``competitive``; both passes of a training sample for ``ff``), each read
  held ``t_read`` seconds (:meth:`~memcosim.cosim.layer.CrossbarLayer.read_energy`); and the energy the
  updates add per training sample over one short epoch of the run (the trainer's ``energy`` counter: every
  supply of every update transient), as a fraction of the inference energy (the paper's "+46 %").

Nothing here moves the run's devices for good: every measurement restores the states it started from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from memcosim import fields as f
from memcosim.cosim.layer import Slot
from memcosim.cosim.readout import read_cell, read_row_energy
from memcosim.errors import ConfigError
from memcosim.programming.write_verify import IncrementalPolicy, write_verify
from memcosim.trainers.config import RunConfig
from memcosim.trainers.forward_only import ForwardOnlyTrainer


@dataclass
class UpdateEnergyConfig:
    """Settings of the update-energy comparison: ``cells`` cells of the first layer (seeded draw with ``seed``),
    program-and-verify within ``dg_tolerance`` (a fraction of each cell's reset-only change) with at most
    ``max_pulses`` pulses, verify and inference reads held ``t_read`` seconds, ``samples`` test samples for
    the energy per inference and ``train_samples`` training samples for the learning overhead (0: skip).
    ``g_start_low`` (siemens, 0 = off): each measured cell first gets a start conductance drawn uniformly
    between it and the layer's ``g_max`` (seeded; the states a trained network holds instead of the run's
    initial ones, which are all near ``g_max``)."""

    cells: int = 16
    dg_tolerance: float = 0.25
    max_pulses: int = 100
    t_read: float = 100e-9
    samples: int = 8
    train_samples: int = 48
    seed: int = 0
    g_start_low: float = 0.0
    policies: dict[str, IncrementalPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cells = f.integer("energy.cells", self.cells, 1)
        self.dg_tolerance = f.number("energy.dg_tolerance", self.dg_tolerance, low=0.0, low_open=True, high=1.0)
        self.max_pulses = f.integer("energy.max_pulses", self.max_pulses, 1)
        self.t_read = f.number("energy.t_read", self.t_read, low=0.0, low_open=True, unit="s")
        self.samples = f.integer("energy.samples", self.samples, 0)
        self.train_samples = f.integer("energy.train_samples", self.train_samples, 0)
        self.seed = f.integer("energy.seed", self.seed, 0)
        self.g_start_low = f.number("energy.g_start_low", self.g_start_low, low=0.0, unit="S")
        for name, policy in self.policies.items():
            if not isinstance(policy, IncrementalPolicy):
                raise ConfigError(f"energy.policies.{name}", f"must be an IncrementalPolicy, got {policy!r}")


def preset_policy(model: str, width: float, edge: float = 5e-9) -> IncrementalPolicy:
    """Conventional program-and-verify: fixed pulses at the model preset's SET and RESET amplitudes, ``width`` s
    at full amplitude with ``edge`` s edges."""
    return IncrementalPolicy.for_model(model, width, edge)


def measure_updates(trainer: ForwardOnlyTrainer, config: UpdateEnergyConfig,
                    log: Callable[[str], None] | None = print) -> list[dict]:
    """One row per (cell, method): reset-only and each program-and-verify policy (see the module docstring).

    Energies in joules (``E_<group>`` per supply group, ``E_pulses``, ``E_reads``, ``E_total``), conductances
    in siemens, ``ratio`` = this method's ``E_total`` over the cell's reset-only ``E_total``."""
    circuit = trainer.circuit
    layer = circuit.layers[0]
    s = trainer.s
    reset = s.reset_of(layer.index)
    policies = config.policies or {"preset": preset_policy(layer.config.device.model, reset.width, reset.rise)}
    v_read = layer.config.device.v_read
    rng = np.random.default_rng(config.seed)
    R, C = layer.config.inputs, layer.config.columns
    cells = [divmod(int(k), C) for k in rng.choice(R * C, size=min(config.cells, R * C), replace=False)]
    g_max = layer.config.device.g_max
    if config.g_start_low and not config.g_start_low < g_max:
        raise ConfigError("energy.g_start_low", f"must be below the layer's g_max {g_max:.4g} S, got {config.g_start_low}")
    g_draw = rng.uniform(config.g_start_low, g_max, len(cells)) if config.g_start_low else None
    first = start = circuit.states
    rows: list[dict] = []
    t0 = time.perf_counter()
    try:
        for n, (i, j) in enumerate(cells):
            if g_draw is not None:
                start = first.copy()
                k = int(layer.device_index[i, j])
                start[k] = float(layer.device.state_for(np.array([g_draw[n]]))[0])
            circuit.set_states(start)
            circuit.idle_rows()
            circuit.row_values.clear()  # the reads below drive the row sources themselves
            g0 = read_cell(layer.session, layer.crossbar, i, j, v_read)
            e_read = read_row_energy(layer.session, layer.crossbar, i, config.t_read, v_read)
            read_j = float(sum(e_read.values()))
            rows_mask, cols_mask = np.zeros(R, bool), np.zeros(C, bool)
            rows_mask[i], cols_mask[j] = True, True
            pulse = circuit.pulse_slots([Slot(reset.amplitude, {layer.index: (rows_mask, cols_mask)})], trainer.timing)
            circuit.row_values.clear()
            g1 = read_cell(layer.session, layer.crossbar, i, j, v_read)
            base = {"cell": f"{i},{j}", "g_start": g0, "g_target": g1, "dg": g1 - g0, "E_read_one": read_j}
            reset_row = {**base, "method": "reset-only", "pulses": 1, "reads": 0, "converged": True, "g_final": g1,
                         "E_pulses": pulse.energy, "E_reads": 0.0, "E_total": pulse.energy, "ratio": 1.0,
                         **{f"E_{g}": v for g, v in pulse.groups.items()}}
            rows.append(reset_row)
            if not g1 < g0:
                if log is not None:
                    log(f"cell {i},{j}: the RESET pulse did not lower the conductance ({g0:.4g} -> {g1:.4g} S); skipped")
                continue
            tolerance = config.dg_tolerance * abs(g1 - g0) / g1
            for name, policy in policies.items():
                circuit.set_states(start)
                circuit.row_values.clear()
                r = write_verify(layer.session, layer.crossbar, (i, j), g1, policy, tolerance=tolerance,
                                 max_pulses=config.max_pulses, v_read=v_read, walk_within_pulse=False)
                total = r.pulse_energy + r.reads * read_j
                groups = dict(r.energy)
                for g, v in e_read.items():
                    groups[g] = groups.get(g, 0.0) + r.reads * v
                rows.append({**base, "method": f"program-and-verify ({name})", "pulses": r.pulses, "reads": r.reads,
                             "converged": r.converged, "g_final": r.g_final, "E_pulses": r.pulse_energy,
                             "E_reads": r.reads * read_j, "E_total": total, "ratio": total / pulse.energy,
                             **{f"E_{g}": v for g, v in groups.items()}})
            if log is not None:
                done = [x for x in rows if x["cell"] == base["cell"] and x["method"] != "reset-only"]
                log(f"cell {n + 1}/{len(cells)} ({i},{j}): dG {100 * (g1 / g0 - 1):+.2f} %, reset-only "
                    f"{pulse.energy * 1e12:.0f} pJ; " + "; ".join(f"{x['method']}: {x['pulses']} pulses, "
                                                               f"{x['ratio']:.1f}x" for x in done)
                    + f" ({time.perf_counter() - t0:.0f} s)")
    finally:
        circuit.set_states(first)
        circuit.row_values.clear()
    return rows


def summarise_updates(rows: list[dict]) -> list[dict]:
    """Per method: cells, success rate, mean pulses and reads, mean energies and the ratio to reset-only over the
    converged cells (median and the ratio of the mean energies)."""
    out = []
    reset = {r["cell"]: r for r in rows if r["method"] == "reset-only"}
    for method in dict.fromkeys(r["method"] for r in rows):
        chunk = [r for r in rows if r["method"] == method]
        ok = [r for r in chunk if r["converged"]]
        row = {"method": method, "cells": len(chunk), "success_rate": len(ok) / len(chunk)}
        if ok:
            row.update(mean_pulses=float(np.mean([r["pulses"] for r in ok])),
                       mean_reads=float(np.mean([r["reads"] for r in ok])),
                       mean_dg_rel=float(np.mean([r["dg"] / r["g_start"] for r in ok])),
                       E_pulses=float(np.mean([r["E_pulses"] for r in ok])),
                       E_reads=float(np.mean([r["E_reads"] for r in ok])),
                       E_total=float(np.mean([r["E_total"] for r in ok])),
                       ratio_median=float(np.median([r["ratio"] for r in ok])),
                       ratio_of_means=float(np.mean([r["E_total"] for r in ok])
                                            / np.mean([reset[r["cell"]]["E_total"] for r in ok])))
            groups = sorted({k for r in ok for k in r if k.startswith("E_") and k not in
                             ("E_pulses", "E_reads", "E_total", "E_read_one")})
            row.update({g: float(np.mean([r.get(g, 0.0) for r in ok])) for g in groups})
        out.append(row)
    return out


def measure_inference(trainer: ForwardOnlyTrainer, config: UpdateEnergyConfig,
                      log: Callable[[str], None] | None = print) -> dict:
    """Energy per inference (joules, every supply, reads held ``t_read``) on ``samples`` test samples, and the
    update energy per training sample of one epoch on the trainer's training split (the run's reset pulses;
    build the trainer with ``train.train_limit = train_samples``). The device states are restored after."""
    d = trainer.dataset
    x = np.asarray(d.x_test[:config.samples], dtype=float)
    y = np.asarray(d.y_test[:config.samples], dtype=int)
    start = trainer.circuit.states
    groups: dict[str, float] = {}
    reads = 0
    for b in range(len(x)):
        for inputs in trainer.pass_inputs(x[b:b + 1], y[b:b + 1]):
            for layer, xk in zip(trainer.circuit.layers, inputs):
                for g, v in layer.read_energy(xk, config.t_read).items():
                    groups[g] = groups.get(g, 0.0) + v
                reads += len(xk)
    n = max(len(x), 1)
    out = {"t_read_s": config.t_read, "samples": len(x), "reads_per_sample": reads / n,
           "E_inference": float(sum(groups.values())) / n, **{f"E_inference_{g}": v / n for g, v in groups.items()}}
    out["P_read_W"] = out["E_inference"] / (out["reads_per_sample"] * config.t_read) if reads else 0.0
    if config.train_samples:
        t0 = time.perf_counter()
        trainer.config.train.progress = False
        trainer.s.energy_compare = False
        trainer.fit(epochs=trainer.epoch + 1, log=None)
        c = trainer.counters
        seen = len(d.x_train)
        out.update(train_samples=seen, updates=c["transients"], reset_pulses=c["reset_pulses"],
                   E_update_per_sample=c["energy"] / seen,
                   learning_overhead=(c["energy"] / seen) / out["E_inference"] if out["E_inference"] else 0.0,
                   train_seconds=time.perf_counter() - t0)
        out.update({f"E_update_per_sample_{k[len('energy_'):]}": v / seen for k, v in c.items()
                    if k.startswith("energy_")})
        trainer.circuit.set_states(start)
    if log is not None:
        log(f"inference: {out['E_inference'] * 1e9:.3g} nJ per sample ({out['reads_per_sample']:.0f} layer reads of "
            f"{config.t_read * 1e9:.0f} ns)" + (f"; learning adds {100 * out['learning_overhead']:.0f} %"
                                               if config.train_samples else ""))
    return out


def run_update_energy(run: RunConfig, config: UpdateEnergyConfig,
                      log: Callable[[str], None] | None = print) -> tuple[list[dict], list[dict], dict]:
    """Build the run's circuit, measure the updates then the inference energy; returns (per-cell rows, summary
    per method, inference figures)."""
    if run.train.algorithm != "forward_only":
        raise ConfigError("train.algorithm", f"the update-energy study needs a forward_only run, got "
                          f"{run.train.algorithm!r}")
    if config.train_samples:
        run.train.train_limit = config.train_samples
    run.train.checkpoint = ""
    with ForwardOnlyTrainer(run) as trainer:
        rows = measure_updates(trainer, config, log)
        inference = measure_inference(trainer, config, log) if config.samples else {}
    return rows, summarise_updates(rows), inference
