"""Row DAC blocks (slot :data:`~memcosim.circuits.periphery.base.DAC`): the code-to-volts transfer and
the output stage in the netlist.

The session sets the quantized code voltage (:meth:`Dac.voltage`) on the row source; the
``dac`` sub-circuit, a unity buffer with output resistance ``r_out`` ohms, drives the row line
with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits.netlist import fmt
from memcosim.circuits.periphery.base import DAC_SUPPLY, BlockSupply, SubcktBlock, UniformCodes
from memcosim.config.periphery import DacConfig
from memcosim.errors import ConfigError


@dataclass(frozen=True)
class DacStage(SubcktBlock):
    """A row DAC's output stage in ngspice: pins ``in`` -> ``out``, a buffer of voltage ``gain`` with
    ``config.r_out`` ohms in series (the two DAC blocks below differ only in gain and description)."""

    config: DacConfig
    name: str = "dac"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("in", "out")

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return (("out", "0"),)

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """The buffer ``Ebuf``: an ideal output stage whose supply delivers exactly the power it drives
        into ``r_out`` and the row (group ``dac``)."""
        return (BlockSupply(DAC_SUPPLY, "Ebuf", "mid" if self.config.r_out > 0 else "out", "0"),)

    def stage(self, gain: int, description: str) -> str:
        """The ``.subckt`` text of the stage: buffer of ``gain`` V/V, comment line ``description``."""
        r_out = self.config.r_out
        lines = [f".subckt {self.name} in out", f"* {description}"]
        if r_out > 0:
            lines += [f"Ebuf mid 0 in 0 {gain}", f"Rout mid out {fmt(r_out)}"]
        else:
            lines += [f"Ebuf out 0 in 0 {gain}"]
        lines.append(f".ends {self.name}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Dac(DacStage, UniformCodes):
    """Behavioural row DAC of ``config``: ideal quantizer in Python, unity buffer with ``r_out`` in ngspice."""

    def subckt(self) -> str:
        c = self.config
        return self.stage(1, f"row DAC output stage: unity buffer, r_out = {fmt(c.r_out)} ohm "
                             f"({c.bits} bit, {fmt(c.v_min)} .. {fmt(c.v_max)} V set on the source)")

    # -- transfer --------------------------------------------------------------------------
    @property
    def v_min(self) -> float:
        """Volts of code 0 (the row sources' value before any code is set)."""
        return self.config.v_min

    @property
    def v_max(self) -> float:
        """Volts of the top code (full scale)."""
        return self.config.v_max

    def voltage(self, code: np.ndarray | int) -> np.ndarray:
        """The quantized output voltage (volts) of integer ``code`` (0 .. 2**bits - 1)."""
        c = np.asarray(code)
        if c.dtype.kind not in "iu" or np.any(c < 0) or np.any(c >= self.levels):
            raise ConfigError("code", f"DAC codes must be integers in 0..{self.levels - 1}, got {code!r}")
        return self.config.v_min + c.astype(float) * self.lsb

    def code(self, volts: np.ndarray | float) -> np.ndarray:
        """The nearest code to ``volts`` (clipped to the range)."""
        c = np.floor((np.asarray(volts, dtype=float) - self.config.v_min) / self.lsb + 0.5)
        return np.clip(c, 0, self.levels - 1).astype(int)

    def dead(self) -> "DeadDac":
        """This DAC with its output stage stuck at 0 V (a dead-channel fault)."""
        return DeadDac(self.config)


@dataclass(frozen=True)
class DeadDac(DacStage):
    """A row DAC of ``config`` whose output stage is stuck at 0 V, with the same ``r_out``."""

    name: str = "dac_dead"

    def subckt(self) -> str:
        return self.stage(0, f"dead row DAC: output stuck at 0 V, r_out = {fmt(self.config.r_out)} ohm")
