"""Pulse-mode weight updates on the EP network: column-parallel pulse slots as transients in the session.

The network must have programming drivers (``EpNetworkConfig.programming``): a series source
``VPROW<l>_<i>`` at each row start and, at each column end, a switch to the neuron (``RSN``) and one
to the pulse source ``VPCOL<l>_<j>`` (``RSP``). To program, the session is put in *programming mode*
(input, bias and diode sources at 0 V, nudges 0 A, amplifier gains 0, columns switched from their
neurons to their pulse sources). The requested pulses are then cut into *slots*: in a slot one column
``j`` of a layer is at 0 V and every row whose cell ``(i, j)`` still needs a pulse of the slot's
polarity is at the amplitude ``V``; the layer's other rows and columns are at the scheme's unselected
voltages (``V/2`` or ``V/3``, from :func:`memcosim.circuits.bias.line_voltages`), so only the
wanted cells see ``V``. Each layer has its own drivers, so the layers' slots run at the same time.
Slots run back to back (trapezoids: rise, width, fall, gap) in one transient per layer, at the
programming tolerances ``pulse.reltol`` / ``pulse.vntol`` (looser than the operating points'). The gap
between slots holds every line at 0 V; in a circuit that stores no charge (:func:`simulated_gap`) nothing
moves in it, so the transient leaves it out and the slots follow each other directly. In
programming mode a layer is cut off from the others (its columns switched to their pulse sources, the
amplifiers at gain 0), so by default (``pulse.transient = "layers"``) each layer runs alone in its own
session (:func:`memcosim.circuits.ep_network.build_programming_layer`: a smaller circuit matrix, and
the layers in parallel); the sessions carry the device states, which are copied to the network's session
after; with ``pulse.column_groups`` > 1 a layer's columns are dealt into groups (:func:`column_groups`), each
group's slots in a session of the whole layer of its own, all at the same time, and the network takes the
sum of their state changes. ``pulse.transient = "network"`` runs every layer's slots in one transient over
the whole network,
switched to programming mode and back. A batch costs at most ``2 * max_pulses * columns`` slots per
layer, whatever the number of rows.
(The project's cell/row/column programming path, ``programming/pulses.py``, drives every line with one
shared pulse shape; slots with per-row selections need one waveform per line, hence this module.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from memcosim.circuits.ep_network import R_SWITCH_OFF, R_SWITCH_ON
from memcosim.circuits.bias import line_voltages
from memcosim.circuits.netlist import Netlist
from memcosim.circuits.waveforms import slot_period, slot_train
from memcosim.errors import ConfigError
from memcosim.trainers.config import PulseUpdateConfig


class ProgrammingMode:
    """Context manager: the EP circuit switched to its programming drivers, and back on exit."""

    def __init__(self, circuit):
        self.circuit = circuit

    def _switch(self, programming: bool) -> None:
        c = self.circuit
        net, s = c.network, c.session
        cfg = net.config
        sources = {n: 0.0 for n in net.input_sources + net.nudge_sources}
        for k, name in enumerate(net.bias_sources):
            sources[name] = 0.0 if programming else (cfg.v_bias if k % 2 == 0 else -cfg.v_bias)
        for k, name in enumerate(net.diode_sources):
            sources[name] = 0.0 if programming else (cfg.diode_bias if k % 2 == 0 else -cfg.diode_bias)
        s.set_sources(sources)
        c.nudge_zeroed()
        back = cfg.backward_gain / cfg.amp_r_out
        for (e, g), gain in zip(net.amplifiers, net.amplifier_gains):
            s.set_device_params(e, gain=0.0 if programming else gain)
            s.set_device_params(g, gain=0.0 if programming else (back if gain > 0 else -back))
        for layer in net.layers:
            for rsn, rsp in zip(layer.neuron_switches, layer.program_switches):
                s.set_device_params(rsn, r=R_SWITCH_OFF if programming else R_SWITCH_ON)
                s.set_device_params(rsp, r=R_SWITCH_ON if programming else R_SWITCH_OFF)

    def __enter__(self) -> "ProgrammingMode":
        if self.circuit.network.config.programming is None:
            raise ConfigError("network.programming", "pulse updates need programming drivers: add [network.programming]")
        self._switch(True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._switch(False)


def layer_slots(counts: np.ndarray, v_set: float, v_reset: float) -> list[tuple[float, np.ndarray, int]]:
    """The pulse slots of one layer that apply ``counts`` (rows x columns, > 0 SET) column by column.

    Slot ``k`` of column ``j`` and polarity ``p`` selects column ``j`` and every row whose cell ``(i, j)``
    needs more than ``k`` pulses of polarity ``p``: ``(amplitude volts, row mask, column)``. Every cell
    gets exactly ``|counts|`` pulses; half-selected cells see the scheme's V/2 or V/3."""
    slots = []
    for j in range(counts.shape[1]):
        for amplitude, n in ((v_set, np.maximum(counts[:, j], 0)), (v_reset, np.maximum(-counts[:, j], 0))):
            for k in range(int(n.max())):
                slots.append((amplitude, n > k, j))
    return slots


def column_groups(counts: np.ndarray, groups: int) -> list[np.ndarray]:
    """The columns of one layer's ``counts`` (rows x columns) that need slots, dealt into at most ``groups``
    groups of about equal slot counts (largest first, each to the group with the fewest slots so far; ties
    to the lower group): a list of column index arrays, ascending, empty groups left out."""
    slots = np.maximum(counts, 0).max(axis=0) + np.maximum(-counts, 0).max(axis=0)
    columns = [[] for _ in range(groups)]
    load = [0] * groups
    for j in sorted(np.flatnonzero(slots).tolist(), key=lambda j: -int(slots[j])):
        g = load.index(min(load))
        columns[g].append(j)
        load[g] += int(slots[j])
    return [np.array(sorted(c), dtype=int) for c in columns if c]


def pulse_slots(counts: list[np.ndarray], scheme: str, v_set: float, v_reset: float
                ) -> list[dict[int, tuple[float, np.ndarray, int]]]:
    """The pulse slots that apply ``counts`` column by column, all layers in parallel in one transient over
    the whole network (``pulse.transient = "network"``): slot ``n`` is ``{layer: (amplitude volts, row
    mask, column)}`` with slot ``n`` of every layer's :func:`layer_slots`."""
    per_layer = [layer_slots(c, v_set, v_reset) for c in counts]
    return [{l: slots[n] for l, slots in enumerate(per_layer) if n < len(slots)}
            for n in range(max(len(s) for s in per_layer))]


def slot_levels(slots: list[dict[int, tuple[float, np.ndarray, int]]], layers, scheme: str) -> dict[str, list[float]]:
    """Line voltage (volts) of every programming source in every slot (0 V where a layer is idle);
    ``layers[l]`` is layer ``l``'s :class:`~memcosim.circuits.ep_network.EpLayer`."""
    levels: dict[str, list[float]] = {}
    for n, slot in enumerate(slots):
        for l, (amplitude, rows, column) in slot.items():
            layer = layers[l]
            R, C = layer.cells.shape
            v_rows, v_cols = line_voltages(scheme, amplitude, R, C, int(np.argmax(rows)), column)
            off_row = float(v_rows[(int(np.argmax(rows)) + 1) % R]) if R > 1 else 0.0
            for i, name in enumerate(layer.row_sources):
                levels.setdefault(name, [0.0] * len(slots))[n] = amplitude if rows[i] else off_row
            for j, name in enumerate(layer.column_sources):
                levels.setdefault(name, [0.0] * len(slots))[n] = float(v_cols[j])
    return levels


def simulated_gap(gap: float, netlist: Netlist) -> float:
    """Seconds of the ``gap`` (seconds, every line at 0 V) between two slots that a slot transient of
    ``netlist`` has to simulate: none when the circuit stores no charge (:meth:`Netlist.stores_charge`), for
    then every node is at 0 V in the gap, every cell sees 0 V and no state moves (a threshold model such as
    vteam has a rate of exactly 0 below its thresholds; the retention terms of jart_vcm, jart_v1b and
    stanford_pku act over seconds and more, not over a gap of nanoseconds); all of it otherwise (wire or
    periphery capacitance discharges in the gap). The gap has no energy either way: no current flows."""
    return gap if netlist.stores_charge() else 0.0


def apply_pulses(circuit, counts: list[np.ndarray], pulse: PulseUpdateConfig,
                 energy: dict[str, float] | None = None, *, keep_gap: bool = False) -> int:
    """Apply ``counts[l][i, j]`` pulses to each cell (> 0 SET at ``v_set``, < 0 RESET at ``v_reset``).

    The pulses are slots (:func:`layer_slots`: one column of a layer at a time, all rows that still need a
    pulse of that polarity at once), run back to back at the tolerances ``pulse.reltol`` / ``pulse.vntol``:
    with ``pulse.transient = "layers"`` each layer's slots in one transient on the layer alone
    (:meth:`~memcosim.trainers.ep_circuit.CircuitNetwork.programming_session`: its own session and worker
    process, states copied in before and back after), the layers (and with ``pulse.column_groups`` > 1 each
    layer's column groups, :func:`column_groups`) at the same time in threads that wait on their workers;
    with ``"network"`` slot ``n`` of every layer side by side in one transient over the whole network in
    programming mode (:func:`pulse_slots`). Returns the number of pulses applied to selected
    cells; the joules every supply group of the network delivered are added to ``energy`` (by group).
    Each transient simulates the gap between slots only where it can matter (:func:`simulated_gap`), or
    always with ``keep_gap`` (the waveforms as before the gap was left out: for comparisons).
    Counts are checked (integers, shapes, ``|count| <= max_pulses``) before the session is touched.
    """
    net = circuit.network
    shapes = [layer.cells.shape for layer in net.layers]
    if len(counts) != len(shapes) or any(np.shape(c) != s for c, s in zip(counts, shapes)):
        raise ConfigError("counts", f"need integer arrays of shapes {shapes}, got {[np.shape(c) for c in counts]}")
    counts = [np.asarray(c) for c in counts]
    for l, c in enumerate(counts):
        if c.dtype.kind not in "iu" or np.any(np.abs(c) > pulse.max_pulses):
            raise ConfigError("counts", f"layer {l}: pulse counts must be integers within +-{pulse.max_pulses}")
    if not any(np.any(c) for c in counts):
        return 0
    scheme = net.config.programming.scheme
    width, rise = pulse.set.width, pulse.set.rise

    def gap_of(netlist: Netlist) -> float:
        return pulse.gap if keep_gap else simulated_gap(pulse.gap, netlist)

    tolerances = {"reltol": pulse.reltol, "vntol": pulse.vntol}
    # the corners are breakpoints; between them the line voltages are constant or linear ramps,
    # so steps of up to half a pulse width integrate the state as well as finer ones
    step, max_step = pulse.set.rise, max(pulse.set.rise, pulse.set.width / 2)
    if pulse.transient == "network":
        slots = pulse_slots(counts, scheme, pulse.set.amplitude, pulse.reset.amplitude)
        gap = gap_of(net.netlist)
        waves = {name: slot_train(v, width, rise, gap)
                 for name, v in slot_levels(slots, net.layers, scheme).items() if any(v)}
        stop = len(slots) * slot_period(width, rise, gap)
        with ProgrammingMode(circuit):
            joules = [circuit.session.run(_programming_tran, tolerances, stop, step, waves, max_step)]
    else:
        runs, taken = [], []
        for l, c in enumerate(counts):
            groups = column_groups(c, pulse.column_groups)
            for g, columns in enumerate(groups):
                part = np.zeros_like(c)
                part[:, columns] = c[:, columns]
                slots = layer_slots(part, pulse.set.amplitude, pulse.reset.amplitude)
                session, layer = circuit.programming_session(l, g)
                gap = gap_of(session.netlist)
                waves = {name: slot_train(v, width, rise, gap)
                         for name, v in slot_levels([{l: s} for s in slots], {l: layer}, scheme).items() if any(v)}
                runs.append((session, (tolerances, len(slots) * slot_period(width, rise, gap), step, waves, max_step)))
            if groups:
                taken.append((l, range(len(groups))))
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:  # each session is its own worker process
            done = [pool.submit(session.run, _programming_tran, *args) for session, args in runs]
            joules = [d.result() for d in done]
        for l, groups in taken:
            circuit.take_programming_states(l, groups)
        # the network's other supplies (neuron amplifiers, diode and nudge sources) are at 0 V, gain 0 and 0 A
        # in programming mode: 0 J, as the whole-network transient integrates them
        joules.append({s.group: 0.0 for s in net.netlist.supplies})
    if energy is not None:
        for part in joules:
            for group, j in part.items():
                energy[group] = energy.get(group, 0.0) + j
    return int(sum(np.abs(c).sum() for c in counts))


def _programming_tran(session, tolerances: dict[str, float], stop: float, step: float, waves: dict,
                      max_step: float) -> dict[str, float]:
    """``session.tran`` at the solver ``tolerances`` (then the session's own again); runs where ngspice
    runs (``Session.run``: inside the worker process when there is one). Returns joules per supply group."""
    with session.solver_options(**tolerances):
        return dict(session.tran(stop, step, waveforms=waves, max_step=max_step).energy)


def measure_step(circuit, pulse: PulseUpdateConfig, layer: int = 0, cell: tuple[int, int] = (0, 0),
                 pulses: int = 4) -> tuple[float, float]:
    """State change per SET pulse and per RESET pulse (model state units, signed) of one cell, measured
    in the session from the middle of the window's state range; the cell's state is restored after."""
    net = circuit.network
    cfg = net.config
    counts = [np.zeros(lay.cells.shape, dtype=int) for lay in net.layers]
    name = net.layers[layer].cells[cell]
    start = circuit.session.state(name)
    mid = float(np.mean(circuit.device.state_for(np.array(cfg.window))))
    n = min(pulses, pulse.max_pulses)
    steps = []
    try:
        for sign in (1, -1):
            circuit.session.set_states({name: mid})
            counts[layer][cell] = sign * n
            apply_pulses(circuit, counts, pulse)
            steps.append((circuit.session.state(name) - mid) / n)
    finally:
        circuit.session.set_states({name: start})
    return steps[0], steps[1]


def measure_cell_steps(circuit, pulse: PulseUpdateConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """State change of one SET and of one RESET pulse for every cell (model state units, signed, one
    rows x columns array per layer), measured in the array as the trainer pulses it: from the cells'
    present states (so the line currents and IR drops are those of the present conductances), one slot
    per column with all of its rows selected. A cell that could not move (at a state bound) gets its
    layer's median step. The device states are restored after."""
    net = circuit.network
    session = circuit.session
    start = session.states.copy()
    index = circuit.device_index
    steps = []
    try:
        for sign in (1, -1):
            session.set_states(start)
            apply_pulses(circuit, [np.full(lay.cells.shape, sign, dtype=int) for lay in net.layers], pulse)
            layer_steps = []
            for idx in index:
                d = session.states[idx] - start[idx]
                moved = d * np.median(d) > 0
                layer_steps.append(np.where(moved, d, np.median(d[moved]) if moved.any() else np.median(d)))
            steps.append(layer_steps)
    finally:
        session.set_states(start)
    return steps[0], steps[1]
