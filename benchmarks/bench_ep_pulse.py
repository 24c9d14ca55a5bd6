"""EP with pulse updates on digits: the time of one training step and the epoch it implies, before and after
the pulse slots ran layer by layer, measured in the same run; and the time-step rule of the slot transients.

Part ``steps`` (64-H-10 networks, ``MEMCOSIM_BENCH_EP_PULSE_HIDDEN``, default 16,32; the network, pulses and
programming drivers of ``configs/ep_digits_pulse.toml``):

* ``before`` is the code up to b1a27ff: the network's elements in the order they are built
  (``klu_order=False``) and every batch's slots in ONE transient over the whole network switched to its
  programming drivers (``pulse.transient = "network"``);
* ``after``: elements in the order KLU factors fastest (:func:`memcosim.circuits.netlist.order_for_klu`) and
  each weight layer's slots in its own transient, on the layer alone in its own session and worker process,
  the layers at once (``pulse.transient = "layers"``, the default).

A step is a batch of 32 training digits: a free and a nudged operating point per sample, then the batch's
pulses. The pulse counts are drawn per cell from {-2, ..., 2} (seeded): every column needs 2 SET and 2 RESET
slots, the most a batch can need at ``max_pulses = 2`` (the reference run pulsed 171 thousand times in
epoch 1, 3,800 pulses per batch of 32 on 2,420 cells). The pulses are timed on the first
``MEMCOSIM_BENCH_EP_PULSE_COLUMNS`` columns of every layer (default 4; 0 = all) and scaled to the whole batch
by its slots (a slot transient costs the same whatever its column), after one untimed batch of one column
(the sessions' first transients). Wall seconds (``*_s``, on the machine as loaded, ``load``) and CPU seconds
of this process and its ngspice workers (``*_cpu_s``). ``epoch_s_est`` = step x 45 batches +
360 test reads (free phases) of the digits split. ``fill`` = KLU's fill-in non-zeros of the network (before)
or of layer 0 alone (after), from ngspice's ``rusage``.

Part ``time_steps``: 4 slots on column 0 of layer 0 of 64-8-10 (130 x 8 cells) with the EP slot steps
(largest step = half the pulse width, ``pulse.reltol`` 1e-3), with vteam's preset rule
(``devices/presets.py``: ``min(width, step) / pulse_steps``, reltol 1e-4) and a converged reference (5 ps,
reltol 1e-6): time points and the error of each cell's state change against the reference.

Part ``solver``: layer 0 of 64-32-10 alone (130 x 32 cells): KLU's fill-in non-zeros for several element
orders (ngspice ``rusage`` after an operating point), and where the time of an 8-slot transient goes
(time points, Newton iterations, seconds of device evaluation, factorization and solve, as ngspice counts them).

Part ``accuracy``: ``configs/ep_digits_pulse.toml`` at 64-``MEMCOSIM_BENCH_EP_PULSE_ACC_HIDDEN``-10 (default
16) trained for one epoch on the first ``MEMCOSIM_BENCH_EP_PULSE_ACC_TRAIN`` training digits (default 480), the
whole test split, with the pulses layer by layer and in one transient over the whole network: test accuracy,
pulses and energy of each (about 10 min each on the loaded machine).

``MEMCOSIM_BENCH_PARTS`` picks parts (default ``steps,time_steps,solver,accuracy``). Tables on screen, JSON in
``benchmarks/results/ep_pulse_<part>.json``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time

import numpy as np

from benchmarks.bench_trainers import digits_config, stored_pulse_config
from benchmarks.common import report
from memcosim.circuits.ep_network import build_programming_layer
from memcosim.circuits.waveforms import slot_period, slot_train
from memcosim.cosim.engine import open_session
from memcosim.devices.presets import get_preset
from memcosim.trainers.datasets import dataset_for
from memcosim.trainers.ep import EPTrainer
from memcosim.trainers.ep_circuit import CircuitNetwork, ep_session_options
from memcosim.trainers.ep_pulse import apply_pulses, layer_slots, slot_levels

HIDDEN = [int(h) for h in os.environ.get("MEMCOSIM_BENCH_EP_PULSE_HIDDEN", "16,32").split(",")]
COLUMNS = int(os.environ.get("MEMCOSIM_BENCH_EP_PULSE_COLUMNS", "4"))
ACC_HIDDEN = int(os.environ.get("MEMCOSIM_BENCH_EP_PULSE_ACC_HIDDEN", "16"))
ACC_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_EP_PULSE_ACC_TRAIN", "480"))
PARTS = os.environ.get("MEMCOSIM_BENCH_PARTS", "steps,time_steps,solver,accuracy").split(",")
BATCH, BATCHES, TEST = 32, 45, 360  # the digits split: 1,437 training digits in batches of 32, 360 test digits
VARIANTS = {"before": (False, "network"), "after": (True, "layers")}


def fill_in(session) -> int:
    """KLU's fill-in non-zeros of the session's circuit matrix (ngspice ``rusage``; runs in the worker)."""
    out = session.library.command("rusage all")
    for line in out.stdout + out.stderr:
        m = re.match(r"\s*Circuit fill-in non-zeroes\s*=\s*(\d+)", line)
        if m:
            return int(m.group(1))
    return -1


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by this process and the processes ``pids`` (Linux /proc)."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def solver_figures(session, text: str = "", tran: tuple | None = None) -> dict[str, float]:
    """ngspice's ``rusage`` figures after an operating point of ``text`` (a netlist; loaded, solved and removed
    again) or after the transient ``tran`` = (stop, step, waves, max_step, reltol, vntol) of the session's
    circuit; runs in the worker."""
    lib = session.library
    if text:
        lib.load_circuit(text)
        lib.command("op")
    else:
        _tran(session, *tran)
    out = lib.command("rusage all")
    if text:
        lib.command("remcirc")
    figures = {}
    for line in out.stdout + out.stderr:
        m = re.match(r"\s*(Circuit fill-in non-zeroes|Transient iterations|Transient timepoints|Transient load time|"
                     r"Transient factor time|Transient solve time|Transient analysis time)\s*=\s*(\S+)", line)
        if m:
            figures[m.group(1)] = float(m.group(2))
    return figures


def solver_rows() -> list[dict]:
    """Layer 0 of 64-32-10 alone (130 x 32 cells): KLU's fill-in for several element orders, and where the time
    of an 8-slot transient goes (ngspice rusage: iterations, time points, load / factor / solve seconds)."""
    config = digits_config("ngspice", "pulse", hidden=32)
    net, p = config.network, config.pulse
    g = net.initial_conductances()[0]
    prog = build_programming_layer(net, 0, g)
    built = list(reversed(prog.netlist.elements))  # the order of construction
    cells = [e for e in built if e.name.startswith("N")]
    rest = [e for e in built if not e.name.startswith("N")]

    def where(e) -> tuple[int, int]:
        m = re.search(r"_(\d+)_(\d+)$", e.name)
        return (int(m.group(1)), int(m.group(2))) if m else (-1, -1)

    orders = {"as built (before)": built, "reversed (after)": built[::-1],
              "row-major": sorted(built, key=where), "column-major": sorted(built, key=lambda e: where(e)[::-1]),
              "shuffled": [built[k] for k in np.random.default_rng(0).permutation(len(built))],
              "cells first": cells + rest}
    rows = []
    session = open_session(prog.netlist, ep_session_options())
    try:
        for name, elements in orders.items():
            text = dataclasses.replace(prog.netlist, elements=elements).render()
            rows.append({"part": "solver", "order": name,
                         "fill": int(session.run(solver_figures, text)["Circuit fill-in non-zeroes"])})
        counts = np.random.default_rng(1).integers(-2, 3, g.shape)
        counts[:, 2:] = 0
        slots = layer_slots(counts, p.set.amplitude, p.reset.amplitude)
        waves = {n: slot_train(v, p.set.width, p.set.rise, p.gap)
                 for n, v in slot_levels([{0: s} for s in slots], {0: prog.layer}, "V/2").items() if any(v)}
        stop = len(slots) * slot_period(p.set.width, p.set.rise, p.gap)
        f = session.run(solver_figures, "", (stop, p.set.rise, waves, max(p.set.rise, p.set.width / 2), p.reltol, p.vntol))
        rows.append({"part": "solver", "order": f"{len(slots)}-slot transient, reversed", "fill": int(f.get("Circuit fill-in non-zeroes", -1)),
                     "points": f["Transient timepoints"], "iterations": f["Transient iterations"],
                     "load_s": f["Transient load time"], "factor_s": f["Transient factor time"],
                     "solve_s": f["Transient solve time"], "analysis_s": f["Transient analysis time"]})
    finally:
        session.close()
    return rows


def accuracy_rows() -> list[dict]:
    """configs/ep_digits_pulse.toml at 64-ACC_HIDDEN-10 on the first ACC_TRAIN training digits for one epoch, the whole
    test split, with the pulses layer by layer and in one transient over the whole network."""
    rows = []
    for transient in ("layers", "network"):
        c = stored_pulse_config()
        c = dataclasses.replace(c, train=dataclasses.replace(c.train, epochs=1, train_limit=ACC_TRAIN, progress=False),
                                network=dataclasses.replace(c.network, sizes=[64, ACC_HIDDEN, 10]),
                                pulse=dataclasses.replace(c.pulse, transient=transient))
        with EPTrainer(c) as tr:
            h = tr.fit(log=None)[-1]
        rows.append({"part": "accuracy", "network": f"64-{ACC_HIDDEN}-10", "transient": transient, "train": ACC_TRAIN,
                     "test_acc": h["test_acc"], "train_acc": h["train_acc"], "pulses": h["pulses"],
                     "energy_j": h["energy"], "epoch_s": h["seconds"]})
        print(rows[-1], flush=True)
    return rows


def batch_counts(circuit: CircuitNetwork, columns: int, seed: int = 0) -> list[np.ndarray]:
    """Pulse counts in {-2, ..., 2} per cell, zero beyond the first ``columns`` columns of each layer (0 = all)."""
    rng = np.random.default_rng(seed)
    counts = []
    for layer in circuit.network.layers:
        c = rng.integers(-2, 3, layer.cells.shape)
        if columns:
            c[:, columns:] = 0
        counts.append(c)
    return counts


def step_rows() -> list[dict]:
    rows = []
    for hidden in HIDDEN:
        config = digits_config("ngspice", "pulse", hidden=hidden)
        data = dataset_for(config)
        x = data.x_train[:BATCH]
        for name, (klu_order, transient) in VARIANTS.items():
            pulse = dataclasses.replace(config.pulse, transient=transient)
            t0 = time.perf_counter()
            circuit = CircuitNetwork(config.network, config.network.initial_conductances(), ep_session_options(),
                                     klu_order=klu_order)
            try:
                circuit.free(x[0])
                if transient == "layers":  # sessions opened once per run, outside the step
                    for l in range(len(circuit.network.layers)):
                        circuit.programming_session(l)
                setup = time.perf_counter() - t0
                pids = [circuit.session.pid] + ([circuit.programming_session(l)[0].pid
                                                 for l in range(len(circuit.network.layers))]
                                                if transient == "layers" else [])
                t0, c0 = time.perf_counter(), cpu_seconds(pids)
                for k in range(BATCH):
                    out, _ = circuit.free(x[k])
                    circuit.nudged(1e-6 * (0.05 - out))
                phases, phases_cpu = time.perf_counter() - t0, cpu_seconds(pids) - c0
                t0 = time.perf_counter()
                for k in range(8):
                    circuit.free(data.x_test[k])
                read = (time.perf_counter() - t0) / 8
                apply_pulses(circuit, batch_counts(circuit, 1, seed=1), pulse)  # first transients: set-up, untimed
                counts = batch_counts(circuit, COLUMNS)
                full = batch_counts(circuit, 0)
                timed_slots = max(len(layer_slots(c, 1.0, -1.0)) for c in counts)
                all_slots = max(len(layer_slots(c, 1.0, -1.0)) for c in full)
                t0, c0 = time.perf_counter(), cpu_seconds(pids)
                pulses = apply_pulses(circuit, counts, pulse)
                pulse_s = (time.perf_counter() - t0) * all_slots / timed_slots
                pulse_cpu = (cpu_seconds(pids) - c0) * all_slots / timed_slots
                fill = (circuit.session if transient == "network" else circuit.programming_session(0)[0]).run(fill_in)
            finally:
                circuit.close()
            step = phases + pulse_s
            rows.append({"part": "steps", "network": f"64-{hidden}-10", "run": name, "setup_s": setup,
                         "phases_s": phases, "pulse_s": pulse_s, "step_s": step,
                         "epoch_s_est": step * BATCHES + TEST * read, "phases_cpu_s": phases_cpu,
                         "pulse_cpu_s": pulse_cpu, "step_cpu_s": phases_cpu + pulse_cpu, "timed_slots": timed_slots,
                         "batch_slots": all_slots, "timed_pulses": pulses, "fill": fill,
                         "load": os.getloadavg()[0]})
            print(rows[-1], flush=True)
        before, after = rows[-2], rows[-1]
        after["speedup"] = before["epoch_s_est"] / after["epoch_s_est"]
        after["speedup_cpu"] = before["step_cpu_s"] / after["step_cpu_s"]
    return rows


def time_step_rows() -> list[dict]:
    """State changes of 4 slots on layer 0 of 64-8-10 under the EP slot steps, the preset rule and a converged
    reference."""
    config = digits_config("ngspice", "pulse", hidden=8)
    net, p = config.network, config.pulse
    g = net.initial_conductances()[0]
    prog = build_programming_layer(net, 0, g)
    counts = np.random.default_rng(1).integers(-2, 3, g.shape)
    counts[:, 1:] = 0
    slots = layer_slots(counts, p.set.amplitude, p.reset.amplitude)
    waves = {n: slot_train(v, p.set.width, p.set.rise, p.gap)
             for n, v in slot_levels([{0: s} for s in slots], {0: prog.layer}, "V/2").items() if any(v)}
    stop = len(slots) * slot_period(p.set.width, p.set.rise, p.gap)
    preset = get_preset(net.device.model)
    rules = {"EP slot steps": (max(p.set.rise, p.set.width / 2), p.reltol),
             "preset rule": (preset.max_time_step(p.set.width), min(p.reltol, preset.pulse_reltol)),
             "reference": (5e-12, 1e-6)}
    moved, rows = {}, []
    session = open_session(prog.netlist, ep_session_options())
    try:
        start = session.states.copy()
        for name, (max_step, reltol) in rules.items():
            session.set_states(start)
            t0 = time.perf_counter()
            r = session.run(_tran, stop, p.set.rise, waves, max_step, reltol, p.vntol)
            wall = time.perf_counter() - t0
            moved[name] = session.states - start
            rows.append({"part": "time_steps", "rule": name, "max_step_s": max_step, "reltol": reltol,
                         "points": r, "wall_s": wall})
    finally:
        session.close()
    ref = moved["reference"]
    big = np.abs(ref) > 1e-4 * np.abs(ref).max()
    for row in rows:
        err = np.abs(moved[row["rule"]][big] - ref[big]) / np.abs(ref[big])
        row.update(cells=int(big.sum()), err_median=float(np.median(err)), err_max=float(err.max()))
    return rows


def _tran(session, stop: float, step: float, waves: dict, max_step: float, reltol: float, vntol: float) -> int:
    """A slot transient at the given tolerances in the worker; the number of time points."""
    with session.solver_options(reltol=reltol, vntol=vntol):
        return len(session.tran(stop, step, waveforms=waves, max_step=max_step).time)


def main() -> None:
    if "steps" in PARTS:
        report("ep_pulse_steps", step_rows(),
               "a batch of 32 digits (free + nudged op per sample, then the pulse slots of counts in {-2..2}: every "
               f"column 2 SET + 2 RESET slots), pulses timed on {COLUMNS or 'all'} columns per layer and scaled by "
               "slots; epoch_s_est = step x 45 + 360 test reads; before = whole-network transient, elements as "
               "built; after = layer by layer, KLU order; *_cpu_s = this process and its ngspice workers")
    if "time_steps" in PARTS:
        report("ep_pulse_time_steps", time_step_rows(),
               "4 slots on 130 x 8 cells: error of each cell's state change against the 5 ps / reltol 1e-6 reference")
    if "accuracy" in PARTS:
        report("ep_pulse_accuracy", accuracy_rows(),
               f"configs/ep_digits_pulse.toml at 64-{ACC_HIDDEN}-10, first {ACC_TRAIN} training digits, 1 epoch, "
               "whole test split; pulses layer by layer and in one transient over the whole network")
    if "solver" in PARTS:
        report("ep_pulse_solver", solver_rows(),
               "layer 0 of 64-32-10 alone: KLU fill-in per element order (op), and an 8-slot transient's ngspice "
               "rusage (seconds as ngspice counts them)")


if __name__ == "__main__":
    main()
