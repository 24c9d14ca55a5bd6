"""The array as one ``.subckt`` for a designer's own testbench, and a testbench that includes it.

:func:`array_subckt` turns a built crossbar into a file a designer ``.include``s: a comment title
line, the model files it reads (declared ``.lib``/``.include`` and ``.param`` lines) and one
``.subckt`` holding every model card, the periphery blocks' sub-circuits and every element, with
no ``.end``. The sources memcosim sets from outside become pins:

* ``d<i>`` (or ``r<i>_0`` without row periphery): row ``i``'s input, the node source ``VROW<i>``
  drives (volts to ground; with a row DAC, the code voltage);
* ``w<i>``: row ``i``'s word line (1T1R arrays), the node of ``VWL<i>``;
* ``o<j>``: column ``j``'s TIA output (arrays with TIAs).

The column ammeters ``VCOL<j>`` (0 V) and nudge sources stay inside (their currents read as
``i(v.<instance>.vcol<j>)``). The programming drivers become single pulses whose amplitudes are
parameters of the sub-circuit: ``vprow<i>`` and ``vpcol<j>`` volts (0 by default: a read), with
``tdelay``, ``trise`` and ``twidth`` seconds shared by all of them. With column switches, the
parameter ``swwrite`` (0: read, 1: write) sets their control lines.

:func:`testbench` writes one cell with the array's programming scheme: every programming source
gets its line voltage for that scheme (:func:`memcosim.circuits.bias.line_voltages`: V/2, V/3 or
ground biasing of the selected and half-selected lines), word lines sit at their gate voltage,
row inputs at the DAC's code 0 (or 0 V), and ``ngspice -b`` runs a transient over the pulse. An
array without programming drivers gets a read instead: every row input at the DAC's full scale (or
:data:`V_READ`), one operating point, the column currents printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.circuits.bias import line_voltages
from memcosim.circuits.crossbar import Crossbar
from memcosim.circuits.netlist import check_name, fmt

_LINE = 100  # characters per line before a continuation
V_READ = 0.2  # volts on every row input of a read testbench when the array has no DAC (else its full scale)


@dataclass(frozen=True)
class ArraySubckt:
    """A crossbar as a sub-circuit: its ``name``, ``pins`` in order with what each is, the parameter
    defaults ``params`` and the file ``text``."""

    name: str
    pins: tuple[str, ...]
    roles: tuple[str, ...]
    params: dict[str, float]
    text: str


def _wrap(head: str, words: list[str]) -> list[str]:
    lines, line = [], head
    for w in words:
        if len(line) + 1 + len(w) > _LINE:
            lines.append(line)
            line = "+"
        line += " " + w
    lines.append(line)
    return lines


def array_subckt(xbar: Crossbar, name: str) -> ArraySubckt:
    """``xbar`` as the sub-circuit ``name`` (see the module docstring for its pins and parameters)."""
    check_name(name, "sub-circuit name")
    net = xbar.netlist
    removed = {s.lower() for s in xbar.row_sources + xbar.word_line_sources}
    pins: list[str] = []
    roles: list[str] = []
    for i, s in enumerate(xbar.row_sources):
        pins.append(net.find(s).nodes[0])
        roles.append(f"row {i} input (volts to ground)")
    for i, s in enumerate(xbar.word_line_sources):
        pins.append(net.find(s).nodes[0])
        roles.append(f"row {i} word line")
    for j, node in enumerate(xbar.tia_outputs):
        pins.append(node)
        roles.append(f"column {j} TIA output")
    prog = xbar.periphery.programming
    params: dict[str, float] = {}
    pulsed: dict[str, str] = {}
    for k, s in enumerate(xbar.program_row_sources):
        pulsed[s.lower()] = f"vprow{k}"
    for k, s in enumerate(xbar.program_column_sources):
        pulsed[s.lower()] = f"vpcol{k}"
    params.update({p: 0.0 for p in pulsed.values()})
    if prog is not None:
        params.update({"tdelay": 0.0, "trise": prog.pulse.rise, "twidth": prog.pulse.width})
    switched = _switch_controls(xbar)
    if switched:
        params["swwrite"] = 0.0

    out = [f"* memcosim array sub-circuit {name}: {net.title}"]
    out += [f"* {c}" for c in net.comments]
    out.append(f"* pins of .subckt {name}, in order:")
    out += [f"*   {p}: {r}" for p, r in zip(pins, roles)]
    if pulsed:
        out.append("* parameters: vprow<i> / vpcol<j> volts of the programming pulse on row i / column j "
                   "(0 = idle), tdelay, trise, twidth seconds of that pulse")
    if switched:
        out.append("* swwrite: 1 joins every column to its programming driver (a write), 0 to its TIA (a read)")
    out.append(f"* column currents: i(v.<instance>.vcol<j>) (amperes into column j's ammeter); no .end: "
               ".include this file")
    out += [f".param {k}={fmt(v)}" for k, v in net.parameters.items()]
    out += [lib.render() for lib in net.libraries]
    head = f".subckt {name}"
    words = list(pins) + (["params:"] + [f"{k}={fmt(v)}" for k, v in params.items()] if params else [])
    out += _wrap(head, words)
    for card, (model_type, values) in net.model_cards.items():
        body = " ".join(f"{k}={fmt(v)}" for k, v in values)
        out.append(f".model {card} {model_type}{(' ' + body) if body else ''}")
    for text in net.subcircuits.values():
        out.append(text.rstrip("\n"))
    for e in net.elements:
        key = e.name.lower()
        if key in removed:
            continue
        if key in pulsed:
            a, b = e.nodes
            out.append(f"{e.name} {a} {b} pulse(0 {{{pulsed[key]}}} {{tdelay}} {{trise}} {{trise}} {{twidth}})")
        elif key in switched:
            a, b = e.nodes
            out.append(f"{e.name} {a} {b} dc {{{switched[key]}}}")
        else:
            out.append(e.render())
    out.append(f".ends {name}")
    return ArraySubckt(name, tuple(pins), tuple(roles), params, "\n".join(out) + "\n")


def _switch_controls(xbar: Crossbar) -> dict[str, str]:
    """The column switches' control sources (lower-case names) and their value as an expression of the
    sub-circuit parameter ``swwrite`` (0: read mode, 1: write mode); empty without switches."""
    read, write = xbar.switch_mode("read"), xbar.switch_mode("write")
    return {name.lower(): f"{fmt(read[name])}+swwrite*({fmt(write[name] - read[name])})" for name in read}


def testbench(xbar: Crossbar, sub: ArraySubckt, include: str, row: int, column: int,
              osdi: list[str] | None = None) -> str:
    """A testbench that ``.include``s ``include`` (the file of ``sub``) and writes cell (``row``,
    ``column``) with the array's programming scheme and amplitude; ``osdi`` lists the compiled
    device model files ngspice loads first (``pre_osdi``)."""
    prog = xbar.periphery.programming
    net = xbar.netlist
    if '"' in include or "\n" in include:
        raise ValueError(f"include path {include!r} may not hold quotes or line breaks")
    lines = [f"* memcosim testbench: {sub.name}"]
    instance: dict[str, float] = {}
    if prog is not None:
        v_rows, v_cols = line_voltages(prog.scheme, prog.pulse.amplitude, xbar.config.rows, xbar.config.columns, row, column)
        lines[0] += f", {prog.scheme} write of cell ({row}, {column}) with {fmt(prog.pulse.amplitude)} V"
        instance = {f"vprow{i}": float(v) for i, v in enumerate(v_rows)}
        instance.update({f"vpcol{j}": float(v) for j, v in enumerate(v_cols)})
        instance["tdelay"] = prog.pulse.rise
        if "swwrite" in sub.params:
            instance["swwrite"] = 1.0
        stop = 3 * prog.pulse.rise + prog.pulse.width
    else:
        lines[0] += ", read"
        stop = 0.0
    if osdi:
        lines += [".control"] + [f"pre_osdi {p}" for p in osdi] + [".endc"]
    lines += [f'.include "{include}"', ".options klu"]
    dac = xbar.blocks.dac
    read = fmt(dac.v_max if dac is not None else V_READ)
    for s in xbar.row_sources:
        e = net.find(s)
        lines.append(f"{e.name} {e.nodes[0]} 0 dc {e.rest.split()[1] if prog is not None else read}")
    for s in xbar.word_line_sources:
        e = net.find(s)
        lines.append(f"{e.name} {e.nodes[0]} 0 dc {e.rest.split()[1]}")
    for node in xbar.tia_outputs:
        lines.append(f"Rload_{node} {node} 0 1e12")
    lines += _wrap(f"Xarray {' '.join(sub.pins)} {sub.name}", [f"{k}={fmt(v)}" for k, v in instance.items()])
    lines.append(".control")
    if stop > 0:
        mid = fmt(2 * prog.pulse.rise + prog.pulse.width / 2)
        lines.append(f"tran {fmt(prog.pulse.rise / 10)} {fmt(stop)}")
        lines.append(f"let bias = v(xarray.{xbar.row_node(row, column)}) - v(xarray.{xbar.column_node(row, column)})")
        lines.append(f"meas tran v_selected find bias at={mid}")
        lines += [f"meas tran i_col{j} find i(v.xarray.{s.lower()}) at={mid}" for j, s in enumerate(xbar.column_sources)]
    else:
        lines.append("op")
        lines.append(" ".join(["print"] + [f"i(v.xarray.{s.lower()})" for s in xbar.column_sources]))
    lines += [".endc", ".end"]
    return "\n".join(lines) + "\n"
