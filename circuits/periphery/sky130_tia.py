"""A transistor-level column TIA in sky130 (slot :data:`~memcosim.circuits.periphery.base.TIA`): a
two-stage Miller op-amp of 5 V devices (``sky130_fd_pr__nfet_g5v0d10v5`` / ``pfet_g5v0d10v5``) with the
feedback resistor ``Rf`` from output to inverting input, between real supply rails.

Topology (:class:`OpAmpSizing` holds the sizes)::

    VDD ─┬──────────┬────────────────┬──────────┐
        MB (diode) M5 (tail)         │         M7 (output current source)
         │ pb       │ tail           │          │
         RB      ┌──┴───┐            │          ├── out ──Rf── in
         │      M1     M2            │          │
    VSS  │   x ─┤      ├─ y ──Cc─Rz──┼──────────┤
               M3 ─── M4       y ── M6 (common source) ── VSS

The PMOS input pair (bulks tied to the tail: no body effect, room for an input at mid-rail) takes the
inverting input on M1 and ground on M2; the NMOS mirror M3/M4 loads it; the second stage M6 sinks
the feedback current of a positive column current (the output swings negative) and M7 sources the
other sign. Cc with the nulling resistor Rz compensates. The bias current is set by RB from the
diode MB to VSS. Each TIA's op-amp sits between the shared rails ``VTIA_DD`` / ``VTIA_SS`` (supply
group ``tia``).
"""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.circuits import sky130
from memcosim.circuits.netlist import Netlist, fmt
from memcosim.circuits.periphery.base import TIA_SUPPLY, BlockSupply, Rail
from memcosim.circuits.periphery.tia import Tia

NFET = "sky130_fd_pr__nfet_g5v0d10v5"
PFET = "sky130_fd_pr__pfet_g5v0d10v5"


@dataclass(frozen=True)
class Transistor:
    """One sky130 transistor of the op-amp: ``device`` (NFET or PFET), pins drain gate source bulk, total
    width ``w`` and length ``l`` in metres, ``fingers`` (the model bins by the width of one finger) and
    ``m`` parallel copies."""

    name: str
    drain: str
    gate: str
    source: str
    bulk: str
    device: str
    w: float
    l: float
    fingers: int = 1
    m: int = 1

    def line(self) -> str:
        extra = (f" nf={self.fingers}" if self.fingers > 1 else "") + (f" m={self.m}" if self.m > 1 else "")
        return (f"X{self.name} {self.drain} {self.gate} {self.source} {self.bulk} {self.device} "
                f"w={fmt(self.w)} l={fmt(self.l)}{extra}")


@dataclass(frozen=True)
class OpAmpSizing:
    """Sizes of the two-stage Miller op-amp: bias resistor ``r_bias`` (ohm), Miller capacitor ``c_comp``
    (farad) and nulling resistor ``r_zero`` (ohm); the transistors are in :meth:`transistors`."""

    r_bias: float = 110e3
    c_comp: float = 2e-12
    r_zero: float = 1e3

    def transistors(self) -> tuple[Transistor, ...]:
        """The transistors on the op-amp's nodes (pins inp inn out vdd vss; inner nodes pb tail x y)."""
        return (
            Transistor("MB", "pb", "pb", "vdd", "vdd", PFET, 5e-6, 1e-6),
            Transistor("M5", "tail", "pb", "vdd", "vdd", PFET, 10e-6, 1e-6, 2),
            Transistor("M1", "x", "inn", "tail", "tail", PFET, 56e-6, 4e-6, 8, 2),
            Transistor("M2", "y", "inp", "tail", "tail", PFET, 56e-6, 4e-6, 8, 2),
            Transistor("M3", "x", "x", "vss", "vss", NFET, 14e-6, 4e-6, 2),
            Transistor("M4", "y", "x", "vss", "vss", NFET, 14e-6, 4e-6, 2),
            Transistor("M6", "out", "y", "vss", "vss", NFET, 70e-6, 4e-6, 10, 2),
            Transistor("M7", "out", "pb", "vdd", "vdd", PFET, 50e-6, 1e-6, 10),
        )


SIZING = OpAmpSizing()


@dataclass(frozen=True)
class Sky130Tia(Tia):
    """Column TIA of ``config`` (``circuit = "sky130"``): the two-stage Miller op-amp of this module at
    ``config.corner`` with feedback resistor ``config.r_feedback`` ohm, rails ``config.v_dd`` / ``config.v_ss``
    volts. Pins: ``in`` (inverting input, the column's virtual ground) and ``out``, then its rails ``vdd``, ``vss``.
    The Python-side transfer is the behavioural TIA's (nominal gain ``config.gain``)."""

    name: str = "tia_sky130"
    sizing: OpAmpSizing = SIZING

    @property
    def opamp(self) -> str:
        """Sub-circuit name of the op-amp alone (pins inp inn out vdd vss)."""
        return f"{self.name}_opamp"

    @property
    def rails(self) -> tuple[Rail, ...]:
        c = self.config
        return (Rail("vdd", "VTIA_DD", "tia_vdd", c.v_dd, TIA_SUPPLY), Rail("vss", "VTIA_SS", "tia_vss", c.v_ss, TIA_SUPPLY))

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """None inside the block: its energy comes from the rail sources (:attr:`rails`, group ``tia``)."""
        return ()

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return (("in", "out"), ("out", "vdd"), ("out", "vss"))

    def opamp_subckt(self) -> str:
        """The ``.subckt`` text of the op-amp (pins inp inn out vdd vss)."""
        s = self.sizing
        lines = [f".subckt {self.opamp} inp inn out vdd vss",
                 f"* two-stage Miller op-amp, sky130 5 V devices, corner {self.config.corner}"]
        lines += [t.line() for t in s.transistors()]
        lines += [f"RB pb vss {fmt(s.r_bias)}", f"CC y z {fmt(s.c_comp)}", f"RZ z out {fmt(s.r_zero)}",
                  f".ends {self.opamp}"]
        return "\n".join(lines)

    def subckt(self) -> str:
        c = self.config
        return "\n".join([
            f".subckt {self.name} in out vdd vss",
            f"* column TIA: sky130 two-stage Miller op-amp, feedback Rf = {fmt(c.r_feedback)} ohm; in is the "
            "virtual ground",
            f"Xamp 0 in out vdd vss {self.opamp}",
            f"Rf in out {fmt(c.r_feedback)}",
            f".ends {self.name}",
        ])

    def define(self, net: Netlist) -> None:
        """The model files of the two devices at the corner, the op-amp, the TIA and the rail sources."""
        for name, value in sky130.GLOBAL_PARAMETERS.items():
            net.parameter(name, value)
        where = "periphery.tia.circuit"
        for device in (NFET, PFET):
            for path in sky130.device_libraries(device, self.config.corner, where):
                net.library(str(path))
        net.subcircuit(self.opamp, self.opamp_subckt())
        super().define(net)
