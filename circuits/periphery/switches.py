"""Column switches (slot :data:`~memcosim.circuits.periphery.base.SWITCH`): two sky130 transmission
gates per column that join the column line to its TIA while the array is read and to its
programming driver while it is written.

Each gate is an NMOS and a PMOS (5 V devices ``sky130_fd_pr__nfet_g5v0d10v5`` / ``pfet_g5v0d10v5``)
in parallel, set by two shared control lines: ``rd`` (at ``v_high`` while reading, ``v_low``
while writing) and ``wr`` (the complement). Each column has its own gate driver: the gate nodes
``gr`` (follows ``rd``) and ``gw`` (follows ``wr``) are switched to the rail ``hi`` or ``lo`` through
``r_gate`` ohms by ideal switches that the control lines steer (a switch's control input draws no
current), so the gate charge of a mode change comes from the rails. The read gate's NMOS takes
``gr`` and its PMOS ``gw``; the write gate the other way round. NMOS bulks sit on ``v_low``, PMOS
bulks on ``v_high``. The rails and the control lines are the sources ``VSW_HI``, ``VSW_LO``,
``VSW_RD``, ``VSW_WR`` (supply group ``switches``); :meth:`ColumnSwitch.mode` gives the control
values of each mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.circuits import sky130
from memcosim.circuits.netlist import Netlist, fmt
from memcosim.circuits.periphery.base import SWITCHES, SubcktBlock, Rail
from memcosim.circuits.periphery.sky130_tia import NFET, PFET
from memcosim.config.periphery import SWITCH_FINGER, SwitchConfig
from memcosim.errors import ConfigError

MODES = ("read", "write")
_STEEP = 20.0  # 1/V: how sharply a gate driver turns from one rail to the other as its control line crosses 0 V


@dataclass(frozen=True)
class ColumnSwitch(SubcktBlock):
    """The read and write transmission gates of one column, of ``config``; pins ``line``, ``sense`` (the
    TIA input), ``drive`` (the programming driver), then the rails ``hi``/``lo`` and controls ``rd``/``wr``."""

    config: SwitchConfig
    name: str = "colsw_sky130"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("line", "sense", "drive")

    @property
    def rails(self) -> tuple[Rail, ...]:
        """The bulk rails and the two control lines (their read-mode values), all in group ``switches``."""
        c = self.config
        return (Rail("hi", "VSW_HI", "sw_hi", c.v_high, SWITCHES), Rail("lo", "VSW_LO", "sw_lo", c.v_low, SWITCHES),
                Rail("rd", "VSW_RD", "sw_rd", c.v_high, SWITCHES), Rail("wr", "VSW_WR", "sw_wr", c.v_low, SWITCHES))

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return (("line", "sense"), ("line", "drive"), ("line", "lo"), ("line", "hi"))

    def mode(self, mode: str) -> dict[str, float]:
        """Values (volts) of the control sources ``VSW_RD`` / ``VSW_WR`` in ``mode`` (``read`` or ``write``)."""
        if mode not in MODES:
            raise ConfigError("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
        hi, lo = self.config.v_high, self.config.v_low
        return {"VSW_RD": hi, "VSW_WR": lo} if mode == "read" else {"VSW_RD": lo, "VSW_WR": hi}

    def subckt(self) -> str:
        c = self.config
        n = f"{NFET} w={fmt(SWITCH_FINGER)} l={fmt(c.l)}{_copies(c.w_n)}"
        p = f"{PFET} w={fmt(SWITCH_FINGER)} l={fmt(c.l)}{_copies(c.w_p)}"
        return "\n".join([
            f".subckt {self.name} line sense drive hi lo rd wr",
            f"* column switch: read gate line-sense (on while rd is high), write gate line-drive (on while wr is "
            f"high); sky130 5 V devices, corner {c.corner}, NMOS {fmt(c.w_n * 1e6)} um, PMOS {fmt(c.w_p * 1e6)} um "
            f"wide in {fmt(SWITCH_FINGER * 1e6)} um fingers",
            f"* gate drivers: gr to hi through {fmt(c.r_gate)} ohm while rd > 0 V, else to lo; gw likewise from wr",
            *(f"B{g}{r} {a} {b} I = (v({a})-v({b}))*(0.5{sign}0.5*tanh({_STEEP}*v({ctl})))/{fmt(c.r_gate)}"
              for g, ctl in (("R", "rd"), ("W", "wr"))
              for r, a, b, sign in (("H", "hi", f"g{g.lower()}", "+"), ("L", f"g{g.lower()}", "lo", "-"))),
            f"XNR line gr sense lo {n}",
            f"XPR line gw sense hi {p}",
            f"XNW line gw drive lo {n}",
            f"XPW line gr drive hi {p}",
            f".ends {self.name}",
        ])

    def define(self, net: Netlist) -> None:
        """The model files of the two devices at the corner, the switch and its sources."""
        for name, value in sky130.GLOBAL_PARAMETERS.items():
            net.parameter(name, value)
        for device in (NFET, PFET):
            for path in sky130.device_libraries(device, self.config.corner, "periphery.switches.corner"):
                net.library(str(path))
        super().define(net)


def _copies(w: float) -> str:
    """``m=`` text: width ``w`` (metres) as parallel copies of one :data:`SWITCH_FINGER` wide transistor
    (the sky130 bins hold a 5 um device at every length; wide multi-finger devices find no bin)."""
    k = max(1, round(w / SWITCH_FINGER))
    return f" m={k}" if k > 1 else ""
