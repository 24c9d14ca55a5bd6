"""Pulse-mode weight updates on the EP network: row-parallel pulse trains as transients in the session.

The network must have programming drivers (``EpNetworkConfig.programming``): a series source
``VPROW<l>_<i>`` at each row start and, at each column end, a switch to the neuron (``RSN``) and one
to the pulse source ``VPCOL<l>_<j>`` (``RSP``). To program, the session is put in *programming mode*
(input, bias and diode sources at 0 V, nudges 0 A, amplifier gains 0, columns switched from their
neurons to their pulse sources); then, for each row with pending pulses and each polarity, one
transient applies a train of up to ``max_pulses`` pulses: the selected row at the amplitude ``V``,
the layer's other rows at the scheme's unselected-row voltage (``V/2`` or ``V/3``, from
:func:`memcosim.circuits.programming.line_voltages`), and during pulse ``k`` column ``j`` at 0 V if
its cell still needs more than ``k`` pulses, else at the unselected-column voltage. Other layers'
lines stay at 0 V. The session carries the device states from each transient; afterwards the
network is switched back. (The project's cell/row/column programming path, ``cosim/programming.py``,
drives every line with one shared pulse shape; a row with per-column pulse counts needs one
waveform per column, hence this module.)
"""

from __future__ import annotations

import numpy as np

from memcosim.circuits.ep_network import R_SWITCH_OFF, R_SWITCH_ON
from memcosim.circuits.programming import line_voltages
from memcosim.cosim.session import Pwl
from memcosim.errors import ConfigError
from memcosim.trainers.config import PulseConfig


def _train(values: list[float], pulse: PulseConfig) -> Pwl:
    """A pulse train: pulse ``k`` at ``values[k]`` volts (trapezoid: rise, width, fall; then gap)."""
    t: list[float] = [0.0]
    v: list[float] = [0.0]
    period = 2 * pulse.rise + pulse.width + pulse.gap
    for k, a in enumerate(values):
        t0 = k * period
        if t0 > t[-1]:
            t.append(t0); v.append(0.0)
        t += [t0 + pulse.rise, t0 + pulse.rise + pulse.width, t0 + 2 * pulse.rise + pulse.width]
        v += [a, a, 0.0]
    return Pwl(tuple(t), tuple(v))


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
        c._nudged = False
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


def apply_pulses(circuit, counts: list[np.ndarray], pulse: PulseConfig) -> int:
    """Apply ``counts[l][i, j]`` pulses to each cell (> 0 SET at ``v_set``, < 0 RESET at ``v_reset``).

    Returns the number of pulses applied to selected cells. Counts are checked (integers, shapes,
    ``|count| <= max_pulses``) before the session is touched.
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
    s = circuit.session
    period = 2 * pulse.rise + pulse.width + pulse.gap
    applied = 0
    with ProgrammingMode(circuit):
        for l, (layer, c) in enumerate(zip(net.layers, counts)):
            R, C = c.shape
            for i in range(R):
                for amplitude, n in ((pulse.v_set, np.maximum(c[i], 0)), (pulse.v_reset, np.maximum(-c[i], 0))):
                    n_max = int(n.max())
                    if n_max == 0:
                        continue
                    v_rows, v_cols = line_voltages(scheme, amplitude, R, C, i, int(np.argmax(n)))
                    waves = {}
                    for r, name in enumerate(layer.row_sources):
                        if v_rows[r] != 0.0:
                            waves[name] = _train([float(v_rows[r])] * n_max, pulse)
                    off = float(v_cols[(int(np.argmax(n)) + 1) % C]) if C > 1 else 0.0  # unselected column
                    for j, name in enumerate(layer.column_sources):
                        levels = [0.0 if n[j] > k else off for k in range(n_max)]
                        if any(levels):
                            waves[name] = _train(levels, pulse)
                    stop = n_max * period
                    s.tran(stop, pulse.rise / 2, waveforms=waves, max_step=pulse.rise)
                    applied += int(n.sum())
    return applied


def measure_step(circuit, pulse: PulseConfig, layer: int = 0, cell: tuple[int, int] = (0, 0),
                 pulses: int = 4) -> tuple[float, float]:
    """State change per SET pulse and per RESET pulse (model state units, signed) of one cell, measured
    in the session from the middle of the window's state range; the cell's state is restored after."""
    from memcosim.circuits.devices import states_for

    net = circuit.network
    cfg = net.config
    counts = [np.zeros(lay.cells.shape, dtype=int) for lay in net.layers]
    name = net.layers[layer].cells[cell]
    start = circuit.session.state(name)
    mid = float(np.mean(states_for(cfg.model, np.array(cfg.window), cfg.device_params)))
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
