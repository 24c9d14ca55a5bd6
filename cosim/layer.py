"""Circuit-in-the-loop crossbar layers: signed weight matrices on differential column pairs, read in ngspice.

A :class:`CrossbarLayerConfig` describes one weight matrix (``inputs`` rows x ``outputs`` signed
outputs) as a 1R/1T1R crossbar of ``inputs`` rows and ``2 * outputs`` physical columns (pairs
``(2k, 2k+1)`` = (+, -)) with a DAC per row, a TIA and an ADC per column and programming drivers,
built by the project's crossbar generator (:func:`memcosim.circuits.crossbar.build_crossbar`).

A :class:`CrossbarCircuit` holds one or several layers in ONE netlist and ONE session (ngspice
allows one open session per process): each layer's crossbar is rendered by the generator and its
element and node names are prefixed ``l<k>_`` (``VROW0`` -> ``Vl0_ROW0``), so the layers are
independent sub-circuits that share ground. ``circuit.layers[k]`` is a :class:`CrossbarLayer`:

* weights <-> conductance pairs: ``w`` in [-w_max, w_max] maps to ``G+ = g_ref + w k / 2``,
  ``G- = g_ref - w k / 2`` around the window's middle (``mapping="mid"``) or, with ``mapping="high"``,
  down from ``g_max`` (``G+ = g_max - max(-w, 0) k``, ``G- = g_max - max(w, 0) k``), where
  ``k = (g_max - g_min) / w_max`` siemens per unit weight; read back ``w = (G+ - G-) / k``;
* :meth:`CrossbarLayer.forward`: inputs ``x`` (units of the DAC full scale, in [0, 1], or [-1, 1]
  with ``signed_inputs``) -> DAC codes -> one operating point per input vector -> TIA output volts
  -> ADC codes -> the digital estimate of ``W^T x`` (weight units), with the analog column currents;
* ``ideal`` writes (:meth:`CrossbarLayer.write_weights`: device states set from target conductances)
  and ``pulse`` updates through the programming path (:func:`memcosim.programming.pulses.apply_layer_pulse`,
  V/2 or V/3), or many cells at once in one transient (:meth:`CrossbarCircuit.pulse_slots`);
* read-back: conductances from the device states (:meth:`CrossbarLayer.conductances`) or measured in
  the array (:meth:`CrossbarLayer.read_conductances`); device states for checkpoints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from memcosim import fields as f
from memcosim.circuits.bias import line_voltages
from memcosim.circuits.crossbar import Crossbar, build_crossbar
from memcosim.circuits.netlist import Memristor, Netlist
from memcosim.circuits.sky130 import PdkSettings
from memcosim.circuits.waveforms import slot_period, slot_train
from memcosim.config import toml
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.faults import FaultConfig
from memcosim.config.periphery import (AdcConfig, DacConfig, PeripheryConfig, ProgrammingConfig, SwitchConfig, TiaConfig,
                                       refuse_range)
from memcosim.config.pulse import PulseConfig
from memcosim.config.renames import LAYER
from memcosim.cosim.column_switches import check_column_voltages, mode_change_waveforms
from memcosim.cosim.device_table import conductance_device
from memcosim.cosim.engine import open_session
from memcosim.cosim.readout import hold_energy, read_array
from memcosim.cosim.session import Session, SessionOptions
from memcosim.devices.check import check_device
from memcosim.devices.device import Device
from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError

MAPPINGS = ("mid", "high")


@dataclass
class CrossbarLayerConfig:
    """One signed weight matrix as a crossbar with periphery (volts, siemens, ohms, seconds).

    ``inputs`` rows, ``outputs`` signed outputs (``2 * outputs`` physical columns). ``device``: a device
    model of ``verilog_a/`` (or ``resistor``: fixed cells, ideal writes only, with an explicit window)
    with its conductance window ``g_min``/``g_max`` that the weights use (0 = the model preset's
    operating range, ``devices/presets.py``) and read voltage ``v_read``, the DAC full scale (0 = the
    preset's); the layer keeps the resolved values. ``w_max``: the weight at full differential swing;
    ``mapping``: ``mid`` or ``high`` (see module doc). ``signed_inputs``: DAC over [-v_read, v_read]
    instead of [0, v_read]. ``dac``: the row DACs' ``bits`` and ``r_out`` (their range is set from the
    read voltage); ``adc``: the column ADCs' ``bits`` (their range is set by the layer); ``tia``: the
    column TIAs' op-amp ``gain`` and feedback resistance ``r_feedback`` (0 = automatic: chosen so that
    ``inputs * v_read * g_max * adc_fill`` amperes is the ADC full scale; ``circuit = "sky130"``: the
    transistor-level op-amp). ``switches``: column switches (``None``: none, the TIAs stay on the
    columns during writes), as ``[periphery.switches]`` of an array: during the slots of a parallel
    update and every programming pulse the columns are joined to their programming drivers and the
    TIAs taken off them. ``wires``: ohm per row and
    column segment and the row driver resistance. ``scheme``/``pulse``: programming drivers (``V/2`` or
    ``V/3``; pulse amplitude 0 = the preset's SET amplitude). ``initial``: starting weights (number, or
    ``inputs x outputs``); ``init_spread``: uniform random weights in [-init_spread, init_spread] added
    with ``seed``; ``variation``: device-to-device spread (see :class:`~memcosim.config.array.ArrayConfig`).
    """

    inputs: int
    outputs: int
    device: DeviceConfig = field(default_factory=lambda: DeviceConfig("vteam"))
    wires: WireConfig = field(default_factory=WireConfig)
    cell: str = "1R"
    w_max: float = 1.0
    mapping: str = "mid"
    signed_inputs: bool = False
    dac: DacConfig = field(default_factory=lambda: DacConfig(r_out=0.0))
    adc: AdcConfig = field(default_factory=AdcConfig)
    adc_fill: float = 0.5
    tia: TiaConfig = field(default_factory=lambda: TiaConfig(gain=1e5, r_feedback=0.0))
    scheme: str = "V/2"
    pulse: PulseConfig = field(default_factory=lambda: PulseConfig(amplitude=0.0, width=10e-9))
    initial: float = 0.0
    init_spread: float = 0.0
    variation: float = 0.0
    seed: int = 0
    faults: FaultConfig | None = None
    switches: SwitchConfig | None = None

    def __post_init__(self) -> None:
        self.inputs = f.integer("layer.inputs", self.inputs, 1)
        self.outputs = f.integer("layer.outputs", self.outputs, 1)
        for name, cls in (("device", DeviceConfig), ("wires", WireConfig), ("dac", DacConfig), ("adc", AdcConfig),
                          ("tia", TiaConfig), ("pulse", PulseConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"layer.{name}", f"must be a {cls.__name__}, got {getattr(self, name)!r}")
        refuse_range(self.dac, "layer.dac", "the read voltage (layer.device.v_read)")
        refuse_range(self.adc, "layer.adc", "the layer (the TIA output span, layer.signed_inputs)")
        if self.adc.circuit != "behavioural":
            raise ConfigError("layer.adc.circuit", f"a crossbar layer reads each input vector from one operating "
                              f"point; the {self.adc.circuit} SAR ADC needs a transient of its conversion time with "
                              "a transistor-level comparator per column, hundreds to thousands of times slower per "
                              "read (docs/energy.md, 'Crossbar layers with transistor-level periphery'), too slow "
                              "for a trainer's thousands of reads: leave circuit out (the behavioural ADC quantizes "
                              "the TIA outputs to the same bits) and convert with the SAR on an array instead "
                              "(memcosim.cosim.conversion.convert, ArrayConfig with [periphery.adc] circuit = \"sky130\")")
        if self.faults is not None and not isinstance(self.faults, FaultConfig):
            raise ConfigError("layer.faults", f"must be a FaultConfig, got {self.faults!r}")
        if self.switches is not None and not isinstance(self.switches, SwitchConfig):
            raise ConfigError("layer.switches", f"must be a SwitchConfig, got {self.switches!r}")
        self.w_max = f.number("layer.w_max", self.w_max, low=0.0, low_open=True)
        self.mapping = f.choice("layer.mapping", self.mapping, MAPPINGS)
        self.signed_inputs = f.boolean("layer.signed_inputs", self.signed_inputs)
        self.adc_fill = f.number("layer.adc_fill", self.adc_fill, low=0.0, high=1.0, low_open=True)
        self.cell = f.choice("layer.cell", self.cell, ("1R", "1T1R"))
        self.scheme = f.choice("layer.scheme", self.scheme, ("V/2", "V/3"))
        self.init_spread = f.number("layer.init_spread", self.init_spread, low=0.0)
        self.variation = f.number("layer.variation", self.variation, low=0.0, high=1.0)
        self.seed = f.integer("layer.seed", self.seed, 0)
        if np.ndim(self.initial) == 0:
            self.initial = f.number("layer.initial", self.initial)
        else:
            self.initial = f.matrix("layer.initial", self.initial, (self.inputs, self.outputs))
        d = self.device
        if d.resistor:
            if d.g_min <= 0 or d.g_max <= 0:
                raise ConfigError("layer.device.g_min", "resistor cells need an explicit window g_min, g_max (siemens)")
            v_read, amplitude, g_min, g_max = d.v_read or 0.2, self.pulse.amplitude or 1.0, d.g_min, d.g_max
        else:
            check_device(d, "layer.device")
            try:
                preset = get_preset(d.model)
            except ConfigError as exc:
                raise ConfigError("layer.device.model", str(exc)) from None
            g_min, g_max = d.g_min or preset.g_low, d.g_max or preset.g_high
            v_read, amplitude = d.v_read or preset.v_read, self.pulse.amplitude or preset.set_amplitude
            if g_min < preset.g_min * (1 - 1e-9) or g_max > preset.g_max * (1 + 1e-9):
                raise ConfigError("layer.device.g_min" if g_min < preset.g_min else "layer.device.g_max",
                                  f"window [{g_min:.4g}, {g_max:.4g}] S leaves the {d.model} range "
                                  f"[{preset.g_min:.4g}, {preset.g_max:.4g}] S")
        if not (g_min > 0 and g_max > g_min):
            raise ConfigError("layer.device.g_max", f"must be > g_min ({g_min} S) > 0, got {g_max}")
        if not v_read > 0:
            raise ConfigError("layer.device.v_read", f"must be > 0 V, got {v_read}")
        self.device = dataclasses.replace(d, g_min=g_min, g_max=g_max, v_read=v_read)
        self.pulse = dataclasses.replace(self.pulse, amplitude=amplitude)
        try:
            self.periphery()
        except ConfigError as exc:  # the layer's own keys: its pulse amplitude, its switches
            key = {"periphery.programming.pulse.amplitude": "layer.pulse.amplitude"}.get(exc.field, exc.field)
            raise ConfigError(key.replace("periphery.", "layer.", 1), exc.message) from None

    @property
    def columns(self) -> int:
        """Physical columns: two per signed output."""
        return 2 * self.outputs

    @property
    def k(self) -> float:
        """Siemens per unit weight: (g_max - g_min) / w_max."""
        return (self.device.g_max - self.device.g_min) / self.w_max

    @property
    def feedback(self) -> float:
        """TIA feedback resistance (ohm): ``tia.r_feedback`` or the automatic full-scale choice."""
        if not self.tia.automatic:
            return self.tia.r_feedback
        full_scale = self.inputs * self.device.v_read * self.device.g_max * self.adc_fill  # amperes at ADC full scale
        return (1.0 + self.tia.gain) / self.tia.gain / full_scale

    def periphery(self) -> PeripheryConfig:
        """DAC per row (over the read voltage), TIA + ADC per column, programming drivers, column switches."""
        v_read = self.device.v_read
        v_lo = -v_read if self.signed_inputs else 0.0
        adc_hi = 1.0 if self.signed_inputs else 0.02  # TIA output is -I Rf: mostly negative for x >= 0
        return PeripheryConfig(
            dac=dataclasses.replace(self.dac, v_min=v_lo, v_max=v_read),
            tia=dataclasses.replace(self.tia, r_feedback=self.feedback),
            adc=dataclasses.replace(self.adc, v_min=-1.0, v_max=adc_hi),
            programming=ProgrammingConfig(self.scheme, self.pulse),
            switches=self.switches,
        )

    def array(self, conductance: np.ndarray | None = None, states: np.ndarray | None = None) -> ArrayConfig:
        """The layer's crossbar as an :class:`ArrayConfig` (differential column pairs), starting at
        ``conductance`` (resistor cells) or ``states``."""
        return ArrayConfig(self.inputs, self.columns, self.device, self.wires, cell=self.cell, differential=True,
                           conductance=conductance, states=states, variation=self.variation, seed=self.seed,
                           periphery=self.periphery(), faults=self.faults)

    def initial_weights(self) -> np.ndarray:
        """Starting weights (inputs x outputs), ``initial`` plus the seeded uniform spread, clipped."""
        w = np.broadcast_to(np.asarray(self.initial, dtype=float), (self.inputs, self.outputs)).copy()
        if self.init_spread > 0:
            w += np.random.default_rng(self.seed).uniform(-self.init_spread, self.init_spread, w.shape)
        return np.clip(w, -self.w_max, self.w_max)


def layer_config_from_dict(data: dict, where: str = "layer") -> CrossbarLayerConfig:
    """A :class:`CrossbarLayerConfig` from a TOML table (errors name ``where.key``)."""
    return toml.from_dict(CrossbarLayerConfig, data, where, LAYER)


# -- one netlist holding several crossbars ---------------------------------------------------

@dataclass
class PrefixedCrossbar(Crossbar):
    """A generator crossbar whose element and node names carry ``prefix`` inside a larger netlist."""

    prefix: str = ""

    def switch_mode(self, mode: str) -> dict[str, float]:
        return {_rename(n, self.prefix): v for n, v in super().switch_mode(mode).items()}

    def row_node(self, i: int, j: int) -> str:
        return self.prefix + super().row_node(i, j)

    def column_node(self, i: int, j: int) -> str:
        return self.prefix + super().column_node(i, j)


def _rename(name: str, prefix: str) -> str:
    return name[0] + prefix + name[1:]


def _node(node: str, prefix: str) -> str:
    return node if node == "0" else prefix + node


def _instance_of(line: str, subcircuits: dict, prefix: str) -> str:
    """``line`` of a ``.subckt`` body with the sub-circuit it instantiates (an ``X`` line whose last word
    before any ``name=value`` is one of ``subcircuits``) prefixed: nested blocks stay within their layer."""
    words = line.split()
    if not words or words[0][0] not in "xX":
        return line
    k = next((i for i, w in enumerate(words) if "=" in w or w.lower() == "params:"), len(words)) - 1
    if k < 1 or words[k] not in subcircuits:
        return line
    words[k] = prefix + words[k]
    return " ".join(words)


def merge_crossbars(parts: Sequence[Crossbar], title: str) -> tuple[Netlist, list[PrefixedCrossbar]]:
    """One netlist holding every crossbar of ``parts``, names and nodes prefixed ``l<k>_``."""
    net = Netlist(title=title)
    out = []
    for k, xb in enumerate(parts):
        p = f"l{k}_"
        src = xb.netlist
        for c in src.comments:
            net.comment(f"layer {k}: {c}")
        for card, (mtype, params) in src.model_cards.items():
            net.model_cards[p + card] = (mtype, params)
        for name, text in src.subcircuits.items():
            lines = [_instance_of(line, src.subcircuits, p) for line in text.split("\n")]
            lines[0] = lines[0].replace(f".subckt {name} ", f".subckt {p}{name} ", 1)
            lines[-1] = lines[-1].replace(f".ends {name}", f".ends {p}{name}", 1)
            net.subcircuit(p + name, "\n".join(lines), *src.subcircuit_pins.get(name, (None, None)))
        for name, value in src.parameters.items():  # model libraries and what they define: shared, unprefixed
            net.parameter(name, value)
        for lib in src.libraries:
            net.library(lib.path, lib.section)
        for name, pins in src.external_subcircuits.items():
            if name not in net.external_subcircuits:
                net.external_subcircuit(name, pins, src.subcircuit_pins[name][1])
        memristors = {m.name: m for m in src.memristors}
        for e in src.elements:
            rest = e.rest
            if ((e.kind.startswith("instance of ") or e.kind in ("memristor", "access transistor"))
                    and rest.split(None, 1)[0] not in src.external_subcircuits):
                rest = p + rest
            new = net.add(_rename(e.name, p), tuple(_node(n, p) for n in e.nodes), rest, e.kind)
            m = memristors.get(e.name)
            if m is not None:
                net.memristors.append(Memristor(new.name, _node(m.top, p), _node(m.bottom, p),
                                                _node(m.state_node, p), m.model, p + m.card, m.params))
        net.line_nodes.update({_node(n, p): v for n, v in src.line_nodes.items()})
        for supply in src.supplies:
            net.supply(*supply.renamed(p))
        ren = np.vectorize(lambda n: _rename(n, p), otypes=[object])
        out.append(PrefixedCrossbar(
            config=xb.config, netlist=net,
            row_sources=[_rename(n, p) for n in xb.row_sources],
            column_sources=[_rename(n, p) for n in xb.column_sources],
            cells=ren(xb.cells),
            transistors=None if xb.transistors is None else ren(xb.transistors),
            word_line_sources=[_rename(n, p) for n in xb.word_line_sources],
            tia_outputs=[_node(n, p) for n in xb.tia_outputs],
            tia_inputs=[_node(n, p) for n in xb.tia_inputs],
            dac_outputs=[_node(n, p) for n in xb.dac_outputs],
            nudge_sources=[_rename(n, p) for n in xb.nudge_sources],
            program_row_sources=[_rename(n, p) for n in xb.program_row_sources],
            program_column_sources=[_rename(n, p) for n in xb.program_column_sources],
            values=xb.values, blocks=xb.blocks, prefix=p))
    return net, out


# -- reads -----------------------------------------------------------------------------------

@dataclass
class Readout:
    """One forward read of a batch: DAC codes (batch x inputs), ADC codes and column currents (batch x
    physical columns; amperes, into the column), TIA output volts, and ``outputs``: the digital
    estimate of ``W^T x`` (batch x outputs, weight units) from the ADC codes."""

    dac_codes: np.ndarray
    adc_codes: np.ndarray
    currents: np.ndarray
    tia_volts: np.ndarray
    outputs: np.ndarray


@dataclass
class Slot:
    """One pulse slot of a parallel update: ``amplitude`` volts across the selected cells (> 0 SET,
    < 0 RESET) where selected rows cross selected columns, per layer: ``select[k] = (rows, columns)``
    boolean masks (physical columns). Layers not in ``select`` keep their lines at 0 V. ``amplitudes``:
    per-layer amplitudes (volts, layer index -> volts) that replace ``amplitude`` for those layers (each
    layer has its own row and column drivers)."""

    amplitude: float
    select: dict[int, tuple[np.ndarray, np.ndarray]]
    amplitudes: dict[int, float] = field(default_factory=dict)

    def amplitude_of(self, layer: int) -> float:
        """Volts across the selected cells of ``layer`` in this slot."""
        return float(self.amplitudes.get(layer, self.amplitude))


@dataclass
class SlotTiming:
    """Pulse shape of every slot: ``width`` s at full amplitude, ``rise`` s edges, ``gap`` s between slots.
    ``widths``: per-layer pulse widths (layer index -> seconds at full amplitude, at most ``width``): that
    layer's drivers pulse for their own width from the slot's start, the slot keeps the period of ``width``."""

    width: float = 10e-9
    rise: float = 1e-9
    gap: float = 2e-9
    widths: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.width = f.number("pulse.width", self.width, low=0.0, low_open=True, unit="s")
        self.rise = f.number("pulse.rise", self.rise, low=0.0, low_open=True, unit="s")
        self.gap = f.number("pulse.gap", self.gap, low=0.0, unit="s")
        self.widths = {int(k): f.number(f"pulse.widths[{k}]", w, low=0.0, high=self.width, low_open=True, unit="s")
                       for k, w in dict(self.widths).items()}

    def width_of(self, layer: int) -> float:
        """Seconds at full amplitude of ``layer``'s pulses."""
        return self.widths.get(layer, self.width)

    @property
    def period(self) -> float:
        """Seconds from one slot's start to the next."""
        return slot_period(self.width, self.rise, self.gap)


@dataclass
class SlotResult:
    """A parallel update: slots run, cells pulsed (selected crossings), seconds simulated, and the energy
    (joules) every supply group of the circuit delivered in the transient (``groups``: programming drivers,
    DACs, TIAs, column switches, ...; see :attr:`memcosim.cosim.session.Result.energy`); ``energy`` is their
    sum. ``voltages``: the node voltages (volts over ``time``, seconds) asked for."""

    slots: int
    cell_pulses: int
    duration: float
    groups: dict[str, float] = field(default_factory=dict)
    time: np.ndarray | None = None
    voltages: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def energy(self) -> float:
        """Joules delivered by every supply of the circuit during the update."""
        return float(sum(self.groups.values()))


class CrossbarCircuit:
    """Several crossbar layers in one netlist and one ngspice session; with ``pdk``, the arrays are on sky130
    (:class:`~memcosim.circuits.sky130.PdkSettings`: corner, mismatch drawn from its seed and ``mismatch_stream``)."""

    def __init__(self, layers: Sequence[CrossbarLayerConfig], options: SessionOptions | None = None,
                 title: str = "memcosim crossbar layers", pdk: PdkSettings | None = None,
                 mismatch_stream: Sequence[int] = ()):
        if not layers:
            raise ConfigError("layers", "need at least one layer")
        for k, c in enumerate(layers):
            if not isinstance(c, CrossbarLayerConfig):
                raise ConfigError(f"layers[{k}]", f"must be a CrossbarLayerConfig, got {type(c).__name__}")
        self.configs = list(layers)
        devices = [conductance_device(c.device.model, c.device.params, c.device.v_read) for c in layers]
        parts = []
        for c, device in zip(layers, devices):
            g = _pairs(c, c.initial_weights())
            xc = c.array(**({"states": device.state_for(g)} if device.has_state else {"conductance": g}))
            parts.append(build_crossbar(xc if pdk is None else pdk.array(xc), check=False))
        net, xbars = merge_crossbars(parts, title)
        if pdk is not None:  # sky130 arrays: the mismatch of this netlist, from pdk.mismatch_seed and the stream
            pdk.draw(net, *mismatch_stream)
        self.netlist = net
        # unselected devices move only by solver noise in a transient: not worth an alter each
        self.session = open_session(net, options or SessionOptions(state_tolerance=1e-9))
        index = {m.name.lower(): i for i, m in enumerate(self.session.devices)}
        self.layers = [CrossbarLayer(self, k, c, xb, device, index)
                       for k, (c, xb, device) in enumerate(zip(layers, xbars, devices))]
        self.reads = 0  # operating points run by forward reads
        self.row_values: dict[str, float] = {}  # row source volts as last set (unknown = not in the dict)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "CrossbarCircuit":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -------------------------------------------------------------------------
    @property
    def states(self) -> np.ndarray:
        """Every device state (model units), in session order: save it in checkpoints."""
        return self.session.states.copy()

    def set_states(self, states: np.ndarray) -> None:
        """Restore :attr:`states` (one value per device; checked before anything is written)."""
        s = np.asarray(states, dtype=float)
        if s.shape != self.session.states.shape or not np.all(np.isfinite(s)):
            raise ConfigError("device_states", f"need {self.session.states.size} finite states, got shape {s.shape}")
        changed = np.nonzero(s != self.session.states)[0]  # one alter per device that differs
        self.session.set_states({self.session.devices[k].name: float(s[k]) for k in changed})

    def idle_rows(self) -> None:
        """Every row DAC source at 0 V (before programming: no read voltage adds to the pulses)."""
        changed = {n: 0.0 for layer in self.layers for n in layer.crossbar.row_sources if self.row_values.get(n) != 0.0}
        self.session.set_sources(changed)
        self.row_values.update(changed)

    # -- parallel pulse trains -----------------------------------------------------------
    def pulse_slots(self, slots: Sequence[Slot], timing: SlotTiming | None = None,
                    voltages: Sequence[str] = ()) -> SlotResult:
        """Run every slot as one trapezoidal pulse, one after another, in ONE transient.

        In each slot, per selected layer, the lines follow the layer's half-select scheme: selected rows
        at the amplitude, selected columns at 0 V, unselected rows / columns at V/2, V/2 (``V/2``) or
        V/3, 2V/3 (``V/3``); so selected crossings see the amplitude and every other cell at most
        |V|/2 or |V|/3. The device states are carried on by the session. The energy of every supply
        group over the transient comes from the session (``SessionOptions.energy``).

        A selected layer with column switches goes into write mode in the transient's first
        ``switches.t_change`` seconds (the slots start after them) and back to read mode after the last
        slot (another ``t_change``), so the gate charge of both mode changes is in the ``switches`` group;
        a slot whose columns would leave the switches' rails is refused before anything runs.
        ``voltages``: nodes (names of the merged netlist, e.g. ``l0_q0``) whose waveforms to return.
        """
        timing = timing or SlotTiming()
        slots = list(slots)
        checked = []
        for n, slot in enumerate(slots):
            f.number(f"slots[{n}].amplitude", slot.amplitude, unit="V")
            sel = {}
            for k, (rows, cols) in slot.select.items():
                if not (isinstance(k, (int, np.integer)) and 0 <= k < len(self.layers)):
                    raise ConfigError(f"slots[{n}].select", f"no layer {k!r}")
                layer = self.layers[k]
                rows, cols = np.asarray(rows, dtype=bool), np.asarray(cols, dtype=bool)
                if rows.shape != (layer.config.inputs,) or cols.shape != (layer.config.columns,):
                    raise ConfigError(f"slots[{n}].select[{k}]", f"need masks of {layer.config.inputs} rows and "
                                      f"{layer.config.columns} columns, got {rows.shape} and {cols.shape}")
                a = f.number(f"slots[{n}].amplitudes[{k}]", slot.amplitude_of(int(k)), unit="V")
                if rows.any() and cols.any() and a != 0:
                    sel[int(k)] = (a, rows, cols)
                    check_column_voltages(layer.crossbar, np.array([0.0, a]), f"slots[{n}].amplitude")
            if sel:
                checked.append(sel)
        if not checked:
            return SlotResult(0, 0, 0.0)
        levels: dict[str, list[float]] = {}
        width_of: dict[str, float] = {}  # a line's pulse width (its layer's)
        pulses = 0
        for s_idx, sel in enumerate(checked):
            for k, (a, rows, cols) in sel.items():
                layer = self.layers[k]
                vr, vc = line_voltages(layer.config.scheme, a, 2, 2, 0, 0)
                xb = layer.crossbar
                for name, on in zip(xb.program_row_sources, rows):
                    levels.setdefault(name, [0.0] * len(checked))[s_idx] = a if on else float(vr[1])
                for name, on in zip(xb.program_column_sources, cols):
                    levels.setdefault(name, [0.0] * len(checked))[s_idx] = 0.0 if on else float(vc[1])
                for name in (*xb.program_row_sources, *xb.program_column_sources):
                    width_of[name] = timing.width_of(k)
                pulses += int(rows.sum()) * int(cols.sum())
        # layers with column switches that are written: into write mode before the first slot, back after the last
        switched = [self.layers[k] for k in sorted({k for sel in checked for k in sel})
                    if self.layers[k].config.switches is not None]
        lead = max((layer.config.switches.t_change for layer in switched), default=0.0)
        # a layer with a shorter pulse keeps the slot period: its gap grows by the difference
        waves = {name: slot_train(v, width_of[name], timing.rise, timing.gap + timing.width - width_of[name], lead)
                 for name, v in levels.items() if any(v)}
        end = lead + len(checked) * timing.period
        for layer in switched:
            waves.update(mode_change_waveforms(layer.crossbar, 0.0, end))
        self.idle_rows()
        stop = end + lead
        r = self.session.tran(stop, timing.rise, waveforms=waves, max_step=min(width_of.values()) / 2,
                              voltages=list(voltages))
        return SlotResult(len(checked), pulses, stop, dict(r.energy), r.time, {n: r[n] for n in voltages})

    @property
    def supply_groups(self) -> list[str]:
        """The supply groups of the circuit's netlist, in the order first declared."""
        return list(dict.fromkeys(s.group for s in self.netlist.supplies))


def _pairs(c: CrossbarLayerConfig, w: np.ndarray) -> np.ndarray:
    """Conductances (inputs x 2 outputs, siemens) of weights ``w`` with the layer's mapping."""
    w = np.clip(np.asarray(w, dtype=float), -c.w_max, c.w_max)
    g = np.empty((c.inputs, c.columns))
    if c.mapping == "mid":
        mid = 0.5 * (c.device.g_min + c.device.g_max)
        g[:, 0::2] = mid + 0.5 * w * c.k
        g[:, 1::2] = mid - 0.5 * w * c.k
    else:
        g[:, 0::2] = c.device.g_max - np.maximum(-w, 0.0) * c.k
        g[:, 1::2] = c.device.g_max - np.maximum(w, 0.0) * c.k
    return np.clip(g, c.device.g_min, c.device.g_max)


class CrossbarLayer:
    """One weight matrix in a :class:`CrossbarCircuit` (use ``circuit.layers[k]``)."""

    def __init__(self, circuit: CrossbarCircuit, index: int, config: CrossbarLayerConfig,
                 crossbar: PrefixedCrossbar, device: Device, device_index: dict[str, int]):
        self.circuit, self.index, self.config, self.crossbar = circuit, index, config, crossbar
        self.device = device  # the cells' device: read conductance <-> state at the layer's v_read
        if device.has_state:
            self.device_index = np.vectorize(lambda n: device_index[n.lower()], otypes=[int])(crossbar.cells)
        blocks = crossbar.blocks
        self._dac, self._adc = blocks.dac, blocks.adc
        self._amps_per_volt = 1.0 / blocks.tia.transimpedance
        self._g = None if device.has_state else _pairs(config, config.initial_weights())

    @property
    def session(self) -> Session:
        return self.circuit.session

    @property
    def output_step(self) -> float:
        """One ADC code of a column in the units of the layer's outputs (weight x input): the resolution of a read."""
        return float(self._adc.lsb * self._amps_per_volt / (self.config.device.v_read * self.config.k))

    @property
    def shape(self) -> tuple[int, int]:
        """(inputs, outputs) of the weight matrix."""
        return (self.config.inputs, self.config.outputs)

    # -- mapping -------------------------------------------------------------------------
    def conductance_pairs(self, weights: np.ndarray) -> np.ndarray:
        """Conductances (inputs x physical columns, siemens) that represent ``weights`` (clipped to +-w_max)."""
        return _pairs(self.config, self._check_weights(weights))

    def weights_from(self, conductances: np.ndarray) -> np.ndarray:
        """Weights (inputs x outputs) of physical conductances: (G+ - G-) / k."""
        g = np.asarray(conductances, dtype=float)
        return (g[:, 0::2] - g[:, 1::2]) / self.config.k

    def _check_weights(self, w: np.ndarray) -> np.ndarray:
        a = np.asarray(w, dtype=float)
        if a.shape != self.shape:
            raise ConfigError("weights", f"layer {self.index} needs {self.shape[0]} x {self.shape[1]} weights, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ConfigError("weights", f"layer {self.index}: every weight must be finite")
        return a

    # -- read-back -----------------------------------------------------------------------
    def states(self) -> np.ndarray:
        """Device states (model units), inputs x physical columns."""
        if not self.device.has_state:
            raise ConfigError("layer.device.model", "resistor cells have no device state")
        return self.session.states[self.device_index]

    def conductances(self) -> np.ndarray:
        """Read conductance (siemens, inputs x physical columns) from the device states (at ``v_read``)."""
        if not self.device.has_state:
            return self._g.copy()
        return self.device.conductance(self.states())

    def weights(self) -> np.ndarray:
        """The weights the array holds now (inputs x outputs), from :meth:`conductances`."""
        return self.weights_from(self.conductances())

    def read_conductances(self) -> np.ndarray:
        """Conductances measured in the array (siemens): one operating point per row at ``v_read``
        (through DAC, wires and TIA virtual ground: the apparent conductance the periphery sees)."""
        self.circuit.row_values.clear()  # read_array drives the row sources itself
        return read_array(self.session, self.crossbar, self.config.device.v_read)

    # -- writes --------------------------------------------------------------------------
    def write_conductances(self, g: np.ndarray) -> None:
        """``ideal`` write: set every cell to conductance ``g`` (inputs x physical columns, siemens)."""
        c = self.config
        g = np.asarray(g, dtype=float)
        if g.shape != (c.inputs, c.columns):
            raise ConfigError("conductances", f"layer {self.index} needs {c.inputs} x {c.columns}, got {g.shape}")
        bad = ~(np.isfinite(g) & (g >= c.device.g_min * (1 - 1e-9)) & (g <= c.device.g_max * (1 + 1e-9)))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ConfigError("conductances", f"cell ({i}, {j}) = {g[i, j]:g} S is outside the window "
                              f"[{c.device.g_min:.4g}, {c.device.g_max:.4g}] S")
        g = np.clip(g, c.device.g_min, c.device.g_max)
        if not self.device.has_state:
            for i, j in np.argwhere(g != self._g):  # one alter per cell whose conductance changes
                self.session.set_device_params(self.crossbar.cells[i, j], r=float(1.0 / g[i, j]))
            self._g = g.copy()
            return
        states = self.device.state_for(g)
        changed = states != self.states()  # one alter per device whose state moves
        self.session.set_states(dict(zip(self.crossbar.cells[changed].tolist(), states[changed].tolist())))

    def write_weights(self, weights: np.ndarray) -> None:
        """``ideal`` write of ``weights`` (inputs x outputs) through the layer's mapping."""
        self.write_conductances(self.conductance_pairs(weights))

    # -- forward read --------------------------------------------------------------------
    def dac_codes(self, x: np.ndarray) -> np.ndarray:
        """DAC codes of inputs ``x`` (batch x inputs, units of the full scale ``v_read``; clipped)."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.config.inputs:
            raise ConfigError("x", f"layer {self.index} has {self.config.inputs} inputs, got input shape {x.shape}")
        bad = np.argwhere(~np.isfinite(x))
        if bad.size:
            i, j = bad[0]
            raise ConfigError("x", f"input [{i}, {j}] is {float(x[i, j])!r}: inputs must be finite")
        return self._dac.code(x * self.config.device.v_read)

    def dac_voltages(self, codes: np.ndarray) -> np.ndarray:
        """Row voltages (volts) the layer's DACs drive for DAC ``codes`` (as from :meth:`dac_codes`)."""
        return self._dac.voltage(codes)

    def forward(self, x: np.ndarray) -> Readout:
        """Read ``W^T x`` for every input vector (row of ``x``): DAC -> array -> TIA -> ADC, one operating
        point per vector; the row sources are left at the last vector's voltages."""
        codes = self.dac_codes(x)
        xb = self.crossbar
        n = len(codes)
        currents = np.empty((n, self.config.columns))
        volts = np.empty_like(currents)
        names = list(xb.row_sources)
        for b in range(n):
            v = self._dac.voltage(codes[b]).tolist()
            last = self.circuit.row_values
            changed = {nm: val for nm, val in zip(names, v) if last.get(nm) != val}
            self.session.set_sources(changed)  # only the rows whose voltage changed (one alter each)
            last.update(changed)
            r = self.session.op(voltages=xb.tia_outputs, currents=xb.column_sources)
            volts[b] = r.stack(xb.tia_outputs)
            currents[b] = r.stack(xb.column_sources)
            self.circuit.reads += 1
        adc = self._adc.convert(volts)
        est = -self._adc.level(adc) * self._amps_per_volt  # amperes into each column, from the codes
        out = (est[:, 0::2] - est[:, 1::2]) / (self.config.device.v_read * self.config.k)
        return Readout(codes, adc, currents, volts, out)

    def read_energy(self, x: np.ndarray, duration: float) -> dict[str, float]:
        """Joules per supply group of the circuit (:attr:`memcosim.cosim.session.Result.energy`) drawn while this
        layer reads every input vector of ``x`` (rows at their DAC voltages, every other layer's rows at 0 V),
        each read held for ``duration`` seconds: one transient per vector (:func:`~memcosim.cosim.readout.hold_energy`;
        no device moves). Every row is left at 0 V."""
        codes = self.dac_codes(x)
        self.circuit.idle_rows()
        names = list(self.crossbar.row_sources)
        total: dict[str, float] = {}
        for b in range(len(codes)):
            energy = hold_energy(self.session, dict(zip(names, self._dac.voltage(codes[b]).tolist())), duration)
            for group, joules in energy.items():
                total[group] = total.get(group, 0.0) + joules
        self.circuit.row_values.update(dict.fromkeys(names, 0.0))
        return total

    def ideal_outputs(self, x: np.ndarray) -> np.ndarray:
        """``W^T x`` in software from the DAC-quantized inputs and the present conductances (no circuit)."""
        v = self._dac.voltage(self.dac_codes(x))
        i = v @ self.conductances()
        return (i[:, 0::2] - i[:, 1::2]) / (self.config.device.v_read * self.config.k)
