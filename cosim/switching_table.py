"""Switching tables of the device models: the state under a constant voltage at set times, simulated in ngspice.

These are the numbers ``verilog_a/README.md`` shows for a model's switching kinetics (and, below, its
read conductances, :class:`ReadTable`, and the states after its preset pulses, :class:`PulseTable`). Each row is
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

from memcosim.circuits import waveforms
from memcosim.circuits.netlist import Netlist
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Pwl, SessionOptions
from memcosim.devices.catalog import get_device
from memcosim.devices.presets import get_preset
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
    label_columns = 2

    @property
    def marker(self) -> str:
        """Name of the README markers around this table."""
        return f"switching-table {self.model}"

    def simulate(self) -> np.ndarray:
        """States (rows x times)."""
        return simulate(self)

    def render(self, values: np.ndarray) -> str:
        return render(self, values)


HALF_DECADES = tuple(float(f"{m * 10.0 ** e:.3g}") for e in range(-8, -3) for m in (1, 3)) + (1e-3,)  # 10 ns ... 1 ms
TABLES = {
    "jart_vcm": SwitchingTable("jart_vcm", tuple(SwitchingRow(v, 0.008) for v in (1.0, 1.2, 1.3, 1.4, 1.5))
                               + tuple(SwitchingRow(v, 20.0) for v in (-1.0, -1.1, -1.2)), HALF_DECADES),
    "sky130_reram": SwitchingTable("sky130_reram", tuple(SwitchingRow(v, 3.3) for v in (2.0, 2.1, 2.2))
                                   + tuple(SwitchingRow(v, 4.9) for v in (-1.3, -1.5, -1.7)), HALF_DECADES),
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
        return np.array([[float(cell) for cell in line.strip().strip("|").split("|")[table.label_columns:]]
                         for line in body])
    except ValueError as exc:
        raise ConfigError("readme", f"the {table.marker} table holds a cell that is not a number: {exc}") from None


def replace_table(text: str, table: SwitchingTable, markdown: str) -> str:
    """README ``text`` with ``markdown`` between ``table``'s markers."""
    m = _span(text, table)
    return text[: m.start(1)] + markdown + "\n" + text[m.end(1):]


# -- read and pulse tables: the other model figures of verilog_a/README.md -------------------------

@dataclass(frozen=True)
class ReadTable:
    """Read conductance (siemens) of one ``model`` device at +``v_read`` and -``v_read`` volts at ``states``."""

    model: str
    v_read: float
    states: tuple[float, ...]
    label_columns = 1

    @property
    def marker(self) -> str:
        return f"read-table {self.model}"

    def simulate(self) -> np.ndarray:
        """Conductances (states x [+v_read, -v_read]) from ngspice operating points."""
        out = []
        for x in self.states:
            with open_session(_one_device(self.model, x), SessionOptions(worker=False)) as s:
                row = []
                for v in (self.v_read, -self.v_read):
                    s.set_sources({"V1": v})
                    row.append(float(-s.op(currents=["V1"])["V1"]) / v)
            out.append(row)
        return np.array(out)

    def render(self, values: np.ndarray) -> str:
        lines = [f"| state | G at +{self.v_read:g} V (S) | G at -{self.v_read:g} V (S) |", "|---|---|---|"]
        lines += [f"| {x:g} | {g[0]:.3g} | {g[1]:.3g} |" for x, g in zip(self.states, values)]
        return "\n".join(lines)


@dataclass(frozen=True)
class PulseTable:
    """States of one ``model`` device after each of ``count`` pulses of every row (``width`` seconds at the row's
    amplitude, 1 ns edges: the preset pulse), run with the preset's time-step rule."""

    model: str
    rows: tuple[SwitchingRow, ...]
    width: float
    count: int
    label_columns = 2

    @property
    def marker(self) -> str:
        return f"pulse-table {self.model}"

    def simulate(self) -> np.ndarray:
        """States (rows x pulses)."""
        preset = get_preset(self.model)
        duration = self.width + 2e-9
        out = []
        for row in self.rows:
            with open_session(_one_device(self.model, row.start), SessionOptions(worker=False)) as s:
                states = []
                for _ in range(self.count):
                    s.tran(duration, duration / 10, waveforms={"V1": waveforms.pulse(row.amplitude, self.width)},
                           max_step=preset.max_time_step(duration), reltol=preset.pulse_reltol)
                    states.append(float(s.states[0]))
            out.append(states)
        return np.array(out)

    def render(self, values: np.ndarray) -> str:
        head = f"| pulse ({_time(self.width)}) | from | " + " | ".join(str(k + 1) for k in range(self.count)) + " |"
        lines = [head, "|" + "---|" * (self.count + 2)]
        for row, states in zip(self.rows, values):
            lines.append(f"| {row.amplitude:+g} V | {row.start:g} | " + " | ".join(f"{v:.4g}" for v in states) + " |")
        return "\n".join(lines)


def _one_device(model: str, x0: float) -> Netlist:
    net = Netlist(f"one {model}")
    net.voltage_source("V1", "p", "0", 0.0)
    net.memristor("N1", "p", "0", "x", model, x0=x0)
    return net


def _preset_pulses(model: str, count: int) -> PulseTable:
    preset, device = get_preset(model), get_device(model)
    return PulseTable(model, (SwitchingRow(preset.set_amplitude, device.off_state),
                              SwitchingRow(preset.reset_amplitude, device.on_state)), preset.step, count)


READ_STATES = {
    "jart_vcm": (0.008, 0.1, 1.0, 10.0, 20.0), "jart_v1b": (0.008, 0.1, 1.0, 10.0, 20.0),
    "stanford_pku": (0.1, 0.5, 0.9, 1.3, 1.7), "vteam": (0.0, 0.75, 1.5, 2.25, 3.0),
    "linear_ion_drift": (0.0, 0.25, 0.5, 0.75, 1.0), "sky130_reram": (3.3, 3.7, 4.1, 4.5, 4.9),
}
READ_TABLES = {m: ReadTable(m, get_preset(m).v_read, states) for m, states in READ_STATES.items()}
PULSE_TABLES = {m: _preset_pulses(m, 10) for m in READ_STATES}


def all_tables() -> list:
    """Every generated table of verilog_a/README.md: switching, read and pulse tables."""
    return [*TABLES.values(), *READ_TABLES.values(), *PULSE_TABLES.values()]
