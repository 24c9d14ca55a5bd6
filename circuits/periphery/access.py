"""Access devices of 1T1R cells (slot :data:`~memcosim.circuits.periphery.base.ACCESS`): a transistor
model card and one transistor per cell, gated by the row's word line."""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.circuits.netlist import Element, Netlist
from memcosim.circuits.periphery.base import Block
from memcosim.config.periphery import AccessConfig


@dataclass(frozen=True)
class AccessTransistor(Block):
    """NMOS access transistor of ``config``: an ngspice level-1 MOSFET on the ``.model`` card ``name``."""

    config: AccessConfig
    name: str = "nacc"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("drain", "gate", "source", "bulk")

    @property
    def gate_voltage(self) -> float:
        """Volts on every word line while the array is read or written."""
        return self.config.v_gate

    @property
    def r_on(self) -> float:
        """Channel resistance (ohm) at V_ds = 0 with the source at ground: 1 / (kp W/L (Vg - Vto))."""
        a = self.config
        overdrive = a.v_gate - a.vto
        return float("inf") if overdrive <= 0 else 1.0 / (a.kp * a.w / a.l * overdrive)

    def define(self, net: Netlist) -> None:
        a = self.config
        net.model_card(self.name, "nmos", level=1, vto=a.vto, kp=a.kp, **{"lambda": a.lambda_})

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        drain, gate, source, bulk = nodes
        return net.mosfet("M" + name, drain, gate, source, bulk, self.name, self.config.w, self.config.l)
