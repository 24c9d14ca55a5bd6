"""Column ADC blocks (slot :data:`~memcosim.circuits.periphery.base.ADC`): the volts-to-code transfer and
the converter's load in the netlist.

The behavioural ADC is the converter's input resistance on the TIA output in ngspice; the code
is computed in Python (:meth:`Adc.convert`) from the TIA output voltage that ngspice solved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits.netlist import fmt
from memcosim.circuits.periphery.base import SubcktBlock, UniformCodes
from memcosim.config.periphery import AdcConfig


@dataclass(frozen=True)
class Adc(SubcktBlock, UniformCodes):
    """Behavioural column ADC of ``config``: an ``r_in`` load in ngspice, a mid-tread quantizer in Python."""

    config: AdcConfig
    name: str = "adc"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("in",)

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return (("in", "0"),)

    def subckt(self) -> str:
        c = self.config
        return "\n".join([
            f".subckt {self.name} in",
            f"* column ADC input ({c.bits} bit, {fmt(c.v_min)} .. {fmt(c.v_max)} V); "
            "the code is computed in Python from V(in)",
            f"Rin in 0 {fmt(c.r_in)}",
            f".ends {self.name}",
        ])

    # -- transfer --------------------------------------------------------------------------
    def offset(self, column: int) -> float:
        """The input offset (volts) of ``column``."""
        o = self.config.offset
        return float(o[column] if isinstance(o, list) else o)

    def convert(self, volts: np.ndarray | float, column: int | None = None) -> np.ndarray:
        """Codes of input ``volts``, clipped to 0..2**bits-1. Per-column offsets apply along the last
        axis, or the offset of ``column`` alone when it is given."""
        offset = np.asarray(self.config.offset, dtype=float)
        if column is not None and offset.ndim:
            offset = offset[column]
        v = np.asarray(volts, dtype=float) + offset
        c = np.floor((v - self.config.v_min) / self.lsb + 0.5)  # round half up, like a mid-tread quantizer
        return np.clip(c, 0, self.levels - 1).astype(int)

    def level(self, code: np.ndarray | int) -> np.ndarray:
        """The input voltage a code stands for (volts)."""
        return self.config.v_min + np.asarray(code, dtype=float) * self.lsb
