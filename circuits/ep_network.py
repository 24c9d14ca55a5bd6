"""An equilibrium-propagation network (Kendall et al. 2020 style) as a :class:`Netlist`.

Layers ``sizes = (n_0, n_1, ..., n_L)``: ``n_0`` inputs, hidden layers, ``n_L`` outputs. Weight layer
``l`` is a crossbar with ``2 (n_l + 1)`` rows and ``n_{l+1}`` columns, laid out like
:mod:`memcosim.circuits.crossbar` (rows driven at the left end, one wire segment per cell pitch;
columns run down and end in the neuron): row ``2i`` carries the ``+`` copy of input ``i``, row
``2i + 1`` its ``-`` copy, the last pair is a bias. A signed weight is the differential pair
``w_ij = G[2i, j] - G[2i+1, j]`` (siemens).

* inputs: ``VIN<k>P`` / ``VIN<k>N`` at ``+x_k v_input`` / ``-x_k v_input`` volts (the DACs; with
  ``dac`` the values are quantized and the ``dac`` sub-circuit's output resistance is in series);
  bias sources ``VB<l>P`` / ``VB<l>N`` at ``+-v_bias`` volts.
* hidden neuron ``h<l>_<j>`` (the bottom end of column ``j`` of layer ``l - 1``): two diodes to bias
  sources ``+-diode_bias`` volts (a smooth hard-tanh), and two bidirectional amplifiers that copy
  ``+gain V(h)`` and ``-gain V(h)`` onto the rows of the next layer. Each amplifier is bidirectional:
  a VCVS ``EA`` of voltage gain ``A = gain`` forward, and backward a VCCS ``GA`` that draws ``B =
  back_gain`` times the output current from ``h`` (sensed across the output resistance ``RA``). Then
  the operating point is the stationary point of ``E = sum_l c_l E_l`` (``E_l`` the co-content of
  layer ``l``, ``c_l = (B/A)^l``), which is what EP needs; ``B = A`` is an ideal transformer, the
  default ``B = 1/A`` (Kendall et al.) keeps the next layer from loading ``h`` by ``A^2``. The backward
  current is a VCCS on ``RA`` rather than a CCCS on a 0 V sense source, which KLU factors faster.
* outputs ``o<k>`` with nudge current sources ``INUDGE<k>`` (amperes into the node).
* with ``programming``: series pulse sources ``VPROW<l>_<i>`` at each row start, and at each column
  end a switch pair (``RSN`` to the neuron, ``RSP`` to the pulse source ``VPCOL<l>_<j>``): resistors
  of ``r_switch_on`` / ``r_switch_off`` ohms that the programming step swaps with ``alter``.

Cell names ``NL<l>_<i>_<j>`` (memristors) or ``RL<l>_<i>_<j>`` (resistor cells); row nodes
``l<l>r<i>_<j>``, column nodes ``l<l>c<i>_<j>`` (one node per line when the wires are ideal).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from memcosim import fields as f
from memcosim.circuits.netlist import Netlist, fmt, no_gc, order_for_klu
from memcosim.circuits.periphery.base import (DAC, BIAS_SUPPLY, NEURON_SUPPLY, NUDGE_SUPPLY, PROGRAMMING_DRIVERS,
                                             ROW_DRIVERS)
from memcosim.circuits.periphery.dac import Dac
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import DacConfig, ProgrammingConfig, refuse_range
from memcosim.devices.catalog import closed_form_models, get_device
from memcosim.devices.check import check_device
from memcosim.devices.registry import get_model
from memcosim.errors import ConfigError
from memcosim.limits import check_cells

R_SWITCH_ON = 1e-3  # ohm
R_SWITCH_OFF = 1e12  # ohm
SENSES = ("cells", "lines")  # EpNetworkConfig.sense


@dataclass
class EpNetworkConfig:
    """The analog EP network: sizes, weight devices, wires and neuron circuit (SI units).

    ``sizes``: neurons per layer, inputs first, outputs last (>= 2 entries). ``device``: the weight
    cells, a model with a closed-form read conductance (``vteam``, ``linear_ion_drift``;
    ``Device.closed_form``) or ``"resistor"``, whose window ``g_min`` / ``g_max`` (siemens; 0 = the
    model's own range) the weights are kept in; initial conductances are drawn uniformly in ``g_init``
    (siemens; empty = middle half of the window) with ``seed``. ``wires``: ohm per row and column
    segment (one value for both: ``r_row = r_column``). ``v_input``: the input full scale, volts of
    input value 1.0 (inputs drive ``+-x v_input``; the input DACs span [-v_input, v_input]). It is not
    a read voltage: the network has no separate read, its cells see the settled node voltages, so
    ``device.v_read`` is not used and must stay 0. ``v_bias``:
    bias row volts; ``gain``: amplifier voltage gain forward (V/V), ``back_gain`` its current gain
    backward (A/A; 0 = 1/gain), ``amp_r_out`` its output (and current sense) resistance in ohm;
    ``diode_is`` (A), ``diode_n``, ``diode_bias`` (V): the hidden-node diodes. ``dac``: none = ideal
    sources, else quantized DACs of ``dac.bits`` over [-v_input, v_input] (the DAC's own range is set
    from ``v_input``) with ``dac.r_out`` ohm. ``programming``: pulse drivers (for ``pulse`` updates).
    ``sense``: the node voltages EP's update is computed from: ``"cells"`` both terminals of every cell
    (exact with wires; thousands of nodes on a digits network), ``"lines"`` only each row's driven end
    and each neuron (what a chip can sense: a few per line; the wire drops along the lines are left out of
    the cell voltages).
    """

    sizes: list[int] = field(default_factory=lambda: [4, 8, 3])
    device: DeviceConfig = field(default_factory=lambda: DeviceConfig("vteam"))
    g_init: list[float] = field(default_factory=list)
    wires: WireConfig = field(default_factory=lambda: WireConfig.uniform(1.0))
    v_input: float = 0.2
    v_bias: float = 0.2
    gain: float = 4.0
    back_gain: float = 0.0
    amp_r_out: float = 1.0
    diode_is: float = 1e-9
    diode_n: float = 1.0
    diode_bias: float = 0.1
    dac: DacConfig | None = None
    programming: ProgrammingConfig | None = None
    sense: str = "cells"
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.sizes, (list, tuple)) or len(self.sizes) < 2:
            raise ConfigError("network.sizes", f"needs at least inputs and outputs, e.g. [4, 8, 3], got {self.sizes!r}")
        self.sizes = [f.integer(f"network.sizes[{k}]", n, 1, 4096) for k, n in enumerate(self.sizes)]
        for a, b in zip(self.sizes[:-1], self.sizes[1:]):  # each weight layer's array, before it exists
            check_cells(2 * (a + 1), b, "network.sizes")
        for name, cls in (("device", DeviceConfig), ("wires", WireConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"network.{name}", f"must be a {cls.__name__}, got {getattr(self, name)!r}")
        if not self.device.resistor:
            check_device(self.device, "network.device")
            if not get_device(self.device.model).closed_form:
                raise ConfigError("network.device.model", f"{self.device.model!r} has no closed-form read conductance; "
                                  f"use {', '.join(closed_form_models())} or resistor")
        lo, hi = self.window
        if not hi > lo:
            raise ConfigError("network.device.g_max", f"must be > g_min ({lo} S), got {hi}")
        if not self.device.resistor:
            m_lo, m_hi = get_device(self.device.model, self.device.params).conductance_range()
            if lo < m_lo * (1 - 1e-9) or hi > m_hi * (1 + 1e-9):
                raise ConfigError("network.device.g_min" if lo < m_lo * (1 - 1e-9) else "network.device.g_max",
                                  f"window [{lo:.4g}, {hi:.4g}] S leaves the {self.device.model} "
                                  f"range [{m_lo:.4g}, {m_hi:.4g}] S")
        if not isinstance(self.g_init, (list, tuple)) or len(self.g_init) not in (0, 2):
            raise ConfigError("network.g_init", f"must be [low, high] siemens or empty, got {self.g_init!r}")
        self.g_init = [f.number(f"network.g_init[{k}]", g, low=lo, high=hi, unit="S") for k, g in enumerate(self.g_init)]
        if self.g_init and self.g_init[1] < self.g_init[0]:
            raise ConfigError("network.g_init", f"high must be >= low, got {self.g_init}")
        if self.wires.r_column != self.wires.r_row:
            raise ConfigError("network.wires.r_column", f"the EP network's rows and columns share one wire resistance: "
                              f"set r_column = r_row ({self.wires.r_row} ohm), got {self.wires.r_column}")
        if self.device.v_read != 0:
            raise ConfigError("network.device.v_read", "the EP network is not read at a read voltage: its inputs are "
                              f"driven at +-x network.v_input volts; leave v_read at 0, got {self.device.v_read}")
        self.v_input = f.number("network.v_input", self.v_input, low=0.0, low_open=True, unit="V")
        self.v_bias = f.number("network.v_bias", self.v_bias, low=0.0, unit="V")
        self.gain = f.number("network.gain", self.gain, low=0.0, low_open=True, unit="V/V")
        self.back_gain = f.number("network.back_gain", self.back_gain, low=0.0, unit="A/A")
        self.amp_r_out = f.number("network.amp_r_out", self.amp_r_out, low=0.0, low_open=True, unit="ohm")
        self.diode_is = f.number("network.diode_is", self.diode_is, low=0.0, low_open=True, unit="A")
        self.diode_n = f.number("network.diode_n", self.diode_n, low=0.0, low_open=True)
        self.diode_bias = f.number("network.diode_bias", self.diode_bias, unit="V")
        if self.dac is not None and not isinstance(self.dac, DacConfig):
            raise ConfigError("network.dac", f"must be a table, got {self.dac!r}")
        if self.dac is not None:
            refuse_range(self.dac, "network.dac", "the input full scale ([-network.v_input, network.v_input])")
        if self.programming is not None and not isinstance(self.programming, ProgrammingConfig):
            raise ConfigError("network.programming", f"must be a table, got {self.programming!r}")
        self.sense = f.choice("network.sense", self.sense, SENSES)
        self.seed = f.integer("network.seed", self.seed, 0)

    @property
    def window(self) -> tuple[float, float]:
        """(g_min, g_max) siemens: the configured window, or the device's own range where 0."""
        lo, hi = self.device.g_min, self.device.g_max
        if not self.device.resistor and (lo == 0 or hi == 0):
            m_lo, m_hi = get_device(self.device.model, self.device.params).conductance_range()
            lo, hi = lo or m_lo, hi or m_hi
        elif self.device.resistor and (lo == 0 or hi == 0):
            lo, hi = lo or 1e-6, hi or 1e-4
        return float(lo), float(hi)

    @property
    def backward_gain(self) -> float:
        """The amplifiers' backward current gain B (A/A): ``back_gain``, or ``1 / gain`` when 0."""
        return self.back_gain or 1.0 / self.gain

    def energy_weights(self) -> list[float]:
        """``c_l = (B/A)^l``: the weight of layer ``l``'s co-content in the network's energy."""
        r = self.backward_gain / self.gain
        return [r ** l for l in range(len(self.sizes) - 1)]

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """(rows, columns) of each weight crossbar: 2 (inputs + bias) rows, one column per neuron."""
        return [(2 * (a + 1), b) for a, b in zip(self.sizes[:-1], self.sizes[1:])]

    def initial_conductances(self) -> list[np.ndarray]:
        """Initial conductance (S) of every cell, one rows x columns array per layer."""
        lo, hi = self.window
        a, b = self.g_init or [lo + 0.25 * (hi - lo), lo + 0.75 * (hi - lo)]
        rng = np.random.default_rng(self.seed)
        return [rng.uniform(a, b, shape) for shape in self.layer_shapes]


@dataclass
class EpLayer:
    """One weight crossbar: cell names and the nodes at each cell's top (row) and bottom (column)."""

    cells: np.ndarray  # element names, rows x columns
    top: np.ndarray  # node names, rows x columns
    bottom: np.ndarray  # node names, rows x columns
    row_sources: list[str] = field(default_factory=list)  # VPROW per row (programming only)
    column_sources: list[str] = field(default_factory=list)  # VPCOL per column (programming only)
    neuron_switches: list[str] = field(default_factory=list)  # RSN per column
    program_switches: list[str] = field(default_factory=list)  # RSP per column


@dataclass
class EpNetwork:
    """A rendered EP network: the netlist and the names the trainer drives and reads."""

    config: EpNetworkConfig
    netlist: Netlist
    layers: list[EpLayer]
    input_sources: list[str]  # VIN<k>P, VIN<k>N, ... (2 per input)
    bias_sources: list[str]  # VB<l>P, VB<l>N per layer
    diode_sources: list[str]  # VDB<l>P, VDB<l>N per hidden layer
    nudge_sources: list[str]  # INUDGE<k>
    output_nodes: list[str]  # o<k>
    hidden_nodes: list[list[str]]  # h<l>_<j> per hidden layer
    amplifiers: list[tuple[str, str]] = field(default_factory=list)  # (VCVS, CCCS) name pairs
    amplifier_gains: list[float] = field(default_factory=list)
    read_nodes: list[str] = field(default_factory=list)  # every node whose voltage EP needs
    top_index: list[np.ndarray] = field(default_factory=list)  # per layer: index of each cell's top node
    bottom_index: list[np.ndarray] = field(default_factory=list)
    output_index: np.ndarray | None = None

    @property
    def dac(self) -> Dac | None:
        """The input DAC block (None with ideal input sources)."""
        return input_dac(self.config)

    def input_values(self, x: np.ndarray) -> dict[str, float]:
        """Input source values (volts) for features ``x`` (one per input, nominally in [0, 1])."""
        x = np.asarray(x, dtype=float)
        n = self.config.sizes[0]
        if x.shape != (n,):
            raise ConfigError("input", f"expected {n} features, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ConfigError("input", f"features must be finite, got {x[~np.isfinite(x)][:3].tolist()}")
        v = x * self.config.v_input
        dac = self.dac
        vp = dac.voltage(dac.code(v)) if dac else v
        vn = dac.voltage(dac.code(-v)) if dac else -v
        out: dict[str, float] = {}
        for k in range(n):
            out[self.input_sources[2 * k]] = float(vp[k])
            out[self.input_sources[2 * k + 1]] = float(vn[k])
        return out

    def nudge_values(self, currents: np.ndarray) -> dict[str, float]:
        """Nudge source values (amperes into each output node)."""
        return dict(zip(self.nudge_sources, (float(i) for i in np.asarray(currents, dtype=float))))

    def cell_voltages(self, node_volts: np.ndarray) -> list[np.ndarray]:
        """Voltage across every cell (top minus bottom, volts) from ``read_nodes`` voltages."""
        return [node_volts[t] - node_volts[b] for t, b in zip(self.top_index, self.bottom_index)]

    @property
    def cell_names(self) -> list[str]:
        return [str(n) for layer in self.layers for n in layer.cells.ravel()]


def input_dac(config: EpNetworkConfig) -> Dac | None:
    """The DAC of every input line: ``dac.bits`` over [-v_input, v_input] volts, ``dac.r_out`` ohm
    (None without ``dac``: ideal input sources)."""
    c = config
    return None if c.dac is None else Dac(dataclasses.replace(c.dac, v_min=-c.v_input, v_max=c.v_input))


def build_ep_network(config: EpNetworkConfig, conductances: list[np.ndarray] | None = None,
                     title: str | None = None, klu_order: bool = True) -> EpNetwork:
    """Render ``config`` as a netlist, cells at ``conductances`` (S; default: the config's initial draw).
    ``klu_order``: elements in the order that gives KLU the least fill-in (:func:`order_for_klu`); False keeps
    the order of construction (the same circuit, slower to solve; the reference of ``./run bench ep_pulse``)."""
    g = config.initial_conductances() if conductances is None else conductances
    shapes = config.layer_shapes
    if len(g) != len(shapes) or any(np.shape(a) != s for a, s in zip(g, shapes)):
        raise ConfigError("conductances", f"need arrays of shapes {shapes}, got {[np.shape(a) for a in g]}")
    with no_gc():
        ep = _build(config, [np.asarray(a, dtype=float) for a in g], title)
    if klu_order:
        order_for_klu(ep.netlist)
    return ep


@dataclass
class EpProgrammingLayer:
    """Weight layer ``index`` of an EP network alone, as it is in programming mode: its own netlist with the
    layer's cells, wires and programming drivers (same element names as in the whole network)."""

    config: EpNetworkConfig
    index: int
    netlist: Netlist
    layer: EpLayer


def build_programming_layer(config: EpNetworkConfig, index: int, conductances: np.ndarray) -> EpProgrammingLayer:
    """Weight layer ``index`` of ``config`` (cells at ``conductances``, siemens) as its own netlist, for pulse
    slots that run layer by layer.

    In the whole network's programming mode (:class:`memcosim.trainers.ep_pulse.ProgrammingMode`) the input,
    bias and diode sources are at 0 V, the amplifiers' gains are 0 and every column is switched from its neuron
    to its pulse source, so a layer sees only its own drivers: layer 0's rows start at the input sources (at
    0 V, through the DACs if any), a hidden layer's rows at the previous layer's amplifier outputs (a 0 V
    source behind ``amp_r_out`` ohm, rendered as ``RA`` to ground), the bias rows at their 0 V sources; the
    columns end in the on-switch ``RSP`` to their pulse source and the off-switch ``RSN`` (``R_SWITCH_OFF``
    ohm) to the neuron. This netlist holds exactly that; the neuron behind the off-switch is ground (its
    node sits at ~0 V behind the diodes; at most ~1 pA flows through ``R_SWITCH_OFF``, below ngspice's
    abstol). Needs ``config.programming``."""
    c = config
    if c.programming is None:
        raise ConfigError("network.programming", "a programming layer needs programming drivers: add [network.programming]")
    shapes = c.layer_shapes
    index = f.integer("layer", index, 0, len(shapes) - 1)
    g = np.asarray(conductances, dtype=float)
    if g.shape != shapes[index]:
        raise ConfigError("conductances", f"layer {index} needs shape {shapes[index]}, got {g.shape}")
    with no_gc():
        net = Netlist(title=f"memcosim EP network {'-'.join(map(str, c.sizes))} layer {index} (programming)")
        net.comment(f"weight layer {index} of the EP network in programming mode, {fmt(c.wires.r_row)} ohm per wire segment")
        card, extra = _cell_card(net, c)
        if index == 0:
            drivers = _input_drivers(net, c, [])
        else:  # the previous layer's amplifiers: output stage at 0 V (gain 0) behind amp_r_out
            drivers = []
            for j in range(c.sizes[index]):
                for sign in "PN":
                    out = f"a{index - 1}_{j}{sign.lower()}"
                    net.resistor(f"RA{index - 1}_{j}{sign}", "0", out, c.amp_r_out)
                    drivers.append(out)
        drivers += _bias_drivers(net, c, index, (0.0, 0.0), [])
        layer = _layer(net, c, index, g, drivers, ["0"] * shapes[index][1], card, extra, c.programming,
                       programming_mode=True)
        order_for_klu(net)
    return EpProgrammingLayer(c, index, net, layer)


def _build(c: EpNetworkConfig, g: list[np.ndarray], title: str | None) -> EpNetwork:
    sizes = c.sizes
    net = Netlist(title=title or f"memcosim EP network {'-'.join(map(str, sizes))} {c.device.model}")
    net.comment(f"equilibrium propagation network, sizes {sizes}, {c.device.model} cells, {fmt(c.wires.r_row)} ohm per wire segment")
    net.comment("rows 2i / 2i+1 carry +x_i / -x_i, last pair the bias; w_ij = G[2i, j] - G[2i+1, j]")
    card, extra = _cell_card(net, c)
    hidden_layers = len(sizes) - 2
    if hidden_layers:
        net.model_card("dhid", "D", **{"is": c.diode_is, "n": c.diode_n})
    prog = c.programming

    ep = EpNetwork(c, net, [], [], [], [], [], [f"o{k}" for k in range(sizes[-1])],
                   [[f"h{l}_{j}" for j in range(sizes[l + 1])] for l in range(len(sizes) - 2)])
    # drivers of layer 0's rows: input sources (through the DACs) and the bias pair
    drivers = _input_drivers(net, c, ep.input_sources)

    for l, (rows, cols) in enumerate(c.layer_shapes):
        drivers += _bias_drivers(net, c, l, (c.v_bias, -c.v_bias), ep.bias_sources)
        last = l == len(sizes) - 2
        neurons = ep.output_nodes if last else ep.hidden_nodes[l]
        layer = _layer(net, c, l, g[l], drivers, neurons, card, extra if card else {}, prog)
        ep.layers.append(layer)
        if last:
            break
        # hidden neurons of this layer: diodes, then amplifiers driving the next layer's rows
        bp, bn = f"db{l}p", f"db{l}n"
        net.voltage_source(f"VDB{l}P", bp, "0", c.diode_bias)
        net.voltage_source(f"VDB{l}N", bn, "0", -c.diode_bias)
        net.supply(NEURON_SUPPLY, f"VDB{l}P", bp, "0")
        net.supply(NEURON_SUPPLY, f"VDB{l}N", bn, "0")
        ep.diode_sources += [f"VDB{l}P", f"VDB{l}N"]
        drivers = []
        for j, h in enumerate(neurons):
            net.add(f"DU{l}_{j}", (h, bp), "dhid", "diode")
            net.add(f"DD{l}_{j}", (bn, h), "dhid", "diode")
            for sign, gain in (("P", c.gain), ("N", -c.gain)):
                e, inner, out = f"EA{l}_{j}{sign}", f"e{l}_{j}{sign.lower()}", f"a{l}_{j}{sign.lower()}"
                net.vcvs(e, inner, "0", h, "0", gain)
                net.supply(NEURON_SUPPLY, e, inner, "0")
                net.resistor(f"RA{l}_{j}{sign}", inner, out, c.amp_r_out)
                # backward half: draws gain x (output current) from h; the current is sensed on RA
                back = c.backward_gain * (1.0 if gain > 0 else -1.0)
                net.add(f"GA{l}_{j}{sign}", (h, "0", inner, out), fmt(back / c.amp_r_out), "vccs")
                net.supply(NEURON_SUPPLY, f"GA{l}_{j}{sign}", h, "0")
                ep.amplifiers.append((e, f"GA{l}_{j}{sign}"))
                ep.amplifier_gains.append(gain)  # forward V/V
                drivers.append(out)
    for k, o in enumerate(ep.output_nodes):
        net.current_source(f"INUDGE{k}", "0", o, 0.0)
        net.supply(NUDGE_SUPPLY, f"INUDGE{k}", "0", o)
        ep.nudge_sources.append(f"INUDGE{k}")
    _index(ep)
    return ep


def _cell_card(net: Netlist, c: EpNetworkConfig) -> tuple[str | None, dict[str, float]]:
    """The cells' model card (None for resistor cells) and their instance parameters."""
    if c.device.resistor:
        return None, {}
    device = get_model(c.device.model)
    card = f"{c.device.model}_model"
    net.model_card(card, c.device.model, **{k: v for k, v in c.device.params.items() if k not in device.instance_parameters})
    return card, {k: v for k, v in c.device.params.items() if k in device.instance_parameters and k != "x0"}


def _input_drivers(net: Netlist, c: EpNetworkConfig, sources: list[str]) -> list[str]:
    """The input sources ``VIN<k>P`` / ``VIN<k>N`` at 0 V (through the DACs, if any), appended to ``sources``;
    returns the nodes that drive layer 0's input rows."""
    dac = input_dac(c)
    if dac is not None:
        DAC.check(dac).define(net)
    nodes = []
    for k in range(c.sizes[0]):
        for sign in "PN":
            src = f"VIN{k}{sign}"
            node = f"in{k}{sign.lower()}"
            if dac is not None:
                net.voltage_source(src, f"d{k}{sign.lower()}", "0", 0.0)
                net.supply(ROW_DRIVERS, src, f"d{k}{sign.lower()}", "0")
                dac.place(net, f"DAC{k}{sign}", (f"d{k}{sign.lower()}", node))
            else:
                net.voltage_source(src, node, "0", 0.0)
                net.supply(ROW_DRIVERS, src, node, "0")
            sources.append(src)
            nodes.append(node)
    return nodes


def _bias_drivers(net: Netlist, c: EpNetworkConfig, l: int, volts: tuple[float, float], sources: list[str]) -> list[str]:
    """Layer ``l``'s bias pair ``VB<l>P`` / ``VB<l>N`` at ``volts``, appended to ``sources``; returns their nodes."""
    nodes = []
    for sign, v in zip("PN", volts):
        net.voltage_source(f"VB{l}{sign}", f"b{l}{sign.lower()}", "0", v)
        net.supply(BIAS_SUPPLY, f"VB{l}{sign}", f"b{l}{sign.lower()}", "0")
        sources.append(f"VB{l}{sign}")
        nodes.append(f"b{l}{sign.lower()}")
    return nodes


def _layer(net: Netlist, c: EpNetworkConfig, l: int, g: np.ndarray, drivers: list[str], neurons: list[str],
           card: str | None, extra: dict[str, float], prog: ProgrammingConfig | None,
           programming_mode: bool = False) -> EpLayer:
    rows, cols = g.shape
    wired = c.wires.r_row > 0
    rnode = [[f"l{l}r{i}_{j if wired else 0}" for j in range(cols)] for i in range(rows)]
    cnode = [[f"l{l}c{i if wired else rows - 1}_{j}" for j in range(cols)] for i in range(rows)]
    if prog is None:  # no programming drivers: rows start at their driver, unwired columns are the neuron
        for i in range(rows):
            rnode[i] = [drivers[i] if (j == 0 or not wired) else rnode[i][j] for j in range(cols)]
        if not wired:
            cnode = [[neurons[j] for j in range(cols)] for _ in range(rows)]
    layer = EpLayer(np.empty((rows, cols), dtype=object), np.array(rnode, dtype=object), np.array(cnode, dtype=object))
    for i in range(rows):
        if prog is not None:
            net.voltage_source(f"VPROW{l}_{i}", rnode[i][0], drivers[i], 0.0)
            net.supply(PROGRAMMING_DRIVERS, f"VPROW{l}_{i}", rnode[i][0], drivers[i])
            layer.row_sources.append(f"VPROW{l}_{i}")
        if wired:
            for j in range(cols - 1):
                net.resistor(f"RW{l}_{i}_{j}", rnode[i][j], rnode[i][j + 1], c.wires.r_row, "wire")
    for j in range(cols):
        if wired:
            for i in range(rows - 1):
                net.resistor(f"CW{l}_{i}_{j}", cnode[i][j], cnode[i + 1][j], c.wires.r_column, "wire")
        end = cnode[rows - 1][j]
        if prog is not None:
            net.resistor(f"RSN{l}_{j}", end, neurons[j], R_SWITCH_OFF if programming_mode else R_SWITCH_ON)
            net.resistor(f"RSP{l}_{j}", end, f"pc{l}_{j}", R_SWITCH_ON if programming_mode else R_SWITCH_OFF)
            net.voltage_source(f"VPCOL{l}_{j}", f"pc{l}_{j}", "0", 0.0)
            net.supply(PROGRAMMING_DRIVERS, f"VPCOL{l}_{j}", f"pc{l}_{j}", "0")
            layer.neuron_switches.append(f"RSN{l}_{j}")
            layer.program_switches.append(f"RSP{l}_{j}")
            layer.column_sources.append(f"VPCOL{l}_{j}")
        elif wired:
            net.resistor(f"RE{l}_{j}", end, neurons[j], c.wires.r_column, "wire")
    if card is not None:
        states = get_device(c.device.model, c.device.params).state_for(g)
    for i in range(rows):
        for j in range(cols):
            if card is None:
                layer.cells[i, j] = net.resistor(f"RL{l}_{i}_{j}", rnode[i][j], cnode[i][j], 1.0 / g[i, j], "cell resistor").name
            else:
                layer.cells[i, j] = net.memristor(f"NL{l}_{i}_{j}", rnode[i][j], cnode[i][j], f"x{l}_{i}_{j}", c.device.model,
                                                  card, x0=float(states[i, j]), **extra).name
    return layer


def _index(ep: EpNetwork) -> None:
    """The nodes EP reads (outputs first) and, per layer, where each cell's two terminals are among them:
    the cell's own nodes (``sense = "cells"``) or its row's driven end and its neuron (``"lines"``)."""
    nodes: dict[str, int] = {}
    for o in ep.output_nodes:
        nodes.setdefault(o, len(nodes))
    terminals = []
    for l, layer in enumerate(ep.layers):
        if ep.config.sense == "lines":
            neurons = ep.hidden_nodes[l] if l < len(ep.hidden_nodes) else ep.output_nodes
            rows, cols = layer.cells.shape
            top = np.repeat(layer.top[:, :1], cols, axis=1)
            bottom = np.array([neurons] * rows, dtype=object)
        else:
            top, bottom = layer.top, layer.bottom
        for arr in (top, bottom):
            for n in arr.ravel():
                nodes.setdefault(str(n), len(nodes))
        terminals.append((top, bottom))
    ep.read_nodes = list(nodes)
    ep.output_index = np.arange(len(ep.output_nodes))
    for top, bottom in terminals:
        ep.top_index.append(np.vectorize(nodes.__getitem__, otypes=[int])(top))
        ep.bottom_index.append(np.vectorize(nodes.__getitem__, otypes=[int])(bottom))
