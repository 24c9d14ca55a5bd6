"""Switching tables of the device models: the state under a constant voltage at set times, simulated in ngspice.

These are the numbers ``verilog_a/README.md`` shows for a model's switching kinetics. Each row is
the drive of one device (top electrode driven, bottom grounded) from a start state under a constant
voltage (volts, reached 0.1 ns after t = 0), run as one transient from each of the table's times
(seconds) to the next with the state carried over, each with a maximum time step of 1/500 of its
span. A row spans five decades of time: one transient over all of it, even with time steps of at
most 1/500 of its length (2 us for 1 ms), misses the steep part of a switching curve (a RESET then
ends at the lower bound instead of on its slow tail).
:func:`replace_table` puts a rendered table between its README markers, :func:`readme_table` reads one
back (``memcosim model-tables`` does both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from memcosim.circuits.netlist import Netlist
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Pwl, SessionOptions
from memcosim.errors import ConfigError

RISE = 1e-10  # s, from 0 V to the drive voltage
STEPS = 500  # time steps per transient (at least: ngspice may take more)


@dataclass(frozen=True)
class SwitchingRow:
    """One drive: ``amplitude`` volts from state ``start`` (model state units)."""

    amplitude: float
    start: float


@dataclass(frozen=True)
class SwitchingTable:
    """The rows of one model's table and the times (seconds, ascending) its states are read at."""

    model: str
    rows: tuple[SwitchingRow, ...]
    times: tuple[float, ...]

    @property
    def marker(self) -> str:
        """Name of the README markers around this table."""
        return f"switching-table {self.model}"


HALF_DECADES = tuple(float(f"{m * 10.0 ** e:.3g}") for e in range(-8, -3) for m in (1, 3)) + (1e-3,)  # 10 ns ... 1 ms
TABLES = {
    "jart_vcm": SwitchingTable("jart_vcm", tuple(SwitchingRow(v, 0.008) for v in (1.0, 1.2, 1.3, 1.4, 1.5))
                               + tuple(SwitchingRow(v, 20.0) for v in (-1.0, -1.1, -1.2)), HALF_DECADES),
}


def simulate_row(model: str, row: SwitchingRow, times: tuple[float, ...]) -> np.ndarray:
    """States of one ``model`` device at ``times`` (seconds) under the constant drive of ``row``."""
    net = Netlist(f"switching {model}")
    net.voltage_source("V1", "p", "0", 0.0)
    net.memristor("N1", "p", "0", "x", model, x0=row.start)
    states = []
    with open_session(net, SessionOptions(worker=False)) as s:
        for start, end in zip((0.0, *times[:-1]), times):
            span = end - start
            wave = (Pwl((0.0, RISE, span), (0.0, row.amplitude, row.amplitude)) if start == 0.0
                    else Pwl((0.0, span), (row.amplitude, row.amplitude)))
            s.tran(span, span / STEPS, waveforms={"V1": wave}, max_step=span / STEPS)
            states.append(s.states[0])
    return np.array(states)


def simulate(table: SwitchingTable) -> np.ndarray:
    """States (rows x times) of ``table``."""
    return np.array([simulate_row(table.model, row, table.times) for row in table.rows])


def _time(t: float) -> str:
    for unit, scale in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if t >= scale * (1 - 1e-9):
            return f"{t / scale:.3g} {unit}"
    return f"{t:g} s"


def render(table: SwitchingTable, states: np.ndarray) -> str:
    """The markdown table: one row per drive, one column per time, states to 3 significant digits."""
    head = "| V(p,n) | from | " + " | ".join(_time(t) for t in table.times) + " |"
    rule = "|" + "---|" * (len(table.times) + 2)
    lines = [head, rule]
    for row, values in zip(table.rows, states):
        volts = f"{row.amplitude:+g}" + ("" if "." in f"{row.amplitude:g}" else ".0")
        lines.append(f"| {volts} V | {row.start:g} | " + " | ".join(f"{v:.3g}" for v in values) + " |")
    return "\n".join(lines)


def _span(text: str, table: SwitchingTable) -> re.Match:
    m = re.search(rf"<!-- {re.escape(table.marker)} -->\n(.*?)<!-- end {re.escape(table.marker)} -->", text, re.DOTALL)
    if m is None:
        raise ConfigError("readme", f"no '<!-- {table.marker} -->' ... '<!-- end {table.marker} -->' markers")
    return m


def readme_table(text: str, table: SwitchingTable) -> np.ndarray:
    """The states (rows x times) that README ``text`` shows between ``table``'s markers."""
    body = _span(text, table).group(1).strip().splitlines()[2:]
    try:
        return np.array([[float(cell) for cell in line.strip().strip("|").split("|")[2:]] for line in body])
    except ValueError as exc:
        raise ConfigError("readme", f"the {table.marker} table holds a cell that is not a number: {exc}") from None


def replace_table(text: str, table: SwitchingTable, markdown: str) -> str:
    """README ``text`` with ``markdown`` between ``table``'s markers."""
    m = _span(text, table)
    return text[: m.start(1)] + markdown + "\n" + text[m.end(1):]
