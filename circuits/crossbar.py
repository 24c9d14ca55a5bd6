"""A crossbar (1R or 1T1R cells) with parasitic row and column wires and optional periphery, as a :class:`Netlist`.

Layout (R rows, C columns): row ``i`` is driven at its left end by source ``VROW<i>`` (through
the row DAC, the driver resistance and the programming source when present); the row line runs
right through one wire segment per cell pitch. Column ``j`` runs down and ends in ``VCOL<j>``, a
0 V source whose current is the column output; below it sit the programming source and the TIA
(or ground). Cell ``(i, j)`` connects row node ``r<i>_<j>`` to column node ``c<i>_<j>``; a 1T1R
cell is the memristor from the row node to ``m<i>_<j>`` and an NMOS access transistor from there
to the column node, gated by word line ``w<i>`` (source ``VWL<i>``).

    VROW0 -[dac]-Rdrv-VPROW0- r0_0 -Rrow- r0_1 - ...            (row 0)
                               |           |
                              cell        cell
                               |           |
                              c0_0        c0_1
                               |Rcol       |Rcol
                              c1_0 ...    c1_1 ... -> VCOL<j> -> s<j> -VPCOL<j>- q<j> -[tia]- o<j> -[adc]
                                                                 ^ INUDGE<j>

With column switches, s<j> goes through the switch to q<j> (read) or to p<j> (write), and VPCOL<j>
drives p<j> from ground: a write never reaches the TIA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from memcosim import fields as f
from memcosim.circuits.bias import line_voltages
from memcosim.circuits.faults import FaultMap, apply_faults, on_bound
from memcosim.circuits.netlist import Netlist, fmt, is_spice_name, module_name, no_gc
from memcosim.circuits.periphery.base import ARRAY, ROW_DRIVERS
from memcosim.circuits.periphery.blocks import PeripheryBlocks
from memcosim.circuits.periphery.user import with_user_blocks
from memcosim.circuits.structure import check_structure
from memcosim.circuits.waveforms import pulse
from memcosim.config.array import RESISTOR, ArrayConfig
from memcosim.config.periphery import PeripheryConfig
from memcosim.devices.catalog import get_device
from memcosim.devices.check import check_device
from memcosim.errors import ConfigError

_STAGE_NODE = {"dac": "a", "drv": "b", "prog": "p"}  # node after each row-driver stage


def check_array(config: ArrayConfig) -> None:
    """The checks of ``config`` that need the device registry (ConfigError naming the TOML key): the
    model exists and is a valid SPICE name, its parameter overrides exist, the starting states are in
    the model's range, and stuck or drift faults know the model's ON state."""
    initial_values(config)
    fc = config.faults
    if fc is not None and not config.device.resistor and (fc.stuck_on > 0 or fc.stuck_off > 0 or fc.drift > 0):
        on_bound(config.device.model, config.device.params)  # raises for a model of unknown polarity


def initial_values(config: ArrayConfig) -> np.ndarray:
    """Per-cell starting conductance (resistor cells, siemens) or state (device models, the model's
    state units) before variation: ``conductance`` turned into states through the conductance law,
    ``states``, or the model's default state."""
    if config.device.resistor:
        return np.asarray(config.conductance, dtype=float)
    device = check_device(config.device)
    if not is_spice_name(device.name):
        raise ConfigError("device.model", f"the Verilog-A module name {device.name!r} (from {config.device.model!r}) "
                          "is not a valid SPICE name: a letter followed by letters, digits or '_'")
    cell = get_device(config.device.model, config.device.params)
    if config.conductance is not None:
        return np.asarray(cell.state_for(config.conductance), dtype=float)
    params = config.device.params
    raw = params.get("x0", device.state_default) if config.states is None else config.states
    s = f.matrix("states", raw, config.shape)
    lo, hi = cell.bounds
    bad = ~((s >= lo) & (s <= hi))
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ConfigError("states", f"state {s[i, j]:g} of cell ({i}, {j}) is outside the {config.device.model} "
                          f"range [{lo}, {hi}]")
    return s


def cell_values(config: ArrayConfig) -> np.ndarray:
    """Per-cell conductance (resistor, S) or initial state (device model) with the variation drawn."""
    rng = np.random.default_rng(config.seed)
    base = initial_values(config)
    if config.device.resistor:
        return base * np.exp(rng.normal(0.0, config.variation, base.shape)) if config.variation > 0 else base.copy()
    if config.variation == 0:
        return base.copy()
    lo, hi = get_device(config.device.model, config.device.params).bounds
    return np.clip(base + rng.normal(0.0, config.variation * (hi - lo), base.shape), lo, hi)


@dataclass
class Crossbar:
    """A rendered crossbar: the netlist and the names the session reads and drives."""

    config: ArrayConfig
    netlist: Netlist
    row_sources: list[str]
    column_sources: list[str]
    cells: np.ndarray  # element names of the memristors (or cell resistors), rows x columns
    transistors: np.ndarray | None = None  # access transistor names (1T1R), rows x columns
    word_line_sources: list[str] = field(default_factory=list)
    tia_outputs: list[str] = field(default_factory=list)  # TIA output (= ADC input) node per column
    tia_inputs: list[str] = field(default_factory=list)  # TIA input (virtual ground) node per column
    adc_instances: list[str] = field(default_factory=list)  # ADC instance (element name) per column
    dac_outputs: list[str] = field(default_factory=list)  # DAC output node per row
    nudge_sources: list[str] = field(default_factory=list)
    program_row_sources: list[str] = field(default_factory=list)
    program_column_sources: list[str] = field(default_factory=list)
    values: np.ndarray | None = None  # conductance (S) or initial state per cell, variation included
    faults: "FaultMap | None" = None  # the drawn faults (memcosim.circuits.faults) when config.faults is set
    blocks: PeripheryBlocks = field(default_factory=PeripheryBlocks)  # the block in each periphery slot
    rail_sources: dict[str, str] = field(default_factory=dict)  # blocks' rail sources -> supply group

    def row_node(self, i: int, j: int) -> str:
        return row_node(self.config, i, j)

    def column_node(self, i: int, j: int) -> str:
        return column_node(self.config, i, j)

    @property
    def periphery(self) -> PeripheryConfig:
        return self.config.periphery or PeripheryConfig()

    @property
    def sources(self) -> list[str]:
        """Every independent source the crossbar drives or reads."""
        return (self.row_sources + self.column_sources + self.word_line_sources + self.nudge_sources
                + self.program_row_sources + self.program_column_sources + list(self.rail_sources))

    def switch_mode(self, mode: str) -> dict[str, float]:
        """Values (volts) of the column switches' control sources that put them in ``mode``: ``read``
        (columns on their TIAs) or ``write`` (columns on their programming drivers); empty without switches."""
        switch = self.blocks.switch
        return {} if switch is None else switch.mode(mode)

    @property
    def column_current_vectors(self) -> list[str]:
        """ngspice vector names of the column output currents (amperes)."""
        return [f"{name.lower()}#branch" for name in self.column_sources]

    @property
    def column_pairs(self) -> list[tuple[int, int]]:
        """(plus, minus) physical columns of each signed output (differential arrays only)."""
        if not self.config.differential:
            raise ConfigError("differential", "this array has no differential column pairs")
        return [(2 * k, 2 * k + 1) for k in range(self.config.columns // 2)]

    def signed(self, per_column: np.ndarray) -> np.ndarray:
        """Signed outputs of a differential array: plus column minus minus column (last axis)."""
        a = np.asarray(per_column)
        self.column_pairs  # raises unless differential
        return a[..., 0::2] - a[..., 1::2]

    def dac_values(self, codes: np.ndarray) -> dict[str, float]:
        """Row source values (volts) for DAC ``codes``, ready for ``Session.set_sources``."""
        dac = self.blocks.dac
        if dac is None:
            raise ConfigError("periphery.dac", "this array has no row DACs")
        volts = dac.voltage(np.asarray(codes))
        if volts.shape != (self.config.rows,):
            raise ConfigError("code", f"need one DAC code per row ({self.config.rows}), got shape {volts.shape}")
        return dict(zip(self.row_sources, (float(v) for v in volts)))

    def adc_codes(self, tia_volts: np.ndarray) -> np.ndarray:
        """ADC codes of the TIA output voltages (volts, one per column on the last axis)."""
        adc = self.blocks.adc
        if adc is None:
            raise ConfigError("periphery.adc", "this array has no column ADCs")
        codes = adc.convert(tia_volts)
        if self.faults is not None and self.faults.dead_adc.any():
            codes = np.array(codes, copy=True)
            codes[..., self.faults.dead_adc] = 0  # a dead channel reads 0
        return codes

    def write_voltages(self, row: int, column: int, scheme: str | None = None,
                       amplitude: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row and column programming voltages (volts) to write cell (row, column)."""
        prog = self._programming()
        return line_voltages(scheme or prog.scheme, prog.pulse.amplitude if amplitude is None else amplitude,
                             self.config.rows, self.config.columns, row, column)

    def write_waveforms(self, row: int, column: int, scheme: str | None = None,
                        amplitude: float | None = None, width: float | None = None) -> dict:
        """Pulse waveforms (:class:`~memcosim.circuits.waveforms.Pwl`) of the programming sources for one
        write, for ``Session.tran``."""
        prog = self._programming()
        v_rows, v_columns = self.write_voltages(row, column, scheme, amplitude)
        w = prog.pulse.width if width is None else width
        waves = {}
        for name, v in zip(self.program_row_sources + self.program_column_sources, [*v_rows, *v_columns]):
            if v != 0.0:
                waves[name] = pulse(float(v), w, rise=prog.pulse.rise, fall=prog.pulse.rise)
        return waves

    def write_duration(self, width: float | None = None) -> float:
        """Seconds a write pulse lasts (rise + width + fall)."""
        prog = self._programming()
        return 2 * prog.pulse.rise + (prog.pulse.width if width is None else width)

    def _programming(self):
        prog = self.periphery.programming
        if prog is None:
            raise ConfigError("periphery.programming", "this array has no programming drivers")
        return prog


def row_node(config: ArrayConfig, i: int, j: int) -> str:
    """Node of row line ``i`` at column ``j`` (all one node when the row wire is ideal)."""
    return f"r{i}_{j if config.wires.r_row > 0 else 0}"


def column_node(config: ArrayConfig, i: int, j: int) -> str:
    """Node of column line ``j`` at row ``i`` (all one node when the column wire is ideal)."""
    return f"c{i if config.wires.r_column > 0 else config.rows - 1}_{j}"


def build_crossbar(config: ArrayConfig, title: str | None = None, check: bool = True,
                   blocks: PeripheryBlocks | None = None) -> Crossbar:
    """Render ``config`` as a netlist; with ``check`` run the structure checks on it.

    ``blocks`` puts other blocks into the periphery slots (they must fill exactly the slots
    ``config`` fills, each with the pins its slot's contract names); by default every slot gets
    the behavioural block of its settings. Sources: ``VROW<i>`` (row drive / DAC code voltage),
    ``VCOL<j>`` (column ammeter), ``VWL<i>`` (1T1R word lines), ``INUDGE<j>``, ``VPROW<i>`` /
    ``VPCOL<j>`` (programming).
    """
    default = PeripheryBlocks.behavioural(config.periphery, config.wires.r_driver, config.access)
    if config.blocks:
        default = with_user_blocks(default, config.blocks)
    blocks = default.check() if blocks is None else blocks.check(expected=default.filled())
    with no_gc():  # millions of small tuples, no cycles: the cyclic collector only costs time
        xb = _build(config, blocks, title)
        if config.faults is not None and config.faults.any:
            xb.faults = apply_faults(xb)
    if check:
        check_structure(xb.netlist, sources=xb.sources)
    return xb


def _build(config: ArrayConfig, blocks: PeripheryBlocks, title: str | None) -> Crossbar:
    R, C = config.shape
    model = config.device.model
    if not config.device.resistor:
        device = check_device(config.device)
        if model.endswith(".va"):  # a user's file: the session finds it by its full path, whatever the folder
            model = str(device.source)
    net = Netlist(title=title or f"memcosim crossbar {R}x{C} {config.cell} "
                  f"{module_name(model) if model != RESISTOR else model}")
    _describe(net, config)
    values = cell_values(config)
    card = None
    instance_extra: dict[str, float] = {}
    if model != RESISTOR:
        card = f"{device.name}_model"
        model_level = {k: v for k, v in config.device.params.items() if k not in device.instance_parameters}
        instance_extra = {k: v for k, v in config.device.params.items()
                          if k in device.instance_parameters and k != "x0"}
        net.model_card(card, device.name, **model_level)
    dac, driver, prog, tia, adc, nudge, access, switch = (blocks.dac, blocks.row_driver, blocks.programming,
                                                          blocks.tia, blocks.adc, blocks.nudge, blocks.access,
                                                          blocks.switch)
    for block in (access, dac, driver, tia, adc, switch):
        if block is not None:
            block.define(net)
    rails = {r.source: r.group for b in (access, dac, driver, tia, adc, switch) if b is not None for r in b.rails}

    rnode = [[row_node(config, i, j) for j in range(C)] for i in range(R)]
    cnode = [[column_node(config, i, j) for j in range(C)] for i in range(R)]
    xb = Crossbar(config, net, [], [], np.empty((R, C), dtype=object), values=values, blocks=blocks,
                  rail_sources=rails)

    # rows: source -> DAC -> row driver -> programming driver -> line
    stages = [s for s, block in (("dac", dac), ("drv", driver), ("prog", prog)) if block is not None]
    for i in range(R):
        node = f"d{i}" if stages else rnode[i][0]
        net.voltage_source(f"VROW{i}", node, "0", dac.v_min if dac is not None else 0.0)
        net.supply(ROW_DRIVERS, f"VROW{i}", node, "0")
        xb.row_sources.append(f"VROW{i}")
        for k, stage in enumerate(stages):
            nxt = rnode[i][0] if k == len(stages) - 1 else f"{_STAGE_NODE[stage]}{i}"
            if stage == "dac":
                dac.place(net, f"DAC{i}", (node, nxt))
                xb.dac_outputs.append(nxt)
            elif stage == "drv":
                driver.place(net, f"DRV{i}", (node, nxt))
            else:
                xb.program_row_sources.append(prog.place(net, f"PROW{i}", (nxt, node)).name)
            node = nxt
        if config.wires.r_row > 0:
            row = rnode[i]
            for j in range(C - 1):
                net.resistor(f"RW{i}_{j}", row[j], row[j + 1], config.wires.r_row, "wire")
        _line_capacitance(net, "CR", i, rnode[i] if config.wires.r_row > 0 else rnode[i][:1], config.wires.c_row,
                          1 if config.wires.r_row > 0 else C)
        if access is not None:
            net.voltage_source(f"VWL{i}", f"w{i}", "0", access.gate_voltage)
            net.supply(ARRAY, f"VWL{i}", f"w{i}", "0")
            xb.word_line_sources.append(f"VWL{i}")

    # columns: line -> ammeter -> programming source -> TIA (or ground); nudge into the TIA input
    for j in range(C):
        col = [cnode[i][j] for i in range(R)]
        if config.wires.r_column > 0:
            for i in range(R - 1):
                net.resistor(f"CW{i}_{j}", col[i], col[i + 1], config.wires.r_column, "wire")
        _line_capacitance(net, "CC", j, col if config.wires.r_column > 0 else col[-1:], config.wires.c_column,
                          1 if config.wires.r_column > 0 else R)
        below = f"s{j}" if (tia is not None or prog is not None) else "0"
        net.voltage_source(f"VCOL{j}", col[-1], below, 0.0)
        net.supply(ARRAY, f"VCOL{j}", col[-1], below)
        xb.column_sources.append(f"VCOL{j}")
        if switch is not None:  # the switch joins the line to the TIA (read) or to the driver (write)
            sense = f"q{j}"
            switch.place(net, f"SW{j}", (below, sense, f"p{j}"))
            xb.program_column_sources.append(prog.place(net, f"PCOL{j}", (f"p{j}", "0")).name)
        elif prog is not None:
            sense = f"q{j}" if tia is not None else "0"
            xb.program_column_sources.append(prog.place(net, f"PCOL{j}", (below, sense)).name)
        else:
            sense = below
        if tia is not None:
            tia.place(net, f"TIA{j}", (sense, f"o{j}"))
            xb.tia_outputs.append(f"o{j}")
            xb.tia_inputs.append(sense)
        if adc is not None:
            xb.adc_instances.append(adc.place(net, f"ADC{j}", (f"o{j}",)).name)
        if nudge is not None:
            xb.nudge_sources.append(nudge.place(net, f"NUDGE{j}", (sense,)).name)

    # cells
    one_t = access is not None
    if one_t:
        xb.transistors = np.empty((R, C), dtype=object)
    for i in range(R):
        ri, ci = rnode[i], cnode[i]
        for j in range(C):
            bottom = f"m{i}_{j}" if one_t else ci[j]
            if card is None:
                xb.cells[i, j] = net.resistor(f"RC{i}_{j}", ri[j], bottom, 1.0 / values[i, j], "cell resistor").name
            else:
                xb.cells[i, j] = net.memristor(f"NC{i}_{j}", ri[j], bottom, f"x{i}_{j}", model, card,
                                               x0=float(values[i, j]), **instance_extra).name
            if one_t:
                xb.transistors[i, j] = access.place(net, f"A{i}_{j}", (bottom, f"w{i}", ci[j], "0")).name
    lines = net.line_nodes
    for i in range(R):
        lines.update(dict.fromkeys(rnode[i], ("row", i)))
    for j in range(C):
        lines.update(dict.fromkeys((cnode[i][j] for i in range(R)), ("column", j)))
    return xb


def _line_capacitance(net: Netlist, prefix: str, index: int, nodes: list[str], farads: float, scale: int) -> None:
    if farads <= 0:
        return
    for k, node in enumerate(nodes):
        net.capacitor(f"{prefix}{index}_{k}", node, "0", farads * scale)


def _describe(net: Netlist, config: ArrayConfig) -> None:
    per = config.periphery or PeripheryConfig()
    blocks = [name for name in ("dac", "tia", "adc", "nudge", "programming", "switches") if getattr(per, name) is not None]
    net.comment(f"{config.rows} rows x {config.columns} columns, {config.cell} cells, model {config.device.model}"
                + (", differential column pairs (2k +, 2k+1 -)" if config.differential else ""))
    net.comment(f"wires: {fmt(config.wires.r_row)} ohm per row segment, {fmt(config.wires.r_column)} ohm per column segment, "
                f"driver {fmt(config.wires.r_driver)} ohm, {fmt(config.wires.c_row)} F / {fmt(config.wires.c_column)} F per segment")
    net.comment(f"periphery: {', '.join(blocks) if blocks else 'none (ideal sources and ammeters)'}")
    if config.device.model != RESISTOR:
        net.comment("memristors N<name> top bottom state: load the compiled OSDI model (osdi FILE.osdi) first")
    if per.programming is not None:
        p = per.programming
        net.comment(f"programming: scheme {p.scheme}, {fmt(p.pulse.amplitude)} V, width {fmt(p.pulse.width)} s "
                    "(VPROW/VPCOL are 0 V outside a write)")
