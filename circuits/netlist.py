"""A circuit as objects, rendered to ngspice netlist text in one place.

Every name and node is validated when it is added, so nothing a user supplies can break out of
its line (a newline, a ``.control`` card, a comment or a continuation) and be run by ngspice.
The same object feeds the structure checker (networkx) and the session (which reads the list
of memristors and their state nodes from it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from memcosim.errors import NetlistError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_NODE = re.compile(r"[A-Za-z0-9_]+\Z")
GROUND = "0"


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


def fmt(value: float, what: str = "value") -> str:
    """Render a finite number for a netlist (12 significant digits, deterministic)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetlistError(f"{what} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise NetlistError(f"{what} must be finite, got {value!r}")
    text = f"{v:.12g}"
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class Element:
    """One netlist line: ``name node... rest``. ``kind`` is what the element is, in words."""

    name: str
    nodes: tuple[str, ...]
    rest: str
    kind: str

    def render(self) -> str:
        return " ".join((self.name, *self.nodes, self.rest)).rstrip()


@dataclass(frozen=True)
class Memristor:
    """An OSDI memristor instance: top electrode, bottom electrode and its state node."""

    name: str
    top: str
    bottom: str
    state_node: str
    model: str  # device model (Verilog-A module) name
    card: str  # the .model card name it uses
    params: tuple[tuple[str, float], ...]


@dataclass
class Netlist:
    """An ngspice circuit: title, options, model cards, sub-circuits and elements."""

    title: str = "memcosim circuit"
    options: dict[str, str] = field(default_factory=lambda: {"klu": ""})
    elements: list[Element] = field(default_factory=list)
    memristors: list[Memristor] = field(default_factory=list)
    model_cards: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = field(default_factory=dict)
    subcircuits: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    _names: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not re.fullmatch(r"[A-Za-z0-9 _\-.,:()x=/+]*", self.title):
            raise NetlistError(f"title {self.title!r} may hold letters, digits, spaces and - _ . , : ( ) x = / + only")

    # -- building ---------------------------------------------------------------------
    def add(self, name: str, nodes: tuple[str, ...] | list[str], rest: str, kind: str) -> Element:
        """Add a raw element line (the name's first letter is its SPICE type)."""
        check_name(name, f"{kind} name")
        key = name.lower()
        if key in self._names:
            raise NetlistError(f"duplicate element name {name!r}")
        element = Element(name, tuple(check_node(n) for n in nodes), rest, kind)
        self._names.add(key)
        self.elements.append(element)
        return element

    def resistor(self, name: str, a: str, b: str, ohms: float) -> Element:
        """A resistor of ``ohms`` (must be > 0)."""
        if not ohms > 0:
            raise NetlistError(f"resistor {name}: resistance must be > 0 ohm, got {ohms!r}")
        return self.add(_prefixed("R", name), (a, b), fmt(ohms, f"resistor {name}"), "resistor")

    def capacitor(self, name: str, a: str, b: str, farads: float) -> Element:
        if not farads > 0:
            raise NetlistError(f"capacitor {name}: capacitance must be > 0 F, got {farads!r}")
        return self.add(_prefixed("C", name), (a, b), fmt(farads, f"capacitor {name}"), "capacitor")

    def voltage_source(self, name: str, plus: str, minus: str, dc: float = 0.0) -> Element:
        """An independent voltage source whose value (volts) the session sets each step."""
        return self.add(_prefixed("V", name), (plus, minus), f"dc {fmt(dc, f'source {name}')}", "voltage source")

    def current_source(self, name: str, plus: str, minus: str, dc: float = 0.0) -> Element:
        """An independent current source (amperes, flowing from ``plus`` through the source to ``minus``)."""
        return self.add(_prefixed("I", name), (plus, minus), f"dc {fmt(dc, f'source {name}')}", "current source")

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

    def memristor(
        self, name: str, top: str, bottom: str, state_node: str, model: str, card: str | None = None,
        **instance_params: float,
    ) -> Memristor:
        """An OSDI memristor (``N`` element) of device model ``model`` with its state node."""
        card = card or f"{model}_model"
        if card not in self.model_cards:
            self.model_card(card, model)
        params = tuple(sorted((check_name(k, "instance parameter"), float(v)) for k, v in instance_params.items()))
        rest = " ".join([card] + [f"{k}={fmt(v, f'{name} {k}')}" for k, v in params])
        element = self.add(_prefixed("N", name), (top, bottom, state_node), rest, "memristor")
        m = Memristor(element.name, top, bottom, state_node, model, card, params)
        self.memristors.append(m)
        return m

    def subcircuit(self, name: str, text: str) -> None:
        """A ``.subckt`` definition (text from a memcosim generator, not from users)."""
        check_name(name, "subcircuit name")
        if ".control" in text.lower() or ".endc" in text.lower():
            raise NetlistError(f"subcircuit {name}: control blocks are not allowed in a netlist")
        self.subcircuits[name] = text

    def instance(self, name: str, nodes: tuple[str, ...] | list[str], subckt: str, **params: float) -> Element:
        """An instance (``X`` element) of a sub-circuit defined with :meth:`subcircuit`."""
        if subckt not in self.subcircuits:
            raise NetlistError(f"instance {name}: unknown subcircuit {subckt!r}")
        rest = " ".join([subckt] + [f"{check_name(k, 'parameter')}={fmt(v, f'{name} {k}')}" for k, v in sorted(params.items())])
        return self.add(_prefixed("X", name), tuple(nodes), rest, f"instance of {subckt}")

    def comment(self, text: str) -> None:
        if "\n" in text or "\r" in text:
            raise NetlistError("a comment must be a single line")
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
            opts = " ".join(k if v == "" else f"{k}={v}" for k, v in self.options.items())
            lines.append(f".options {opts}")
        for card, (model_type, params) in self.model_cards.items():
            body = " ".join(f"{k}={fmt(v)}" for k, v in params)
            lines.append(f".model {card} {model_type}{(' ' + body) if body else ''}")
        for text in self.subcircuits.values():
            lines.append(text.rstrip("\n"))
        lines += [e.render() for e in self.elements]
        lines.append(".end")
        return "\n".join(lines) + "\n"


def _prefixed(letter: str, name: str) -> str:
    """``name`` with the SPICE type letter in front unless it already starts with it."""
    return name if name[:1].upper() == letter else f"{letter}{name}"
