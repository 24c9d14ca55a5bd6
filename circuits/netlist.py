"""A circuit as objects, rendered to ngspice netlist text in one place.

Every name and node is validated when it is added, so nothing a user supplies can break out of
its line (a newline, a ``.control`` card, a comment or a continuation) and be run by ngspice.
The same object feeds the structure checker (networkx) and the session (which reads the list
of memristors and their state nodes from it).
"""

from __future__ import annotations

import gc
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Iterator, NamedTuple

import numpy as np

from memcosim.config.blocks import SUPPLY_GROUP_NAME
from memcosim.errors import NetlistError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_NODE = re.compile(r"[A-Za-z0-9_]+\Z")
GROUND = "0"
# Anything that is not printable ASCII: control characters, and every character Python's
# str.splitlines() (used when a netlist is handed to ngspice) treats as a line break.
_UNSAFE_CHAR = re.compile(r"[^\x20-\x7e]")
_UNSAFE_IN_TEXT = re.compile(r"[^\x20-\x7e\n]")  # the same, line feeds allowed (whole netlists)
_OPTION_VALUE = re.compile(r"[A-Za-z0-9_.+\-]*\Z")
# Dot cards a rendered netlist may hold; anything else (``.control``, ``.include``, ``.lib``,
# ``.exec``, ``.endc`` ...) is refused, so no text can run commands or read files in ngspice.
_DOT_CARDS = frozenset({".options", ".option", ".opt", ".model", ".subckt", ".ends", ".param", ".end", ".global"})
_DOT_LINE = re.compile(r"\n[ \t]*(\.[A-Za-z_]*)")


def is_spice_name(name: object) -> bool:
    """True if ``name`` is a safe SPICE identifier: a letter, then letters, digits or ``_``."""
    return isinstance(name, str) and _NAME.match(name) is not None


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a safe SPICE identifier (letter, then letters, digits, ``_``)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise NetlistError(
            f"{what} {name!r} is not allowed: use a letter followed by letters, digits or '_' "
            "(no spaces, dots, newlines or control characters)"
        )
    return name


def check_node(node: str) -> str:
    """Return ``node`` if it is a safe node name (letters, digits, ``_``; ``0`` is ground)."""
    if not isinstance(node, str) or not _NODE.match(node):
        raise NetlistError(f"node name {node!r} is not allowed: use letters, digits or '_'")
    return node


def check_text(text: str, what: str = "text") -> str:
    """Return ``text`` if it is one line of printable ASCII (no control characters or line breaks)."""
    if not isinstance(text, str):
        raise NetlistError(f"{what} must be text, got {text!r}")
    bad = _UNSAFE_CHAR.search(text)
    if bad:
        raise NetlistError(f"{what} {text!r} holds the character {bad.group()!r} at {bad.start()}: "
                           "only printable ASCII on one line is allowed in a netlist")
    return text


def check_option(key: str, value: object) -> str:
    """A simulator option as ``.options`` text: ``key`` an identifier, ``value`` a number or a plain word."""
    check_name(key, "simulator option")
    if not isinstance(value, str):
        return fmt(value, f"option {key}")
    if not _OPTION_VALUE.match(value):
        raise NetlistError(f"option {key}: value {value!r} may hold letters, digits and _ . + - only")
    return value


def check_rendered(text: str, libraries: frozenset[str] = frozenset()) -> str:
    """Refuse netlist text that ngspice could run as commands: non-ASCII or control characters,
    or a dot card other than ``.options``, ``.model``, ``.subckt``/``.ends``, ``.param``, ``.global``, ``.end``.
    ``libraries`` are the exact ``.lib`` / ``.include`` lines the netlist declared
    (:meth:`Netlist.library`); no other line may read a file."""
    bad = _UNSAFE_IN_TEXT.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise NetlistError(f"netlist line {line} holds the character {bad.group()!r}: only printable ASCII is allowed")
    for m in _DOT_LINE.finditer("\n" + text):
        if m.group(1).lower() not in _DOT_CARDS:
            if libraries and _line_at(text, m.start()) in libraries:
                continue
            line = text.count("\n", 0, m.start()) + 1
            raise NetlistError(f"netlist line {line}: the card {m.group(1)!r} is not allowed "
                               f"(control blocks, includes and libraries cannot be put in a memcosim netlist)")
    return text


def _line_at(text: str, start: int) -> str:
    """The whole line of ``text`` that begins at offset ``start``."""
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


class ModelLibrary(NamedTuple):
    """A model file a netlist reads: ``.lib "path" section``, or ``.include "path"`` without a section.
    ``path`` is absolute; the file was checked by whoever declared it
    (:mod:`memcosim.circuits.spice_files`)."""

    path: str
    section: str = ""

    def render(self) -> str:
        return f'.lib "{self.path}" {self.section}' if self.section else f'.include "{self.path}"'


def fmt(value: float, what: str = "value") -> str:
    """Render a finite number for a netlist (12 significant digits, deterministic)."""
    if value.__class__ is float and math.isfinite(value):  # fast path: the common case
        text = f"{value:.12g}"
        return "0" if text == "-0" else text
    if isinstance(value, (np.floating, np.integer)):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetlistError(f"{what} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise NetlistError(f"{what} must be finite, got {value!r}")
    text = f"{v:.12g}"
    return "0" if text == "-0" else text


class Element(NamedTuple):
    """One netlist line: ``name node... rest``. ``kind`` is what the element is, in words.

    Kinds the structure checker knows: ``resistor``, ``wire``, ``cell resistor``, ``capacitor``,
    ``voltage source``, ``current source``, ``vcvs`` (nodes: out+, out-, control+, control-),
    ``memristor`` (top, bottom, state node), ``access transistor`` (drain, gate, source, bulk)
    and ``instance of <subckt>``.
    """

    name: str
    nodes: tuple[str, ...]
    rest: str
    kind: str

    def render(self) -> str:
        return " ".join((self.name, *self.nodes, self.rest)).rstrip()


def module_name(model: str) -> str:
    """The Verilog-A module of device model ``model``: the name itself, or the stem of a ``.va`` path."""
    if isinstance(model, str) and model.endswith(".va"):
        check_text(model, "device model path")
        return check_name(PurePath(model).stem, "Verilog-A module name (the .va file's stem)")
    return check_name(model, "device model name")


class Memristor(NamedTuple):
    """An OSDI memristor instance: top electrode, bottom electrode and its state node."""

    name: str
    top: str
    bottom: str
    state_node: str
    model: str  # device model: a shipped model's name or a .va path (its module is the file's stem)
    card: str  # the .model card name it uses
    params: tuple[tuple[str, float], ...]


class Supply(NamedTuple):
    """An element that delivers energy into the circuit, in supply group ``group`` (``tia``, ``dac``, ...).

    ``element`` is a top-level element name (``VPROW0``) or, for an element inside a sub-circuit
    instance, ``<instance>.<element>`` (``XTIA0.Eamp``); ``plus`` / ``minus`` are its terminals, top-level
    nodes or ``<instance>.<node>`` for a node inside the instance. The element is an independent or
    controlled voltage source (``V``, ``E``: its branch current) or an independent or controlled current
    source (``I``, ``G``).
    The power it delivers is ``-V(plus, minus) * I`` watts, ``I`` flowing from ``plus`` through the element
    to ``minus``.
    """

    group: str
    element: str
    plus: str
    minus: str

    @property
    def current_vector(self) -> str:
        """The ngspice vector of the element's current (amperes, from plus through it to minus)."""
        *inst, name = self.element.lower().split(".")
        path = ".".join([name[0], *inst, name]) if inst else name
        if name[0] == "i":
            return f"@{path}[current]"
        return f"@{path}[i]" if name[0] == "g" else f"{path}#branch"

    @property
    def voltage_vectors(self) -> tuple[str, ...]:
        """The ngspice vectors of its non-ground terminals (volts)."""
        return tuple(n.lower() for n in (self.plus, self.minus) if n != GROUND)

    def renamed(self, prefix: str) -> "Supply":
        """The same supply in a netlist whose element and instance names carry ``prefix`` after their type
        letter and whose top-level nodes start with ``prefix`` (as :func:`memcosim.cosim.layer.merge_crossbars`)."""
        def element(name: str) -> str:
            return name[0] + prefix + name[1:]

        def node(n: str) -> str:
            return n if n == GROUND else (element(n) if "." in n else prefix + n)

        return Supply(self.group, element(self.element), node(self.plus), node(self.minus))




@dataclass
class Netlist:
    """An ngspice circuit: title, options, model cards, sub-circuits and elements.

    ``supplies`` names every element that delivers energy, by supply group (:meth:`supply`); it is not
    rendered: the session reads it to integrate each group's energy over a transient."""

    title: str = "memcosim circuit"
    options: dict[str, str] = field(default_factory=lambda: {"klu": ""})
    elements: list[Element] = field(default_factory=list)
    memristors: list[Memristor] = field(default_factory=list)
    model_cards: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = field(default_factory=dict)
    subcircuits: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    # pins of each sub-circuit and which pin pairs conduct at DC ("0" is ground), for the checker
    subcircuit_pins: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    # nodes that belong to a row or column line: node -> ("row", i) or ("column", j)
    line_nodes: dict[str, tuple[str, int]] = field(default_factory=dict)
    # model files read before the model cards (declared with library()), and .param values they need
    libraries: list[ModelLibrary] = field(default_factory=list)
    parameters: dict[str, float] = field(default_factory=dict)
    # sub-circuits a library defines: name -> pins, so that instances of them can be placed
    external_subcircuits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    supplies: list[Supply] = field(default_factory=list)
    _names: set[str] = field(default_factory=set, repr=False)
    _nodes: set[str] = field(default_factory=set, repr=False)
    _supply_names: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not re.fullmatch(r"[A-Za-z0-9 _\-.,:()x=/+]*", self.title):
            raise NetlistError(f"title {self.title!r} may hold letters, digits, spaces and - _ . , : ( ) x = / + only")
        if self.title.lstrip().startswith("."):
            raise NetlistError(f"title {self.title!r} must not start with '.'")

    # -- building ---------------------------------------------------------------------
    def add(self, name: str, nodes: tuple[str, ...] | list[str], rest: str, kind: str) -> Element:
        """Add a raw element line (the name's first letter is its SPICE type)."""
        if name.__class__ is not str or not _NAME.match(name):
            check_name(name, f"{kind} name")
        key = name.lower()
        if key in self._names:
            raise NetlistError(f"duplicate element name {name!r}")
        if rest.__class__ is not str or _UNSAFE_CHAR.search(rest):
            check_text(rest, f"{kind} {name} value")
        known = self._nodes
        for n in nodes:
            if n not in known:
                known.add(check_node(n))
        element = Element(name, tuple(nodes), rest, kind)
        self._names.add(key)
        self.elements.append(element)
        return element

    def resistor(self, name: str, a: str, b: str, ohms: float, kind: str = "resistor") -> Element:
        """A resistor of ``ohms`` (must be > 0); ``kind`` may say more (``wire``, ``cell resistor``)."""
        if not ohms > 0:
            raise NetlistError(f"resistor {name}: resistance must be > 0 ohm, got {ohms!r}")
        return self.add(_prefixed("R", name), (a, b), _fast(ohms) or fmt(ohms, f"resistor {name}"), kind)

    def capacitor(self, name: str, a: str, b: str, farads: float) -> Element:
        if not farads > 0:
            raise NetlistError(f"capacitor {name}: capacitance must be > 0 F, got {farads!r}")
        return self.add(_prefixed("C", name), (a, b), _fast(farads) or fmt(farads, f"capacitor {name}"), "capacitor")

    def voltage_source(self, name: str, plus: str, minus: str, dc: float = 0.0) -> Element:
        """An independent voltage source whose value (volts) the session sets each step."""
        return self.add(_prefixed("V", name), (plus, minus), f"dc {fmt(dc, f'source {name}')}", "voltage source")

    def current_source(self, name: str, plus: str, minus: str, dc: float = 0.0) -> Element:
        """An independent current source (amperes, flowing from ``plus`` through the source to ``minus``)."""
        return self.add(_prefixed("I", name), (plus, minus), f"dc {fmt(dc, f'source {name}')}", "current source")

    def vcvs(self, name: str, plus: str, minus: str, control_plus: str, control_minus: str, gain: float) -> Element:
        """A voltage-controlled voltage source: V(plus, minus) = gain * V(control_plus, control_minus)."""
        return self.add(
            _prefixed("E", name), (plus, minus, control_plus, control_minus), fmt(gain, f"vcvs {name} gain"), "vcvs"
        )

    def mosfet(self, name: str, drain: str, gate: str, source: str, bulk: str, card: str, w: float, l: float) -> Element:
        """A MOSFET (``M`` element) of ``.model`` card ``card``; width and length in metres."""
        if card not in self.model_cards:
            raise NetlistError(f"transistor {name}: unknown model card {card!r}")
        rest = f"{card} w={_fast(w) or fmt(w, f'{name} w')} l={_fast(l) or fmt(l, f'{name} l')}"
        return self.add(_prefixed("M", name), (drain, gate, source, bulk), rest, "access transistor")

    def model_card(self, card: str, model_type: str, **params: float) -> None:
        """A ``.model`` card; for an OSDI device ``model_type`` is the Verilog-A module name."""
        check_name(card, "model card name")
        check_name(model_type, "model type")
        items = tuple(sorted((check_name(k, "model parameter"), float(v)) for k, v in params.items()))
        for k, v in items:
            fmt(v, f"model {card} parameter {k}")
        previous = self.model_cards.get(card)
        if previous is not None and previous != (model_type, items):
            raise NetlistError(f"model card {card!r} defined twice with different contents")
        self.model_cards[card] = (model_type, items)

    def stores_charge(self) -> bool:
        """Whether anything besides the memristors' own state carries charge or flux from one instant to the
        next: a capacitor or inductor element, a diode card with junction or transit-time charge (``cj*``,
        ``tt``), any other semiconductor card (transistors), a sub-circuit definition with a capacitor,
        inductor or semiconductor line, or model files read as a library (not inspected). Without any of them
        every node voltage follows the sources at once: with all sources at 0 V, every node is at 0 V."""
        if self.libraries or any(e.name[:1].upper() in "CL" for e in self.elements):
            return True
        for text in self.subcircuits.values():
            if any(line.lstrip()[:1].upper() in "CLDMQJ" for line in text.splitlines()):
                return True
        memristor_cards = {m.card for m in self.memristors}
        for card, (model_type, params) in self.model_cards.items():
            if card in memristor_cards:
                continue
            if model_type.upper() != "D":
                return True
            if any((k.lower().startswith("cj") or k.lower() == "tt") and v != 0.0 for k, v in params):
                return True
        return False

    def memristor(
        self, name: str, top: str, bottom: str, state_node: str, model: str, card: str | None = None,
        **instance_params: float,
    ) -> Memristor:
        """An OSDI memristor (``N`` element) of device model ``model`` (a name or a ``.va`` path) with its state node."""
        module = module_name(model)
        card = card or f"{module}_model"
        if card not in self.model_cards:
            self.model_card(card, module)
        if len(instance_params) == 1 and "x0" in instance_params:  # fast path: the common case
            x0 = instance_params["x0"]
            params: tuple[tuple[str, float], ...] = (("x0", float(x0)),)
            rest = f"{card} x0={_fast(x0) or fmt(x0, name + ' x0')}"
        else:
            params = tuple(sorted((check_name(k, "instance parameter"), float(v)) for k, v in instance_params.items()))
            rest = " ".join([card] + [f"{k}={fmt(v, f'{name} {k}')}" for k, v in params])
        element = self.add(name if name[:1] in "Nn" else "N" + name, (top, bottom, state_node), rest, "memristor")
        m = Memristor(element.name, top, bottom, state_node, model, card, params)
        self.memristors.append(m)
        return m

    def subcircuit(
        self, name: str, text: str, pins: tuple[str, ...] | None = None,
        paths: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        """A ``.subckt`` definition (text from a memcosim generator, not from users).

        ``pins`` names its ports in order and ``paths`` the port pairs joined by a DC path
        (``"0"`` for ground); the structure checker uses them. Without them every port is
        taken to conduct to every other.
        """
        check_name(name, "subcircuit name")
        if ".control" in text.lower() or ".endc" in text.lower():
            raise NetlistError(f"subcircuit {name}: control blocks are not allowed in a netlist")
        if not isinstance(text, str) or _UNSAFE_IN_TEXT.search(text):
            raise NetlistError(f"subcircuit {name}: only printable ASCII lines are allowed")
        try:
            check_rendered(text)
        except NetlistError as exc:
            raise NetlistError(f"subcircuit {name}: {exc}") from None
        first = text.lstrip().split(None, 2)
        if len(first) < 2 or first[0].lower() != ".subckt" or first[1] != name:
            raise NetlistError(f"subcircuit {name}: the text must start with '.subckt {name}'")
        self.subcircuits[name] = text
        if pins is not None:
            self.subcircuit_pins[name] = (tuple(pins), tuple(paths or ()))

    def library(self, path: str, section: str = "") -> ModelLibrary:
        """Read model file ``path`` (absolute, an existing file, checked for control lines by the caller:
        :func:`memcosim.circuits.spice_files.check_library`) with ``.lib "path" section``, or with
        ``.include "path"`` when ``section`` is empty. Each file and section is read once."""
        check_text(path, "model library path")
        if '"' in path or not PurePath(path).is_absolute():
            raise NetlistError(f"model library {path!r} must be an absolute path without quotes")
        if section:
            check_name(section, f"section of model library {path}")
        lib = ModelLibrary(path, section)
        if lib not in self.libraries:
            self.libraries.append(lib)
        return lib

    def parameter(self, name: str, value: float) -> None:
        """A global ``.param name=value`` (a value the model libraries read)."""
        check_name(name, "parameter name")
        previous = self.parameters.get(name)
        v = float(fmt(value, f"parameter {name}"))
        if previous is not None and previous != v:
            raise NetlistError(f"parameter {name!r} set twice with different values ({previous}, {v})")
        self.parameters[name] = v

    def external_subcircuit(self, name: str, pins: tuple[str, ...],
                            paths: tuple[tuple[str, str], ...] | None = None) -> None:
        """Declare sub-circuit ``name`` with ``pins`` that a model library (:meth:`library`) defines, so
        that :meth:`instance` may place it; ``paths`` as for :meth:`subcircuit`."""
        check_name(name, "subcircuit name")
        if name in self.subcircuits:
            raise NetlistError(f"subcircuit {name}: defined in the netlist and in a model library")
        self.external_subcircuits[name] = tuple(pins)
        self.subcircuit_pins[name] = (tuple(pins), tuple(paths or ()))

    def instance(self, name: str, nodes: tuple[str, ...] | list[str], subckt: str, **params: float) -> Element:
        """An instance (``X`` element) of a sub-circuit defined with :meth:`subcircuit` or declared with
        :meth:`external_subcircuit`."""
        if subckt not in self.subcircuits and subckt not in self.external_subcircuits:
            raise NetlistError(f"instance {name}: unknown subcircuit {subckt!r}")
        rest = " ".join([subckt] + [f"{check_name(k, 'parameter')}={fmt(v, f'{name} {k}')}" for k, v in sorted(params.items())])
        return self.add(_prefixed("X", name), tuple(nodes), rest, f"instance of {subckt}")

    def supply(self, group: str, element: str, plus: str, minus: str) -> Supply:
        """Declare that ``element`` (see :class:`Supply`) delivers energy in supply group ``group``
        (lower-case letters, digits, ``_``); an element is declared once."""
        if not isinstance(group, str) or not SUPPLY_GROUP_NAME.match(group):
            raise NetlistError(f"supply group {group!r} of {element}: use lower-case letters, digits or '_'")
        parts = element.split(".")
        if len(parts) > 2 or not all(_NAME.match(p) for p in parts) or parts[-1][0].lower() not in "veig":
            raise NetlistError(f"supply {element!r} (group {group}): must name a V, E, I or G element, top-level or "
                               "<instance>.<element>")
        key = element.lower()
        if key in self._supply_names:
            raise NetlistError(f"supply {element!r} declared twice")
        for n in (plus, minus):
            for part in n.split("."):
                check_node(part)
        supply = Supply(group, element, plus, minus)
        self.supplies.append(supply)
        self._supply_names.add(key)
        return supply

    def comment(self, text: str) -> None:
        """A ``*`` comment line: one line of printable ASCII."""
        if not isinstance(text, str) or "\n" in text or "\r" in text:
            raise NetlistError("a comment must be a single line")
        check_text(text, "comment")
        if text.rstrip().endswith("\\"):
            raise NetlistError(f"comment {text!r} must not end with a backslash (a line continuation)")
        self.comments.append(text)

    # -- reading ----------------------------------------------------------------------
    @property
    def device_models(self) -> list[str]:
        """Verilog-A models this circuit needs loaded, sorted."""
        return sorted({m.model for m in self.memristors})

    def find(self, name: str) -> Element:
        for e in self.elements:
            if e.name.lower() == name.lower():
                return e
        raise NetlistError(f"no element named {name!r}")

    def render(self) -> str:
        """The netlist as ngspice text. Deterministic: the same circuit gives the same bytes."""
        lines = [self.title]
        lines += [f"* {c}" for c in self.comments]
        if self.options:
            opts = " ".join(k if v == "" else f"{k}={check_option(k, v)}" for k, v in self.options.items()
                            if check_name(k, "simulator option"))
            lines.append(f".options {opts}")
        lines += [f".param {k}={fmt(v)}" for k, v in self.parameters.items()]
        declared = [lib.render() for lib in self.libraries]
        lines += declared
        for card, (model_type, params) in self.model_cards.items():
            body = " ".join(f"{k}={fmt(v)}" for k, v in params)
            lines.append(f".model {card} {model_type}{(' ' + body) if body else ''}")
        for text in self.subcircuits.values():
            lines.append(text.rstrip("\n"))
        lines += [e.render() for e in self.elements]
        lines.append(".end")
        return check_rendered("\n".join(lines) + "\n", frozenset(declared))


def _fast(value: object) -> str | None:
    """:func:`fmt` of a plain finite float, else None (then call :func:`fmt` for the checks)."""
    if value.__class__ is float and math.isfinite(value):
        text = f"{value:.12g}"
        return "0" if text == "-0" else text
    return None


def _prefixed(letter: str, name: str) -> str:
    """``name`` with the SPICE type letter in front unless it already starts with it."""
    return name if name[:1].upper() == letter else f"{letter}{name}"


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (restored on exit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def order_for_klu(net: Netlist) -> None:
    """Put ``net``'s elements in reverse order of construction. ngspice numbers the nodes in the order they
    first appear, and KLU's fill-reducing ordering of the circuit matrix breaks its many ties on a regular
    mesh by that numbering. On the wired crossbars of the EP network (:mod:`memcosim.circuits.ep_network`),
    built row by row with the cells last, the reverse order has 1.7-3.5x fewer fill-in non-zeros (64-32-10
    network: 252 thousand instead of 872 thousand; ``docs/ep_digits_pulse/timing.md``), so each
    factorization of each operating point and time step costs that much less. The circuit is the same; the
    memristors' order (``net.memristors``: a session's device and state order) does not change."""
    net.elements.reverse()
