"""EP with pulse updates on digits: the time of one training step and the epoch it implies, before and after
a change of the slot transients, measured in the same run; and the time-step rule of the slot transients.

Part ``steps`` (64-H-10 networks, ``MEMCOSIM_BENCH_EP_PULSE_HIDDEN``, default 16,32; the network, pulses and
programming drivers of ``configs/ep_digits_pulse.toml``); ``MEMCOSIM_BENCH_EP_PULSE_RUNS`` picks the code
versions (default ``gap,no gap``; speed-ups against the first):

* ``b1a27ff``, the code up to b1a27ff: the network's elements in the order they are built
  (``klu_order=False``) and every batch's slots in ONE transient over the whole network switched to its
  programming drivers (``pulse.transient = "network"``);
* ``gap``, the code up to b8264cd: elements in the order KLU factors fastest
  (:func:`memcosim.circuits.netlist.order_for_klu`) and each weight layer's slots in its own transient, on the
  layer alone in its own session and worker process, the layers at once (``pulse.transient = "layers"``), the
  2 ns gap at 0 V between slots simulated (``apply_pulses(keep_gap=True)``);
* ``no gap``: the same with the gap left out of the transients (the default: the circuit stores no charge, so
  nothing moves in the gap; :func:`memcosim.trainers.ep_pulse.simulated_gap`).

A step is a batch of 32 training digits: a free and a nudged operating point per sample, then the batch's
pulses. The pulse counts are drawn per cell from {-2, ..., 2} (seeded): every column needs 2 SET and 2 RESET
slots, the most a batch can need at ``max_pulses = 2`` (the reference run pulsed 171 thousand times in
epoch 1, 3,800 pulses per batch of 32 on 2,420 cells). The pulses are timed on the first
``MEMCOSIM_BENCH_EP_PULSE_COLUMNS`` columns of every layer (default 4; 0 = all) and scaled to the whole batch
by its slots (a slot transient costs the same whatever its column), after one untimed batch of one column
(the sessions' first transients). Wall seconds (``*_s``, on the machine as loaded, ``load``) and CPU seconds
of this process and its ngspice workers (``*_cpu_s``). ``epoch_s_est`` = step x 45 batches +
360 test reads (free phases) of the digits split. ``fill`` = KLU's fill-in non-zeros of the network
(``network`` transient) or of layer 0 alone (``layers``), from ngspice's ``rusage``.

Part ``time_steps``: 8 slots on columns 0 and 1 of layer 0 of 64-8-10 (130 x 8 cells) with the EP slot steps
(largest step = half the pulse width, ``pulse.reltol`` 1e-3) with and without the gap between slots, with
vteam's preset rule (``devices/presets.py``: ``min(width, step) / pulse_steps``, reltol 1e-4) and converged
references (5 ps, reltol 1e-6) with and without the gap: time points, Newton iterations, and the error of each
cell's state change against the reference with the gap; for the slot steps without the gap also the difference
from the slot steps with it (``vs_gap_median`` of each cell's change, ``vs_gap_max_of_largest``: the largest,
as a fraction of the largest change).

Part ``solver``: layer 0 of 64-32-10 alone (130 x 32 cells): KLU's fill-in non-zeros for several element
orders (ngspice ``rusage`` after an operating point), and where the time of an 8-slot transient goes, with and
without the gap between slots (time points, Newton iterations, seconds of device evaluation, factorization and
solve as ngspice counts them, and the worker's CPU seconds).

Part ``accuracy``: ``configs/ep_digits_pulse.toml`` at 64-``MEMCOSIM_BENCH_EP_PULSE_ACC_HIDDEN``-10 (default
16) trained for one epoch on the first ``MEMCOSIM_BENCH_EP_PULSE_ACC_TRAIN`` training digits (default 480), the
whole test split, with the pulses layer by layer and in one transient over the whole network
(``MEMCOSIM_BENCH_EP_PULSE_ACC_TRANSIENTS``, default ``layers,network``): test accuracy, pulses and energy of
each (about 10 min each on the loaded machine).

Part ``drivers``: 8 slots on columns 0 and 1 of layer 0 of 64-8-10 (error against the 5 ps / reltol 1e-6
reference with the gap) and 16 slots on columns 0-3 of layer 0 of 64-32-10 (cost only), the programming
sources written into the netlist in two ways: as ``pwl`` voltage sources (ngspice puts a breakpoint at every
corner and restarts with a step of a tenth of the shorter of the last step and the next interval) and as B
sources ``V = pwl(time, ...)`` (no breakpoints: the steps follow ``max_step``), optionally with a 0 V source
whose corners are breakpoints at the slots' corners (the B sources then take the vsrc's time points; this
isolates what a B source costs per Newton iteration). Time points, iterations and the worker's CPU seconds of
the transient.

Part ``gap_ab``: the CPU cost of leaving the gap out, measured robustly on a loaded machine: 16 slots on
columns 0-3 of layer 0 of 64-32-10 as pwl voltage sources, with and without the gap, alternated
``MEMCOSIM_BENCH_EP_PULSE_REPEAT`` times (default 3): the worker's CPU seconds of each transient (medians) and
its Newton iterations.

Part ``groups``: one batch of pulse counts drawn per cell from {-2, ..., 2} (seeded; every column 2 SET + 2 RESET
slots) on both layers of ``configs/ep_digits_pulse_64_32.toml`` (64-32-10) from its initial conductances, with
``pulse.column_groups`` 1 and 2 (:func:`memcosim.trainers.ep_pulse.column_groups`): how far the state changes and
the programming energy of 2 groups are from those of 1 (the cells whose change exceeds 1e-3 of the largest:
largest difference as a fraction of the largest change, median and largest per cell), and the wall seconds of
each batch (the programming sessions opened first, untimed).

``MEMCOSIM_BENCH_PARTS`` picks parts (default ``steps,time_steps,solver,accuracy``). Tables on screen, JSON in
``benchmarks/results/ep_pulse_<part>.json``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_trainers import digits_config, stored_pulse_config
from benchmarks.common import process_cpu_seconds, report
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
ACC_TRANSIENTS = os.environ.get("MEMCOSIM_BENCH_EP_PULSE_ACC_TRANSIENTS", "layers,network").split(",")
PARTS = os.environ.get("MEMCOSIM_BENCH_PARTS", "steps,time_steps,solver,accuracy").split(",")
REPEAT = int(os.environ.get("MEMCOSIM_BENCH_EP_PULSE_REPEAT", "3"))
ROOT = Path(__file__).resolve().parent.parent
BATCH, BATCHES, TEST = 32, 45, 360  # the digits split: 1,437 training digits in batches of 32, 360 test digits
VARIANTS = {"b1a27ff": (False, "network", True), "gap": (True, "layers", True), "no gap": (True, "layers", False)}
RUNS = os.environ.get("MEMCOSIM_BENCH_EP_PULSE_RUNS", "gap,no gap").split(",")


def fill_in(session) -> int:
    """KLU's fill-in non-zeros of the session's circuit matrix (ngspice ``rusage``; runs in the worker)."""
    out = session.library.command("rusage all")
    for line in out.stdout + out.stderr:
        m = re.match(r"\s*Circuit fill-in non-zeroes\s*=\s*(\d+)", line)
        if m:
            return int(m.group(1))
    return -1


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by this process and the processes ``pids``."""
    return time.process_time() + sum(process_cpu_seconds(pid) for pid in pids)


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
        levels = slot_levels([{0: s} for s in slots], {0: prog.layer}, "V/2")
        start, before = session.states.copy(), {}
        for gap in (p.gap, 0.0):  # ngspice's rusage counts add up over the session's transients
            session.set_states(start)
            waves = {n: slot_train(v, p.set.width, p.set.rise, gap) for n, v in levels.items() if any(v)}
            stop = len(slots) * slot_period(p.set.width, p.set.rise, gap)
            total = session.run(solver_figures, "", (stop, p.set.rise, waves, max(p.set.rise, p.set.width / 2),
                                                     p.reltol, p.vntol))
            f = {k: v - before.get(k, 0.0) for k, v in total.items()}
            before = total
            rows.append({"part": "solver", "order": f"{len(slots)}-slot transient, reversed, gap {gap * 1e9:g} ns",
                         "fill": int(total.get("Circuit fill-in non-zeroes", -1)),
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
    for transient in ACC_TRANSIENTS:
        c = stored_pulse_config()
        c = dataclasses.replace(c, train=dataclasses.replace(c.train, epochs=1, train_limit=ACC_TRAIN, progress=False),
                                network=dataclasses.replace(c.network, sizes=[64, ACC_HIDDEN, 10]),
                                pulse=dataclasses.replace(c.pulse, transient=transient))
        with EPTrainer(c) as tr:
            h = tr.fit(log=None)[-1]
        rows.append({"part": "accuracy", "network": f"64-{ACC_HIDDEN}-10", "transient": transient, "train": ACC_TRAIN,
                     "test_acc": h["test_acc"], "train_acc": h["train_acc"], "pulses": h["pulses"],
                     "energy_j": h["energy"], "epoch_s": h["seconds"], "load": os.getloadavg()[0]})
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
        for name in RUNS:
            klu_order, transient, keep_gap = VARIANTS[name]
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
                apply_pulses(circuit, batch_counts(circuit, 1, seed=1), pulse, keep_gap=keep_gap)  # set-up, untimed
                counts = batch_counts(circuit, COLUMNS)
                full = batch_counts(circuit, 0)
                timed_slots = max(len(layer_slots(c, 1.0, -1.0)) for c in counts)
                all_slots = max(len(layer_slots(c, 1.0, -1.0)) for c in full)
                t0, c0 = time.perf_counter(), cpu_seconds(pids)
                pulses = apply_pulses(circuit, counts, pulse, keep_gap=keep_gap)
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
        first = rows[-len(RUNS)]
        for row in rows[-len(RUNS) + 1:]:
            row["speedup"] = first["epoch_s_est"] / row["epoch_s_est"]
            row["speedup_cpu"] = first["step_cpu_s"] / row["step_cpu_s"]
    return rows


def layer0_slots(hidden: int, columns: int):
    """Layer 0 of the 64-``hidden``-10 digits network alone in programming mode, and the V/2 slots of seeded
    pulse counts in {-2..2} on its first ``columns`` columns: (network, pulse config, programming layer, slots,
    line levels)."""
    config = digits_config("ngspice", "pulse", hidden=hidden)
    net, p = config.network, config.pulse
    g = net.initial_conductances()[0]
    prog = build_programming_layer(net, 0, g)
    counts = np.random.default_rng(1).integers(-2, 3, g.shape)
    counts[:, columns:] = 0
    slots = layer_slots(counts, p.set.amplitude, p.reset.amplitude)
    levels = slot_levels([{0: s} for s in slots], {0: prog.layer}, "V/2")
    return net, p, prog, slots, levels


def time_step_rows() -> list[dict]:
    """State changes of 8 slots on layer 0 of 64-8-10 under the EP slot steps (with and without the gap between
    slots), the preset rule and converged references (with and without the gap)."""
    net, p, prog, slots, levels = layer0_slots(hidden=8, columns=2)
    preset = get_preset(net.device.model)
    slot_step = max(p.set.rise, p.set.width / 2)
    rules = {"EP slot steps": (slot_step, p.reltol, p.gap), "EP slot steps, no gap": (slot_step, p.reltol, 0.0),
             "preset rule": (preset.max_time_step(p.set.width), min(p.reltol, preset.pulse_reltol), p.gap),
             "reference, no gap": (5e-12, 1e-6, 0.0), "reference": (5e-12, 1e-6, p.gap)}
    moved, rows, before = {}, [], {}
    session = open_session(prog.netlist, ep_session_options())
    try:
        start = session.states.copy()
        for name, (max_step, reltol, gap) in rules.items():
            session.set_states(start)
            waves = {n: slot_train(v, p.set.width, p.set.rise, gap) for n, v in levels.items() if any(v)}
            stop = len(slots) * slot_period(p.set.width, p.set.rise, gap)
            t0 = time.perf_counter()
            total = session.run(solver_figures, "", (stop, p.set.rise, waves, max_step, reltol, p.vntol))
            wall = time.perf_counter() - t0
            f = {k: v - before.get(k, 0.0) for k, v in total.items()}
            before = total
            moved[name] = session.states - start
            rows.append({"part": "time_steps", "rule": name, "max_step_s": max_step, "reltol": reltol, "gap_s": gap,
                         "slots": len(slots), "points": int(f["Transient timepoints"]),
                         "iterations": int(f["Transient iterations"]), "wall_s": wall})
    finally:
        session.close()
    ref = moved["reference"]
    big = np.abs(ref) > 1e-4 * np.abs(ref).max()
    old = moved["EP slot steps"]
    for row in rows:
        err = np.abs(moved[row["rule"]][big] - ref[big]) / np.abs(ref[big])
        row.update(cells=int(big.sum()), err_median=float(np.median(err)), err_max=float(err.max()))
        if row["rule"] == "EP slot steps, no gap":  # against the same steps with the gap (the code before)
            d = np.abs(moved[row["rule"]] - old)
            row.update(vs_gap_median=float(np.median(d[big] / np.abs(old[big]))),
                       vs_gap_max_of_largest=float(d.max() / np.abs(old).max()))
    return rows


def driver_netlist(text: str, levels: dict[str, list[float]], width: float, rise: float, gap: float, kind: str) -> str:
    """``text`` (a programming layer's netlist) with every pulsing source ``VP...`` driven by its slot train:
    ``vsrc`` a pwl voltage source; ``bsource`` a B source ``V = pwl(time, ...)`` (held after the last corner);
    ``bsource+breaks`` the B sources and a 0 V source (behind 1 kohm) with a corner at every slot corner."""
    names = {n.upper(): n for n, v in levels.items() if any(v)}
    out, corners = [], set()
    for line in text.splitlines():
        m = re.match(r"^(V\S+) (\S+) (\S+) dc 0$", line, re.I)
        if m and m.group(1).upper() in names:
            wave = slot_train(levels[names[m.group(1).upper()]], width, rise, gap)
            corners.update(wave.times[1:])
            if kind == "vsrc":
                out.append(f"{line} pwl({wave.render()})")
            else:
                pairs = ", ".join(f"{t:.9g}, {v:.9g}" for t, v in zip(wave.times + (wave.times[-1] + 1.0,),
                                                                        wave.values + (wave.values[-1],)))
                out.append(f"B{m.group(1)[1:]} {m.group(2)} {m.group(3)} V=pwl(time, {pairs})")
            continue
        if line.strip().lower() == ".end" and kind == "bsource+breaks":
            times = sorted(corners)
            out.append("VBREAKS breaks 0 pwl(0 0 " + " ".join(f"{t:.9g} {k % 2}" for k, t in enumerate(times, 1)) + ")")
            out.append("RBREAKS breaks 0 1000")
        out.append(line)
    return "\n".join(out)


def driver_tran(session, text: str, stop: float, step: float, max_step: float, reltol: float, vntol: float,
                state_nodes: list[str]) -> dict:
    """Load ``text`` beside the session's circuit, run the transient, read its figures and final states, and
    remove it again; in the worker."""
    lib = session.library
    lib.load_circuit(text)
    try:
        lib.command(f"option reltol={reltol!r} vntol={vntol!r}")
        c0 = time.process_time()
        lib.command(f"tran {step!r} {stop!r} 0 {max_step!r}")
        cpu = time.process_time() - c0
        figures = {"cpu_s": cpu}
        out = lib.command("rusage all")
        for line in out.stdout + out.stderr:
            m = re.match(r"\s*(Transient iterations|Transient timepoints)\s*=\s*(\S+)", line)
            if m:
                figures[m.group(1)] = float(m.group(2))
        figures["states"] = np.array([lib.vector(f"v({n})")[-1] for n in state_nodes])
        lib.command("destroy all")
    finally:
        lib.command("remcirc")
    return figures


def driver_rows() -> list[dict]:
    """Slot transients with the programming sources as pwl voltage sources and as B sources (see the module
    docstring)."""
    rows = []
    for hidden, columns in ((8, 2), (32, 4)):
        net, p, prog, slots, levels = layer0_slots(hidden=hidden, columns=columns)
        text = prog.netlist.render()
        nodes = [m.state_node for m in prog.netlist.memristors]
        start = np.array([dict(m.params)["x0"] for m in prog.netlist.memristors])
        slot_step = max(p.set.rise, p.set.width / 2)
        runs = [("vsrc", p.gap, slot_step, p.reltol), ("vsrc", 0.0, slot_step, p.reltol),
                ("bsource+breaks", 0.0, slot_step, p.reltol), ("bsource", 0.0, p.set.width / 4, p.reltol),
                ("bsource", 0.0, p.set.width / 6, p.reltol)]
        if hidden == 8:
            runs.append(("vsrc", p.gap, 5e-12, 1e-6))
        session = open_session(prog.netlist, ep_session_options())
        try:
            for kind, gap, max_step, reltol in runs:
                f = session.run(driver_tran, driver_netlist(text, levels, p.set.width, p.set.rise, gap, kind),
                                len(slots) * slot_period(p.set.width, p.set.rise, gap), p.set.rise, max_step,
                                reltol, p.vntol, nodes)
                rows.append({"part": "drivers", "network": f"64-{hidden}-10", "sources": kind, "gap_s": gap,
                             "max_step_s": max_step, "reltol": reltol, "slots": len(slots),
                             "points": int(f["Transient timepoints"]), "iterations": int(f["Transient iterations"]),
                             "cpu_s": f["cpu_s"], "moved": f["states"] - start})
                print({k: v for k, v in rows[-1].items() if k != "moved"}, flush=True)
        finally:
            session.close()
        if hidden == 8:
            ref = rows[-1]["moved"]
            big = np.abs(ref) > 1e-4 * np.abs(ref).max()
            for row in rows[-len(runs):]:
                err = np.abs(row["moved"][big] - ref[big]) / np.abs(ref[big])
                row.update(err_median=float(np.median(err)), err_max=float(err.max()))
    for row in rows:
        del row["moved"]
        row["points_per_slot"] = row["points"] / row["slots"]
        row["iterations_per_slot"] = row["iterations"] / row["slots"]
        row["cpu_ms_per_iteration"] = 1e3 * row["cpu_s"] / row["iterations"]
    return rows


def gap_ab_rows() -> list[dict]:
    """16 slots on layer 0 of 64-32-10 with and without the gap between slots, alternated REPEAT times: medians
    of the worker's CPU seconds per transient."""
    net, p, prog, slots, levels = layer0_slots(hidden=32, columns=4)
    text = prog.netlist.render()
    nodes = [m.state_node for m in prog.netlist.memristors]
    runs: dict[float, list[tuple[float, float]]] = {p.gap: [], 0.0: []}
    session = open_session(prog.netlist, ep_session_options())
    try:
        for _ in range(REPEAT):
            for gap in runs:
                f = session.run(driver_tran, driver_netlist(text, levels, p.set.width, p.set.rise, gap, "vsrc"),
                                len(slots) * slot_period(p.set.width, p.set.rise, gap), p.set.rise,
                                max(p.set.rise, p.set.width / 2), p.reltol, p.vntol, nodes)
                runs[gap].append((f["cpu_s"], f["Transient iterations"]))
    finally:
        session.close()
    rows = []
    for gap, r in runs.items():
        cpu = np.array([c for c, _ in r])
        rows.append({"part": "gap_ab", "network": "64-32-10", "gap_s": gap, "slots": len(slots), "repeats": REPEAT,
                     "iterations": int(r[0][1]), "cpu_s_median": float(np.median(cpu)), "cpu_s_min": float(cpu.min()),
                     "cpu_s_max": float(cpu.max()), "load": os.getloadavg()[0]})
    rows[1]["speedup_cpu"] = rows[0]["cpu_s_median"] / rows[1]["cpu_s_median"]
    return rows


def group_rows() -> list[dict]:
    """One batch of counts in {-2..2} on 64-32-10 with 1 and 2 column groups: state changes, energy, wall time."""
    from memcosim.trainers.config import load_run_config

    cfg = load_run_config(ROOT / "configs" / "ep_digits_pulse_64_32.toml")
    rows, moved = [], {}
    for groups in (1, 2):
        pulse = dataclasses.replace(cfg.pulse, column_groups=groups)
        net = CircuitNetwork(cfg.network, cfg.network.initial_conductances())
        try:
            counts = [np.random.default_rng(3).integers(-2, 3, layer.cells.shape) for layer in net.network.layers]
            for l in range(len(counts)):
                for g in range(groups):
                    net.programming_session(l, g)
            s0 = net.session.states.copy()
            e: dict[str, float] = {}
            t0 = time.perf_counter()
            pulses = apply_pulses(net, counts, pulse, e)
            wall = time.perf_counter() - t0
            moved[groups] = net.session.states - s0
        finally:
            net.close()
        rows.append({"part": "groups", "network": "64-32-10", "column_groups": groups, "pulses": pulses,
                     "wall_s": wall, "energy_j": e["programming_drivers"], "load": os.getloadavg()[0]})
    a, b = moved[1], moved[2]
    big = np.abs(a) > 1e-3 * np.abs(a).max()
    per_cell = np.abs(b - a)[big] / np.abs(a)[big]
    rows[1].update(cells_moved=int(big.sum()), largest_diff_of_largest=float(np.abs(b - a).max() / np.abs(a).max()),
                   per_cell_median=float(np.median(per_cell)), per_cell_max=float(per_cell.max()),
                   energy_ratio=rows[1]["energy_j"] / rows[0]["energy_j"], speedup_wall=rows[0]["wall_s"] / wall)
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
               "slots; epoch_s_est = step x 45 + 360 test reads; b1a27ff = whole-network transient, elements as "
               "built; gap = layer by layer, KLU order, 2 ns gap between slots simulated; no gap = the same "
               "without it; *_cpu_s = this process and its ngspice workers; speedups against the first run")
    if "time_steps" in PARTS:
        report("ep_pulse_time_steps", time_step_rows(),
               "8 slots on 130 x 8 cells: error of each cell's state change against the 5 ps / reltol 1e-6 "
               "reference with the 2 ns gap between slots")
    if "accuracy" in PARTS:
        report("ep_pulse_accuracy", accuracy_rows(),
               f"configs/ep_digits_pulse.toml at 64-{ACC_HIDDEN}-10, first {ACC_TRAIN} training digits, 1 epoch, "
               "whole test split; pulses layer by layer and in one transient over the whole network")
    if "gap_ab" in PARTS:
        report("ep_pulse_gap_ab", gap_ab_rows(),
               f"16 slots on layer 0 of 64-32-10 with and without the 2 ns gap, alternated {REPEAT} times: the "
               "worker's CPU seconds per transient")
    if "drivers" in PARTS:
        report("ep_pulse_drivers", driver_rows(),
               "slot transients of layer 0 with the programming sources as pwl voltage sources (a breakpoint at "
               "every corner) and as B sources pwl(time) (none; +breaks: a 0 V source with the corners as "
               "breakpoints); cpu_s = the worker's CPU seconds of the transient; errors against 5 ps / reltol 1e-6")
    if "groups" in PARTS:
        report("ep_pulse_groups", group_rows(),
               "one batch of counts in {-2..2} on every cell of 64-32-10 (configs/ep_digits_pulse_64_32.toml) with "
               "1 and 2 column groups: state changes and energy of 2 groups against 1, wall seconds of the batch")
    if "solver" in PARTS:
        report("ep_pulse_solver", solver_rows(),
               "layer 0 of 64-32-10 alone: KLU fill-in per element order (op), and an 8-slot transient's ngspice "
               "rusage (seconds as ngspice counts them) with and without the gap between slots")


if __name__ == "__main__":
    main()
