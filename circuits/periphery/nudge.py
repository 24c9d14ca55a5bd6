"""Nudge sources (slot :data:`~memcosim.circuits.periphery.base.NUDGE`): one current source per column
that injects a current (amperes, from ground) into the TIA input; the session sets its value."""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.circuits.netlist import GROUND, Element, Netlist
from memcosim.circuits.periphery.base import NUDGE_SUPPLY, Block, BlockSupply, declare_supplies
from memcosim.config.periphery import NudgeConfig


@dataclass(frozen=True)
class NudgeSource(Block):
    """An independent current source ``I<name>`` from ground into its node, starting at ``config.current`` A."""

    config: NudgeConfig
    name: str = "nudge"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("node",)

    def define(self, net: Netlist) -> None:
        """Nothing: the block is one primitive element."""

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """The current source itself (group ``nudge``)."""
        return (BlockSupply(NUDGE_SUPPLY, "", GROUND, "node"),)

    def place(self, net: Netlist, name: str, nodes: tuple[str, ...]) -> Element:
        (node,) = nodes
        element = net.current_source("I" + name, GROUND, node, self.config.current)
        declare_supplies(net, self, element)
        return element
