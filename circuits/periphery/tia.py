"""Column TIA blocks (slot :data:`~memcosim.circuits.periphery.base.TIA`): the current-to-volts transfer
and the amplifier in the netlist.

The behavioural TIA is an op-amp modelled as a VCVS of finite open-loop gain A with feedback
resistor Rf from output to input. Its input is the column's virtual ground:
V(in) = I * Rf / (1 + A) is the virtual-ground error, V(out) = -A * V(in) = -I * Rf * A / (1 + A).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits.netlist import fmt
from memcosim.circuits.periphery.base import TIA_SUPPLY, BlockSupply, SubcktBlock
from memcosim.config.periphery import TiaConfig


@dataclass(frozen=True)
class Tia(SubcktBlock):
    """Behavioural column TIA of ``config``: V(out) = -A V(in), feedback resistor from out to in."""

    config: TiaConfig
    name: str = "tia"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("in", "out")

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return (("in", "out"), ("out", "0"))

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """The amplifier ``Eamp``: an ideal output stage whose supply delivers exactly the power it drives
        into the feedback resistor, the ADC and the column (group ``tia``), at any output voltage."""
        return (BlockSupply(TIA_SUPPLY, "Eamp", "out", "0"),)

    def subckt(self) -> str:
        c = self.config
        return "\n".join([
            f".subckt {self.name} in out",
            f"* column TIA: op-amp as VCVS with open-loop gain A = {fmt(c.gain)}, feedback Rf = "
            f"{fmt(c.r_feedback)} ohm; in is the virtual ground",
            f"Eamp out 0 0 in {fmt(c.gain)}",
            f"Rf in out {fmt(c.r_feedback)}",
            f".ends {self.name}",
        ])

    # -- transfer --------------------------------------------------------------------------
    @property
    def input_resistance(self) -> float:
        """Resistance (ohm) the TIA shows to the column: Rf / (1 + A)."""
        return self.config.r_feedback / (1.0 + self.config.gain)

    @property
    def transimpedance(self) -> float:
        """Magnitude of the gain from input current to output voltage (ohm): Rf A / (1 + A)."""
        return self.config.r_feedback * self.config.gain / (1.0 + self.config.gain)

    def output(self, current: np.ndarray | float) -> np.ndarray:
        """Output voltage (volts) for a column current (amperes into the input): -I Rf A / (1 + A)."""
        return -np.asarray(current, dtype=float) * self.config.r_feedback * self.config.gain / (1.0 + self.config.gain)
