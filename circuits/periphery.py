"""Periphery blocks of a crossbar as ``.subckt`` text: row DAC output stage, column TIA, column ADC input.

The settings (and the Python-side transfers: DAC code -> volts, ADC volts -> code) are in
:mod:`memcosim.config.periphery`.
"""

from __future__ import annotations

from memcosim.circuits.netlist import fmt
from memcosim.config.periphery import AdcConfig, DacConfig, TiaConfig


# -- sub-circuit text -----------------------------------------------------------------------

def dac_subckt(config: DacConfig) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The ``dac`` block: unity buffer of the code voltage at ``in`` with output resistance."""
    lines = [".subckt dac in out",
             f"* row DAC output stage: unity buffer, r_out = {fmt(config.r_out)} ohm "
             f"({config.bits} bit, {fmt(config.v_min)} .. {fmt(config.v_max)} V set on the source)"]
    if config.r_out > 0:
        lines += ["Ebuf mid 0 in 0 1", f"Rout mid out {fmt(config.r_out)}"]
    else:
        lines += ["Ebuf out 0 in 0 1"]
    lines.append(".ends dac")
    return "\n".join(lines), ("in", "out"), (("out", "0"),)


def tia_subckt(config: TiaConfig) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The ``tia`` block: V(out) = -A V(in), feedback resistor from out to in."""
    text = "\n".join([
        ".subckt tia in out",
        f"* column TIA: op-amp as VCVS with open-loop gain A = {fmt(config.gain)}, feedback Rf = "
        f"{fmt(config.r_feedback)} ohm; in is the virtual ground",
        f"Eamp out 0 0 in {fmt(config.gain)}",
        f"Rf in out {fmt(config.r_feedback)}",
        ".ends tia",
    ])
    return text, ("in", "out"), (("in", "out"), ("out", "0"))


def adc_subckt(config: AdcConfig) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The ``adc`` block: the converter's input resistance (the conversion is done in Python)."""
    text = "\n".join([
        ".subckt adc in",
        f"* column ADC input ({config.bits} bit, {fmt(config.v_min)} .. {fmt(config.v_max)} V); "
        "the code is computed in Python from V(in)",
        f"Rin in 0 {fmt(config.r_in)}",
        ".ends adc",
    ])
    return text, ("in",), (("in", "0"),)
