"""The EP network in an ngspice session: free and nudged operating points, cell voltages, weight writes.

Everything goes through the session (:func:`memcosim.cosim.engine.open_session`): source values (inputs, nudge
currents) with ``set_sources``, operating points with ``op``, device states with ``set_states``.

The nudge moves the outputs by only ~``beta (t - o) / sum(G)`` volts (~1e-4 V) and the hidden nodes by
less, so the solver tolerances must be far below that: with ngspice's default ``reltol`` (1e-3) a warm
operating point (the session's default) stops within ~1e-4 V of the free phase's answer and the
hidden layer's EP gradient loses its direction. :func:`ep_session_options` tightens them to
:data:`EP_TOLERANCES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from memcosim.circuits.ep_network import EpLayer, EpNetwork, EpNetworkConfig, build_ep_network, build_programming_layer
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session, SessionOptions
from memcosim.devices.catalog import get_device

# Above this many node voltages per read, ngspice's `save` list costs more than the analysis
# (then every vector is kept and the named ones are read).
_SAVE_ALL_ABOVE = 1500
# solver tolerances EP needs (see the module docstring): relative, and volts
EP_TOLERANCES = {"reltol": 1e-6, "vntol": 1e-9}


def ep_session_options(options: SessionOptions | None = None, **changes: object) -> SessionOptions:
    """``options`` (default: the session's) with ``changes`` and ``reltol``/``vntol`` no looser than
    :data:`EP_TOLERANCES`."""
    o = dataclasses.replace(options or SessionOptions(), **changes)
    return dataclasses.replace(o, reltol=min(o.reltol, EP_TOLERANCES["reltol"]),
                               vntol=min(o.vntol, EP_TOLERANCES["vntol"]))


class CircuitNetwork:
    """An EP network loaded once into a session; conductances in siemens, volts and amperes.

    The session's ``reltol``/``vntol`` are tightened to :data:`EP_TOLERANCES` (never loosened).
    ``klu_order``: see :func:`memcosim.circuits.ep_network.build_ep_network`. For pulse updates, each
    weight layer alone gets its own session on first use (:meth:`programming_session`)."""

    def __init__(self, config: EpNetworkConfig, conductances: list[np.ndarray],
                 options: SessionOptions | None = None, klu_order: bool = True):
        self.config = config
        self.network: EpNetwork = build_ep_network(config, conductances, klu_order=klu_order)
        self.session = open_session(self.network.netlist, ep_session_options(options))
        self._zero_nudge = {n: 0.0 for n in self.network.nudge_sources}
        self._nudged = False
        self._k = len(self.network.output_nodes)
        self.ops = 0
        self.device = get_device(config.device.model, config.device.params)  # the cells' device
        self._programming: dict[tuple[int, int], tuple[Session, EpLayer, np.ndarray]] = {}  # (layer, group) -> session
        # device index of every cell, per layer (memristor cells), to write states in one call
        if self.device.has_state:
            where = {m.name.lower(): k for k, m in enumerate(self.session.devices)}
            self.device_index = [np.vectorize(lambda n: where[n.lower()], otypes=[int])(layer.cells)
                                 for layer in self.network.layers]

    def close(self) -> None:
        for session, _, _ in self._programming.values():
            session.close()
        self._programming.clear()
        self.session.close()

    # -- layers alone, for programming ---------------------------------------------------
    def programming_session(self, l: int, group: int = 0) -> tuple[Session, EpLayer]:
        """Weight layer ``l`` alone in programming mode (:func:`build_programming_layer`) in its own session
        (a worker process, opened on first use, with this session's options), and its cell names. Its
        device states are first made those of the network's session where they differ. Each column
        ``group`` of the layer (slots run at the same time, see :func:`memcosim.trainers.ep_pulse.apply_pulses`)
        has its own session of the whole layer."""
        key = (l, group)
        if key not in self._programming:
            prog = build_programming_layer(self.config, l, self.conductances_from_states()[l])
            session = open_session(prog.netlist, dataclasses.replace(self.session.options, worker=True))
            where = {m.name.lower(): k for k, m in enumerate(session.devices)}
            order = np.vectorize(lambda n: where[n.lower()], otypes=[int])(prog.layer.cells)
            self._programming[key] = (session, prog.layer, order)
        session, layer, order = self._programming[key]
        want = self.session.states[self.device_index[l]]
        differ = want != session.states[order]
        if differ.any():
            session.set_states(dict(zip(layer.cells[differ].tolist(), want[differ].tolist())))
        return session, layer

    def take_programming_states(self, l: int, groups: Sequence[int] = (0,)) -> None:
        """Copy the device states of layer ``l``'s programming sessions (after their pulses) into the network's
        session, where they differ. From one session its states; from several (``groups``, each started
        from the network's states and pulsed on its own columns) the network's states plus the sum of every
        session's state changes, so a cell moved in one group (its own pulses, or a half-select disturb from
        another group's slots) keeps that change."""
        start = self.session.states[self.device_index[l]]
        parts = [self._programming[(l, g)] for g in groups]
        if len(parts) == 1:
            session, layer, order = parts[0]
            new = session.states[order]
        else:
            layer = parts[0][1]
            new = start + sum(session.states[order] - start for session, _, order in parts)
        differ = new != start
        if differ.any():
            self.session.set_states(dict(zip(layer.cells[differ].tolist(), new[differ].tolist())))

    # -- phases ------------------------------------------------------------------------
    def _read(self) -> np.ndarray:
        """Operating point; the voltage (volts) of every node in ``network.read_nodes``."""
        self.ops += 1
        nodes = self.network.read_nodes
        return self.session.op(voltages=nodes, save_all=len(nodes) > _SAVE_ALL_ABOVE).stack(nodes)

    def free(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Free phase for features ``x``: output volts and the voltage across every cell (volts)."""
        values = self.network.input_values(x)
        if self._nudged:
            values.update(self._zero_nudge)
            self._nudged = False
        self.session.set_sources(values)
        v = self._read()
        return v[: self._k].copy(), self.network.cell_voltages(v)

    def nudged(self, currents: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Nudged phase (inputs as in the last free phase): nudge ``currents`` amperes into the outputs."""
        self.session.set_sources(self.network.nudge_values(currents))
        self._nudged = True
        v = self._read()
        return v[: self._k].copy(), self.network.cell_voltages(v)

    def nudge_zeroed(self) -> None:
        """Record that the caller set every nudge source to 0 A itself (the next free phase need not)."""
        self._nudged = False

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """Free-phase output volts only."""
        return self.free(x)[0]

    # -- weights -----------------------------------------------------------------------
    def write_conductances(self, g: list[np.ndarray], changed: list[np.ndarray] | None = None) -> None:
        """Set cells to conductances ``g`` (siemens) directly: device states via the conductance law
        (memristors) or the resistance (resistor cells). ``changed`` masks the cells to write."""
        layers = self.network.layers
        if not self.device.has_state:
            for l, gl in enumerate(g):
                mask = np.ones(gl.shape, bool) if changed is None else changed[l]
                for i, j in zip(*np.nonzero(mask)):
                    self.session.set_device_params(layers[l].cells[i, j], r=float(1.0 / gl[i, j]))
            return
        updates: dict[str, float] = {}
        for l, gl in enumerate(g):
            mask = np.ones(gl.shape, bool) if changed is None else changed[l]
            if not mask.any():
                continue
            s = self.device.state_for(gl[mask])
            updates.update(zip(layers[l].cells[mask].tolist(), s.tolist()))
        if updates:
            self.session.set_states(updates)

    def conductances_from_states(self) -> list[np.ndarray]:
        """Read conductance (siemens) of every cell from the session's device states (memristors)."""
        states = self.session.states
        return [self.device.conductance(states[idx]) for idx in self.device_index]

