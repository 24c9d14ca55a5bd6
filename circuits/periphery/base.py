"""The periphery-block interface: slots with a pin contract, and the blocks that fill them.

A *slot* is a place in the array for one kind of block (the row DAC, the column TIA, ...) and its
pin contract: the pins a block there must have, in order, and what each pin is wired to. A
*block* is one implementation: it names its pins in order, puts its definition into a netlist
(a ``.subckt``, or a ``.model`` card for the access device) and places one instance of itself on
the nodes the builder hands it, in the slot's pin order. Blocks that have a Python-side transfer
(DAC codes to volts, TIA current to volts, ADC volts to codes) carry it too.

Builders never write periphery text themselves: they take a block, check it against its slot
(:meth:`Slot.check`), call :meth:`Block.define` once and :meth:`Block.place` per instance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from memcosim.circuits.netlist import GROUND, Element, Netlist
from memcosim.errors import ConfigError, NetlistError


@dataclass(frozen=True)
class Slot:
    """A place for one kind of periphery block: ``name`` (the config table, e.g. ``dac``), the pin
    names a block there connects, in order, and ``roles``: what each pin is wired to."""

    name: str
    pins: tuple[str, ...]
    roles: tuple[str, ...]

    def check(self, block: "Block") -> "Block":
        """``block`` if its pins fit this slot's contract (same count, no name twice), else a
        ConfigError naming the slot and the block."""
        pins = tuple(block.pins)
        if len(pins) != len(self.pins):
            raise ConfigError(f"periphery.{self.name}",
                              f"block {block.name!r} has {len(pins)} pin(s) ({' '.join(pins) or 'none'}) but the "
                              f"{self.name} slot connects {len(self.pins)}: {self.contract}")
        twice = sorted({p for p in pins if pins.count(p) > 1})
        if twice:
            raise ConfigError(f"periphery.{self.name}", f"block {block.name!r} names pin(s) {', '.join(twice)} twice")
        return block

    @property
    def contract(self) -> str:
        """The pin contract in words: ``pin (role), ...`` in order."""
        return ", ".join(f"{p} ({r})" for p, r in zip(self.pins, self.roles))


DAC = Slot("dac", ("in", "out"),
           ("the code voltage (volts to ground) that the session sets on row source VROW<i>",
            "the row line side: drives the row through the driver and programming stages"))
ROW_DRIVER = Slot("row_driver", ("in", "out"),
                  ("the row source or DAC output", "the row line side"))
PROGRAMMING = Slot("programming", ("line", "base"),
                   ("the array side: row or column line", "the driver side: row source chain, TIA input or ground;"
                    " V(line) - V(base) is the programming pulse"))
TIA = Slot("tia", ("in", "out"),
           ("the column current input (virtual ground)", "the output voltage read by the ADC"))
ADC = Slot("adc", ("in",), ("the TIA output it converts",))
NUDGE = Slot("nudge", ("node",), ("the TIA input the nudge current (amperes, from ground) flows into",))
SWITCH = Slot("switch", ("line", "sense", "drive"),
              ("the column line (below its ammeter)", "the TIA input, joined to the line while the array is read",
               "the programming driver, joined to the line while the array is written"))
ACCESS = Slot("access", ("drain", "gate", "source", "bulk"),
              ("the memristor's bottom electrode", "the row's word line", "the column line", "ground"))


# Supply groups of the built-in blocks and the array's own sources (Netlist.supplies, Session energy):
ARRAY = "array"  # the array's column ammeters (0 V) and 1T1R word lines
ROW_DRIVERS = "row_drivers"  # the row sources: the drive itself, or the code voltage into the DAC
DAC_SUPPLY = "dac"  # the row DACs' output stages
PROGRAMMING_DRIVERS = "programming_drivers"  # the programming pulse sources of rows and columns
TIA_SUPPLY = "tia"  # the column TIAs' amplifiers
ADC_SUPPLY = "adc"  # the column ADCs
ADC_REFERENCE = "adc_reference"  # the reference source of the SAR ADCs' capacitor DACs
NUDGE_SUPPLY = "nudge"  # the nudge current sources
SWITCHES = "switches"  # column switches and their gate drives
BIAS_SUPPLY = "bias"  # the EP network's bias rows
NEURON_SUPPLY = "neurons"  # the EP network's hidden neurons: diode biases and amplifiers


@dataclass(frozen=True)
class BlockSupply:
    """One element of a block that delivers energy: its supply ``group``, the ``element`` inside the block's
    ``.subckt`` (a ``V``, ``E`` or ``I`` element; empty for a block that is itself one primitive element)
    and its terminals, each one of the block's pins, ``0`` or a node inside the ``.subckt``."""

    group: str
    element: str
    plus: str
    minus: str


def declare_supplies(net: Netlist, block: "Block", element: Element) -> None:
    """Declare in ``net`` the supplies of ``block``'s instance ``element`` (placed on the nodes of its pins)."""
    if not block.supplies:
        return
    nodes = dict(zip(block.pins, element.nodes))
    for s in block.supplies:
        if not s.element:  # the block is this one primitive element
            net.supply(s.group, element.name, nodes.get(s.plus, s.plus), nodes.get(s.minus, s.minus))
            continue

        def node(pin: str) -> str:
            return nodes[pin] if pin in nodes else (GROUND if pin == GROUND else f"{element.name}.{pin}")

        net.supply(s.group, f"{element.name}.{s.element}", node(s.plus), node(s.minus))


@dataclass(frozen=True)
class Rail:
    """A supply rail a block's transistors sit between: the top-level voltage source ``source`` holding node
    ``node`` at ``volts`` to ground, shared by every instance of the block and reached by the block's pin
    ``pin`` (after its slot pins); its energy counts under supply group ``group``."""

    pin: str
    source: str
    node: str
    volts: float
    group: str


def define_rails(net: Netlist, rails: "tuple[Rail, ...]") -> None:
    """Put each rail's source into ``net`` and declare it as a supply of its group, unless it is there already
    (blocks may share a rail); a source of the same name at another node or voltage is a ConfigError."""
    for r in rails:
        try:
            e = net.find(r.source)
        except NetlistError:
            net.voltage_source(r.source, r.node, GROUND, r.volts)
            net.supply(r.group, r.source, r.node, GROUND)
            continue
        if e.nodes != (r.node, GROUND) or float(e.rest.split()[1]) != r.volts:
            raise ConfigError(f"rail {r.source}", f"declared twice differently: {e.render()!r} and "
                              f"{r.node} at {r.volts:g} V")


class Block(ABC):
    """One periphery block. ``name`` is its ``.subckt`` name (or ``.model`` card name) in a netlist
    and the name its errors carry. A block with :attr:`rails` has a pin per rail after its slot pins,
    wired to the rail's shared source, which :meth:`SubcktBlock.define` puts in once."""

    name: str

    @property
    def rails(self) -> tuple[Rail, ...]:
        """The supply rails the block's circuit sits between (none for a behavioural block)."""
        return ()

    @property
    @abstractmethod
    def pins(self) -> tuple[str, ...]:
        """Its pin names in order; the builder connects them to its slot's pins by position."""

    @abstractmethod
    def define(self, net: Netlist) -> None:
        """Put the block's definition (``.subckt`` or ``.model`` card) into ``net``; nothing for a
        block that is a single primitive element."""

    @abstractmethod
    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        """One instance of the block on ``nodes`` (in pin order); returns the element. ``name`` is the
        instance's name without its SPICE type letter: the block puts its own letter in front
        (``X`` for a sub-circuit instance), so ``DAC0`` becomes ``XDAC0``. The instance's
        :attr:`supplies` are declared in ``net`` (:meth:`Netlist.supply`)."""

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """The elements through which the block draws energy, with their supply group: every joule the
        block delivers into the circuit comes from one of them. None by default (a passive block)."""
        return ()


class SubcktBlock(Block):
    """A block defined by ``.subckt`` text and placed as ``X`` instances of it.

    ``dc_paths`` are the pin pairs joined by a DC path inside the block (``"0"`` stands for
    ground); the structure checker uses them to find floating nodes.
    """

    @property
    @abstractmethod
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        """Pin pairs joined inside the block by a DC path (``"0"`` is ground)."""

    @abstractmethod
    def subckt(self) -> str:
        """The ``.subckt <name> <pins>`` ... ``.ends <name>`` text."""

    def define(self, net: Netlist) -> None:
        """Put the ``.subckt`` into ``net`` after checking that its ``.subckt`` line lists exactly
        :attr:`pins` and that :attr:`dc_paths` name only those pins or ground."""
        text = self.subckt()
        header = []
        for token in text.lstrip().split("\n", 1)[0].split()[2:]:
            if "=" in token or token.lower() == "params:":
                break
            header.append(token)
        pins = tuple(self.pins) + tuple(r.pin for r in self.rails)
        if tuple(header) != pins:
            raise ConfigError(f"block {self.name}", f"its .subckt line lists pins ({' '.join(header)}) but the "
                              f"block declares ({' '.join(pins)})")
        known = set(pins) | {GROUND}
        for pair in self.dc_paths:
            for pin in pair:
                if pin not in known:
                    raise ConfigError(f"block {self.name}", f"DC path {pair} names {pin!r}, which is not one of its "
                                      f"pins ({' '.join(self.pins)}) or ground '0'")
        net.subcircuit(self.name, text, pins, self.dc_paths)
        define_rails(net, self.rails)

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        element = net.instance("X" + name, tuple(nodes) + tuple(r.node for r in self.rails), self.name)
        declare_supplies(net, self, element)
        return element


class UniformCodes:
    """Mixin of a converter block whose settings (``self.config``: ``bits``, ``v_min``, ``v_max`` volts) give
    2**bits codes evenly spaced over [v_min, v_max]: code k stands for ``v_min + k * lsb``."""

    @property
    def levels(self) -> int:
        """Number of codes, 2**bits."""
        return 1 << self.config.bits

    @property
    def lsb(self) -> float:
        """Volts per code step: (v_max - v_min) / (2**bits - 1)."""
        return (self.config.v_max - self.config.v_min) / (self.levels - 1)
