"""Independent reference: nodal analysis of a linear resistive network with scipy.

Used to check what ngspice computes and as the in-run yardstick for benchmarks. It is built
from the array description (not from netlist text), so a rendering mistake cannot hide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

Node = Hashable


@dataclass
class LinearNetwork:
    """Conductance branches between nodes (siemens), ideal links (0 ohm) and fixed node voltages (volts)."""

    branches: list[tuple[Node, Node, float]]
    links: list[tuple[Node, Node]]
    fixed: dict[Node, float]

    def _representatives(self) -> dict[Node, Node]:
        parent: dict[Node, Node] = {}

        def find(a: Node) -> Node:
            parent.setdefault(a, a)
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for a, b, _ in self.branches:
            find(a), find(b)
        for a in self.fixed:
            find(a)
        for a, b in self.links:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
        return {n: find(n) for n in list(parent)}

    def matrix(self) -> tuple[sp.csc_matrix, np.ndarray, dict[Node, int], dict[Node, Node], dict[Node, float]]:
        """The reduced conductance matrix G, right-hand side b, and the node bookkeeping."""
        rep = self._representatives()
        fixed: dict[Node, float] = {}
        for n, v in self.fixed.items():
            r = rep[n]
            if r in fixed and fixed[r] != v:
                raise ValueError(f"node {n!r} is tied to two different fixed voltages")
            fixed[r] = v
        free = sorted({r for r in rep.values() if r not in fixed}, key=repr)
        index = {r: k for k, r in enumerate(free)}
        n = len(free)
        rows, cols, vals = [], [], []
        b = np.zeros(n)
        for a, c, g in self.branches:
            ra, rc = rep[a], rep[c]
            if ra == rc:
                continue
            for x, y in ((ra, rc), (rc, ra)):
                if x in index:
                    k = index[x]
                    rows.append(k); cols.append(k); vals.append(g)
                    if y in index:
                        rows.append(k); cols.append(index[y]); vals.append(-g)
                    else:
                        b[k] += g * fixed[y]
        G = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
        return G, b, index, rep, fixed

    def source_matrix(self, nodes: list[Node]) -> sp.csc_matrix:
        """B with ``b = B @ v`` for the right-hand side of :meth:`matrix` when the fixed ``nodes`` are at
        voltages ``v`` (volts) and every other fixed node at 0 V: many right-hand sides, one factorization."""
        rep = self._representatives()
        fixed_reps = {rep[n] for n in self.fixed}
        free = sorted({r for r in rep.values() if r not in fixed_reps}, key=repr)
        index = {r: k for k, r in enumerate(free)}
        column = {}
        for k, n in enumerate(nodes):
            column.setdefault(rep[n], []).append(k)
        rows, cols, vals = [], [], []
        for a, c, g in self.branches:
            ra, rc = rep[a], rep[c]
            if ra == rc:
                continue
            for x, y in ((ra, rc), (rc, ra)):
                if x in index and y not in index:
                    for k in column.get(y, []):
                        rows.append(index[x]); cols.append(k); vals.append(g)
        return sp.csc_matrix((vals, (rows, cols)), shape=(len(free), len(nodes)))

    def solve(self) -> dict[Node, float]:
        """Voltage of every node (volts), by a sparse LU factorization."""
        G, b, index, rep, fixed = self.matrix()
        x = spla.splu(G).solve(b) if G.shape[0] else np.zeros(0)
        out = {}
        for node, r in rep.items():
            out[node] = fixed[r] if r in fixed else float(x[index[r]])
        return out


def crossbar_network(
    conductance: np.ndarray, v_rows: Iterable[float], r_row: float, r_column: float, r_driver: float,
    r_sense: float = 0.0, r_access: np.ndarray | float = 0.0,
) -> LinearNetwork:
    """The linear network of a crossbar (same layout as :mod:`memcosim.circuits.crossbar`).

    ``r_sense`` (ohm) joins each column's end to ground (0 = an ideal ammeter; a TIA of gain A
    and feedback Rf shows Rf / (1 + A)); ``r_access`` (ohm, scalar or per cell) is a resistor
    in series with each cell (an access transistor taken as a fixed resistance).
    """
    G = np.asarray(conductance, dtype=float)
    R, C = G.shape
    r_acc = np.broadcast_to(np.asarray(r_access, dtype=float), G.shape)
    v = np.asarray(list(v_rows), dtype=float)
    branches: list[tuple[Node, Node, float]] = []
    links: list[tuple[Node, Node]] = []
    fixed: dict[Node, float] = {}

    def wire(a: Node, b: Node, r: float) -> None:
        (branches.append((a, b, 1.0 / r)) if r > 0 else links.append((a, b)))

    for i in range(R):
        fixed[("drv", i)] = v[i]
        wire(("drv", i), ("row", i, 0), r_driver)
        for j in range(C - 1):
            wire(("row", i, j), ("row", i, j + 1), r_row)
    for j in range(C):
        for i in range(R - 1):
            wire(("col", i, j), ("col", i + 1, j), r_column)
        fixed[("gnd", j)] = 0.0
        wire(("col", R - 1, j), ("gnd", j), r_sense)
    for i in range(R):
        for j in range(C):
            if r_acc[i, j] > 0:  # cell then access resistor in series
                branches.append((("row", i, j), ("mid", i, j), G[i, j]))
                branches.append((("mid", i, j), ("col", i, j), 1.0 / r_acc[i, j]))
            else:
                branches.append((("row", i, j), ("col", i, j), G[i, j]))
    return LinearNetwork(branches, links, fixed)


@dataclass
class CrossbarSolution:
    column_currents: np.ndarray  # amperes, into each column's ammeter
    v_row: np.ndarray  # volts, row line at each cell
    v_column: np.ndarray  # volts, column line at each cell

    @property
    def cell_voltage(self) -> np.ndarray:
        """Voltage across each cell (volts)."""
        return self.v_row - self.v_column


def solve_crossbar(
    conductance: np.ndarray, v_rows: Iterable[float], r_row: float = 0.0, r_column: float = 0.0,
    r_driver: float = 0.0, r_sense: float = 0.0, r_access: np.ndarray | float = 0.0,
) -> CrossbarSolution:
    """Column currents and line voltages of a linear crossbar, by scipy nodal analysis (see :func:`crossbar_network`)."""
    G = np.asarray(conductance, dtype=float)
    R, C = G.shape
    volts = crossbar_network(G, v_rows, r_row, r_column, r_driver, r_sense, r_access).solve()
    vr = np.array([[volts[("row", i, j)] for j in range(C)] for i in range(R)])
    vc = np.array([[volts[("col", i, j)] for j in range(C)] for i in range(R)])
    # Current into each column's bottom node through the cells of that column (KCL on the line).
    g_eff = G if np.all(np.asarray(r_access) == 0) else 1.0 / (1.0 / G + np.broadcast_to(r_access, G.shape))
    currents = (g_eff * (vr - vc)).sum(axis=0)
    return CrossbarSolution(currents, vr, vc)


def solve_crossbar_batch(
    conductance: np.ndarray, v_rows: np.ndarray, r_row: float = 0.0, r_column: float = 0.0,
    r_driver: float = 0.0, r_sense: float = 0.0,
) -> np.ndarray:
    """Column currents (amperes, batch x columns) of a linear crossbar for every row-voltage vector of
    ``v_rows`` (batch x rows, volts): :func:`solve_crossbar` with one sparse LU factorization for the batch."""
    G = np.asarray(conductance, dtype=float)
    R, C = G.shape
    v = np.atleast_2d(np.asarray(v_rows, dtype=float))
    net = crossbar_network(G, np.zeros(R), r_row, r_column, r_driver, r_sense)
    M, _, index, rep, fixed = net.matrix()
    B = net.source_matrix([("drv", i) for i in range(R)])
    x = spla.splu(M).solve(np.asarray(B @ v.T))  # node voltages, free nodes x batch

    def volts(node: Node) -> np.ndarray:
        r = rep[node]
        if r in index:
            return x[index[r]]
        drivers = [i for i in range(R) if rep[("drv", i)] == r]
        return v[:, drivers[0]] if drivers else np.full(v.shape[0], fixed[r])

    currents = np.zeros((v.shape[0], C))
    for i in range(R):
        for j in range(C):
            currents[:, j] += G[i, j] * (volts(("row", i, j)) - volts(("col", i, j)))
    return currents
