"""The blocks of one array's periphery, one per slot, and the behavioural defaults built from settings."""

from __future__ import annotations

from dataclasses import dataclass, fields

from memcosim.circuits.periphery import base
from memcosim.circuits.periphery.access import AccessTransistor
from memcosim.circuits.periphery.adc import Adc, SarAdc
from memcosim.circuits.periphery.base import Block, Slot
from memcosim.circuits.periphery.dac import Dac
from memcosim.circuits.periphery.drivers import ProgrammingDriver, RowDriver
from memcosim.circuits.periphery.nudge import NudgeSource
from memcosim.circuits.periphery.sky130_tia import Sky130Tia
from memcosim.circuits.periphery.switches import ColumnSwitch
from memcosim.circuits.periphery.tia import Tia
from memcosim.config.periphery import AccessConfig, PeripheryConfig
from memcosim.errors import ConfigError

SLOTS: dict[str, Slot] = {
    "dac": base.DAC, "row_driver": base.ROW_DRIVER, "programming": base.PROGRAMMING, "tia": base.TIA,
    "adc": base.ADC, "nudge": base.NUDGE, "access": base.ACCESS, "switch": base.SWITCH,
}


@dataclass(frozen=True)
class PeripheryBlocks:
    """The block in each periphery slot of an array (``None``: the slot is empty, the line ideal).

    The DAC, TIA and ADC slots take blocks with their Python-side transfer (:class:`Dac`,
    :class:`Tia`, :class:`Adc` or subclasses), the access slot an :class:`AccessTransistor` (its word-line
    voltage); the others take any :class:`Block`.
    """

    dac: Dac | None = None
    row_driver: Block | None = None
    programming: ProgrammingDriver | None = None
    tia: Tia | None = None
    adc: Adc | None = None
    nudge: Block | None = None
    access: AccessTransistor | None = None
    switch: Block | None = None

    @classmethod
    def behavioural(cls, periphery: PeripheryConfig | None, r_driver: float = 0.0,
                    access: AccessConfig | None = None) -> "PeripheryBlocks":
        """The block of every slot the settings fill: ``periphery`` blocks, a row driver of ``r_driver``
        ohms (none at 0) and the access transistor of 1T1R cells. Behavioural blocks, except where the
        settings pick a circuit: the sky130 TIA (``periphery.tia.circuit``), the sky130 SAR ADC
        (``periphery.adc.circuit``) and the column switches."""
        per = periphery or PeripheryConfig()
        return cls(
            dac=Dac(per.dac) if per.dac is not None else None,
            row_driver=RowDriver(r_driver) if r_driver > 0 else None,
            programming=ProgrammingDriver(per.programming) if per.programming is not None else None,
            tia=(None if per.tia is None else Sky130Tia(per.tia) if per.tia.circuit == "sky130" else Tia(per.tia)),
            adc=(None if per.adc is None else SarAdc(per.adc) if per.adc.circuit == "sky130" else Adc(per.adc)),
            nudge=NudgeSource(per.nudge) if per.nudge is not None else None,
            access=AccessTransistor(access) if access is not None else None,
            switch=ColumnSwitch(per.switches) if per.switches is not None else None,
        )

    def filled(self) -> tuple[str, ...]:
        """Names of the slots that hold a block."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)

    def check(self, expected: tuple[str, ...] | None = None) -> "PeripheryBlocks":
        """Check every block against its slot's pin contract and, with ``expected``, that exactly
        those slots are filled; a ConfigError names the slot and the block."""
        if expected is not None and set(self.filled()) != set(expected):
            missing = sorted(set(expected) - set(self.filled()))
            extra = sorted(set(self.filled()) - set(expected))
            raise ConfigError("periphery", f"the blocks must fill the slots the configuration has: "
                              + "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                                       f"not configured {', '.join(extra)}" if extra else "") if x))
        for name in self.filled():
            SLOTS[name].check(getattr(self, name))
        return self
