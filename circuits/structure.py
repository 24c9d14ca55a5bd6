"""Structure checks of a netlist with networkx, run before any simulation.

* no floating node: every node has a DC path to ground (capacitors, current sources, gates and
  control inputs do not count as paths);
* no node with a single connection, except a memristor's state node (owned by the device);
* every cell (memristor or cell resistor, with its access transistor) lies between exactly one
  row line and one column line (when the netlist marks its line nodes);
* every independent source is one the array declares, and every declared source exists.

A failure raises NetlistError naming the offending nodes, cells or sources.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import networkx as nx

from memcosim.circuits.netlist import GROUND, Element, Netlist, no_gc
from memcosim.errors import NetlistError

_CELL_KINDS = ("memristor", "cell resistor", "access transistor")
_SHOWN = 12


def _paths(net: Netlist, e: Element) -> list[tuple[str, str]]:
    """Node pairs of ``e`` joined by a DC path."""
    n = e.nodes
    kind = e.kind
    if kind in ("resistor", "wire", "cell resistor", "voltage source"):
        return [(n[0], n[1])]
    if kind in ("capacitor", "current source"):
        return []
    if kind == "vcvs":
        return [(n[0], n[1])]
    if kind == "memristor":
        return [(n[0], n[1])]
    if kind == "access transistor":  # drain-source channel, junctions to the bulk; the gate is insulated
        return [(n[0], n[2]), (n[2], n[3])]
    if kind.startswith("instance of "):
        sub = kind[len("instance of "):]
        if sub in net.subcircuit_pins:
            pins, paths = net.subcircuit_pins[sub]
            where = dict(zip(pins, n))
            where[GROUND] = GROUND
            return [(where[a], where[b]) for a, b in paths]
    return list(zip(n, n[1:]))


def _state_nodes(net: Netlist) -> set[str]:
    return {m.state_node for m in net.memristors}


def _name_some(items: Iterable[str]) -> str:
    items = sorted(items, key=_natural)
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else "")


def _natural(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def structure_problems(net: Netlist, sources: Iterable[str] | None = None) -> list[str]:
    """Every structure problem of ``net``, one line each (empty when it is sound)."""
    problems: list[str] = []
    graph = nx.Graph()
    graph.add_node(GROUND)
    connections: Counter[str] = Counter()
    state = _state_nodes(net)
    edges: list[tuple[str, str]] = []
    for e in net.elements:
        connections.update(e.nodes)
        edges += _paths(net, e)
        if e.kind == "memristor":  # the device pins its state node (x0 in DC): a path of its own
            edges.append((e.nodes[2], GROUND))
    graph.add_edges_from(edges)
    graph.add_nodes_from(connections)

    floating = set(graph.nodes) - nx.node_connected_component(graph, GROUND)
    if floating:
        problems.append(f"floating nodes (no DC path to ground): {_name_some(floating)}")
    single = [n for n, k in connections.items() if k == 1 and n != GROUND and n not in state]
    if single:
        problems.append(f"nodes with a single connection: {_name_some(single)}")
    problems += _cell_problems(net)
    problems += _source_problems(net, sources)
    return problems


def _cell_problems(net: Netlist) -> list[str]:
    lines = net.line_nodes
    if not lines:
        return []
    # group cell elements that share a node off the lines (a memristor and its transistor)
    group_of_node: dict[str, int] = {}
    members: list[list[Element]] = []
    parent: list[int] = []

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for e in net.elements:
        if e.kind not in _CELL_KINDS:
            continue
        k = len(parent)
        parent.append(k)
        members.append([e])
        conducting = (e.nodes[0], e.nodes[2]) if e.kind == "access transistor" else e.nodes[:2]
        for node in conducting:
            if node in lines or node == GROUND:
                continue
            other = group_of_node.setdefault(node, k)
            if other != k:
                a, b = root(other), root(k)
                if a != b:
                    parent[b] = a
    cells: dict[int, list[Element]] = {}
    for k, group in enumerate(members):
        cells.setdefault(root(k), []).extend(group)
    bad = []
    for group in cells.values():
        touched: set[tuple[str, int]] = set()
        for e in group:
            conducting = (e.nodes[0], e.nodes[2]) if e.kind == "access transistor" else e.nodes[:2]
            touched.update(lines[n] for n in conducting if n in lines)
        rows = {t for t in touched if t[0] == "row"}
        columns = {t for t in touched if t[0] == "column"}
        if len(rows) != 1 or len(columns) != 1:
            names = "+".join(e.name for e in group)
            where = ", ".join(f"{kind} {i}" for kind, i in sorted(touched)) or "no line"
            bad.append(f"{names} ({where})")
    if bad:
        return [f"cells not between exactly one row and one column line: {_name_some(bad)}"]
    return []


def _source_problems(net: Netlist, sources: Iterable[str] | None) -> list[str]:
    if sources is None:
        return []
    declared = {s.lower() for s in sources}
    present = {e.name.lower(): e.name for e in net.elements if e.kind in ("voltage source", "current source")}
    problems = []
    unreferenced = [name for key, name in present.items() if key not in declared]
    if unreferenced:
        problems.append(f"sources nothing drives or reads: {_name_some(unreferenced)}")
    missing = [s for s in sources if s.lower() not in present]
    if missing:
        problems.append(f"declared sources missing from the netlist: {_name_some(missing)}")
    return problems


def check_structure(net: Netlist, sources: Iterable[str] | None = None) -> None:
    """Raise NetlistError naming every problem :func:`structure_problems` finds."""
    with no_gc():
        problems = structure_problems(net, sources)
    if problems:
        raise NetlistError(f"structure check of '{net.title}' failed: " + "; ".join(problems))
