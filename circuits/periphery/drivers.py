"""Row drivers and programming drivers.

* Row driver (slot :data:`~memcosim.circuits.periphery.base.ROW_DRIVER`): the series resistance of
  the driver between the row source (or DAC) and the row line.
* Programming driver (slot :data:`~memcosim.circuits.periphery.base.PROGRAMMING`): a series pulse
  source on a row or column line, 0 V outside a write; the session drives it with the write
  waveforms of the configured scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.circuits.netlist import Element, Netlist
from memcosim.circuits.periphery.base import PROGRAMMING_DRIVERS, Block, BlockSupply, declare_supplies
from memcosim.config.periphery import ProgrammingConfig


@dataclass(frozen=True)
class RowDriver(Block):
    """A row driver of output resistance ``r_out`` ohms (> 0): the resistor ``R<name>``."""

    r_out: float
    name: str = "row_driver"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("in", "out")

    def define(self, net: Netlist) -> None:
        """Nothing: the block is one primitive element."""

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        a, b = nodes
        return net.resistor("R" + name, a, b, self.r_out)


@dataclass(frozen=True)
class ProgrammingDriver(Block):
    """A programming pulse source ``V<name>`` of ``config`` in series with a line: V(line) - V(base), 0 V at rest."""

    config: ProgrammingConfig
    name: str = "programming"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("line", "base")

    def define(self, net: Netlist) -> None:
        """Nothing: the block is one primitive element."""

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """The pulse source itself (group ``programming_drivers``)."""
        return (BlockSupply(PROGRAMMING_DRIVERS, "", "line", "base"),)

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        line, base = nodes
        element = net.voltage_source("V" + name, line, base, 0.0)
        declare_supplies(net, self, element)
        return element
