"""Column ADC blocks (slot :data:`~memcosim.circuits.periphery.base.ADC`): the volts-to-code transfer and
the converter in the netlist.

The behavioural ADC (:class:`Adc`, the fast default) is the converter's input resistance on the TIA output
in ngspice; the code is computed in Python (:meth:`Adc.convert`) from the TIA output voltage that ngspice
solved. The SAR ADC (:class:`SarAdc`) converts in ngspice: a transient of :attr:`SarAdc.conversion_time`
leaves each column's code on a node (:mod:`memcosim.cosim.conversion` reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits import sky130
from memcosim.circuits.netlist import Netlist, fmt
from memcosim.circuits.periphery.base import ADC_REFERENCE, ADC_SUPPLY, BlockSupply, SubcktBlock, UniformCodes
from memcosim.config.periphery import AdcConfig
from memcosim.errors import ConfigError


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


# -- the transistor-level SAR converter -------------------------------------------------------
NFET = "sky130_fd_pr__nfet_01v8"
PFET = "sky130_fd_pr__pfet_01v8"
# StrongARM latch devices (name, drain, gate, source, bulk, nfet/pfet, W m, L m), pins inp inn clk outp outn vdd:
# M1 tail switch, (M2/M3 input pair: sky130.COMPARATOR_PAIR_W x _L, gates behind their threshold-shift sources), M4/M5 cross-coupled NMOS, M6/M7 cross-coupled PMOS, M8-M11 reset
# switches (outputs and the pair's drains to vdd while clk is low), M12-M15 output inverters.
_STRONGARM = (
    ("M1", "tail", "clk", "0", "0", NFET, 2e-6, 0.15e-6),
    ("M4", "on", "op", "x", "0", NFET, 1e-6, 0.15e-6),
    ("M5", "op", "on", "y", "0", NFET, 1e-6, 0.15e-6),
    ("M6", "on", "op", "vdd", "vdd", PFET, 2e-6, 0.15e-6),
    ("M7", "op", "on", "vdd", "vdd", PFET, 2e-6, 0.15e-6),
    ("M8", "on", "clk", "vdd", "vdd", PFET, 1e-6, 0.15e-6),
    ("M9", "op", "clk", "vdd", "vdd", PFET, 1e-6, 0.15e-6),
    ("M10", "x", "clk", "vdd", "vdd", PFET, 1e-6, 0.15e-6),
    ("M11", "y", "clk", "vdd", "vdd", PFET, 1e-6, 0.15e-6),
    ("M12", "outp", "on", "0", "0", NFET, 1e-6, 0.15e-6),
    ("M13", "outp", "on", "vdd", "vdd", PFET, 2e-6, 0.15e-6),
    ("M14", "outn", "op", "0", "0", NFET, 1e-6, 0.15e-6),
    ("M15", "outn", "op", "vdd", "vdd", PFET, 2e-6, 0.15e-6),
)
_EDGE = 20e-12  # seconds: rise and fall of the clock and of the SAR timing (at most t_clock / 50)
_R_DAC = 100.0  # ohm: the capacitor DAC's switch resistance to each comparator input
_C_DAC = 200e-15  # farad: the residue's load on each comparator input
_C_BIT = 100e-15  # farad: the node that holds one bit of the SAR register
_SHARPNESS = 40.0  # the bit's decision threshold: 0.5 + 0.5 tanh(40 (V(outp) / vdd - 1/2))


@dataclass(frozen=True)
class SarAdc(Adc):
    """Column ADC whose decision element is a transistor-level comparator: a successive-approximation
    converter around a sky130 StrongARM latch (1.8 V devices at process ``config.corner``).

    Settings: ``config`` (:class:`~memcosim.config.periphery.AdcConfig` with ``circuit = "sky130"``: bits,
    range, ``v_dd``, ``t_clock``, ``t_start``, ``corner``). Per column, in ngspice: the StrongARM latch with
    its output inverters, supplied by its own ``Vdd`` (``v_dd`` volts) and clocked by ``Vclk`` (both supply group
    ``adc``); a binary-weighted capacitor DAC: capacitors ``2**(bits-1-k) c_unit`` (and one terminating
    ``c_unit``) from a common top plate to bottom plates that switches join to the reference ``Vref``
    (:attr:`v_reference` volts, supply group ``adc_reference``) while register bit ``k`` is high and to ground
    while it is low, so the top plate sits at ``code lsb`` of the code so far and every coulomb the
    switched capacitors draw comes from ``Vref``; a residue stage that puts ``V(in) - V(dac)``, with
    ``V(dac) = v_min + V(top) - lsb / 2``, differentially around ``vdd / 2`` on the comparator's inputs
    (through ``_R_DAC`` ohms onto ``_C_DAC`` farads each); and the SAR logic as switched capacitors (one register node per bit: set to 1 at the start of
    its cycle, then following the comparator's decision while its strobe is high near the end of the
    cycle, held after). Bit ``k`` (MSB first) is tried in cycle ``k``; the comparator decides in the second half of
    the cycle. Code ``c`` is tried against ``v_min + (c - 1/2) lsb``, so the ideal transfer is the
    behavioural ADC's (:meth:`Adc.convert`: round half up, clipped). The code after the last cycle is the
    voltage of the node ``code`` inside each instance (:meth:`code_vector`). The DAC tracks the input (no
    sampling switch): the input must be settled by ``t_start``. Energy: :attr:`supplies`.
    """

    name: str = "sar_adc"

    def __post_init__(self) -> None:
        if self.config.circuit != "sky130":
            raise ConfigError("periphery.adc.circuit", f"the SAR ADC {self.name!r} is the 'sky130' circuit, "
                              f"got {self.config.circuit!r}")

    @property
    def comparator(self) -> str:
        """Name of the StrongARM comparator's ``.subckt`` (pins inp inn clk outp outn vdd)."""
        return f"{self.name}_strongarm"

    @property
    def conversion_time(self) -> float:
        """Seconds from the start of a transient until the code is final: t_start + bits cycles + a quarter."""
        return self.config.t_start + (self.config.bits + 0.25) * self.config.t_clock

    def code_vector(self, instance: str) -> str:
        """The node (``<instance>.code``, volts = the code) an ngspice read gives the code of ``instance`` by."""
        return f"{instance.lower()}.code"

    @property
    def v_reference(self) -> float:
        """Volts of the capacitor DAC's reference: ``2**bits lsb``, so that code ``c`` puts ``c lsb`` on its top plate."""
        return self.levels * self.lsb

    @property
    def supplies(self) -> tuple[BlockSupply, ...]:
        """The comparator's supply ``Vdd``, its clock driver ``Vclk`` and the SAR register's 1 V level ``Vone``
        (group ``adc``), and the capacitor DAC's reference ``Vref`` (group ``adc_reference``); the residue
        stage's B sources are not supplies and their energy is not counted."""
        return (BlockSupply(ADC_SUPPLY, "Vdd", "vdd", "0"), BlockSupply(ADC_SUPPLY, "Vclk", "clk", "0"),
                BlockSupply(ADC_SUPPLY, "Vone", "one", "0"), BlockSupply(ADC_REFERENCE, "Vref", "ref", "0"))

    @property
    def pair(self) -> str:
        """Name of the ``.subckt`` of one input-pair transistor (pins d g s b): the sky130 1.8 V NMOS whose PDK
        threshold-mismatch term is off, as its threshold shift is the comparator's instance parameter."""
        return f"{self.name}_pair"

    def pair_subckt(self) -> str:
        """One input-pair transistor: ``sky130.COMPARATOR_DEVICE`` with the PDK's vth0 mismatch slope set to 0 in
        its scope (its threshold mismatch is the series source of :meth:`comparator_subckt` instead)."""
        return "\n".join([
            f".subckt {self.pair} d g s b",
            f".param {sky130.COMPARATOR_DEVICE}__vth0_slope=0",
            f"X1 d g s b {sky130.COMPARATOR_DEVICE} w={fmt(sky130.COMPARATOR_PAIR_W)} l={fmt(sky130.COMPARATOR_PAIR_L)}",
            f".ends {self.pair}"])

    def comparator_subckt(self) -> str:
        """The StrongARM latch as a ``.subckt``: with clk low both outputs are low (reset); with clk high
        ``outp`` goes to vdd when V(inp) > V(inn), else ``outn``. Instance parameters ``dvth_inp`` / ``dvth_inn``
        (volts, default 0) raise the thresholds of the input-pair transistors (sources in series with their
        gates): the comparator's offset is about ``dvth_inp - dvth_inn``."""
        p, n = sky130.PAIR_OFFSETS
        lines = [f".subckt {self.comparator} inp inn clk outp outn vdd {p}=0 {n}=0",
                 f"* StrongARM latch comparator, sky130 1.8 V devices ({self.config.corner})",
                 f"Vvtp inp gp {{{p}}}", f"Vvtn inn gn {{{n}}}",
                 f"XM2 x gp tail 0 {self.pair}", f"XM3 y gn tail 0 {self.pair}"]
        for name, d, g, s, b, model, w, l in _STRONGARM:
            lines.append(f"X{name} {d} {g} {s} {b} {model} w={fmt(w)} l={fmt(l)}")
        lines.append(f".ends {self.comparator}")
        return "\n".join(lines)

    def subckt(self) -> str:
        c = self.config
        n, t, t0, vdd = c.bits, c.t_clock, c.t_start, c.v_dd
        edge = min(_EDGE, t / 50)
        lines = [
            f".subckt {self.name} in {sky130.PAIR_OFFSETS[0]}=0 {sky130.PAIR_OFFSETS[1]}=0",
            f"* SAR column ADC: {n} bit over {fmt(c.v_min)} .. {fmt(c.v_max)} V, one bit per {fmt(t)} s from "
            f"{fmt(t0)} s; StrongARM comparator on vdd = {fmt(vdd)} V; the code is V(code)",
            f"Rin in 0 {fmt(c.r_in)}",
            f"Vdd vdd 0 {fmt(vdd)}",
            f"Vclk clk 0 PULSE(0 {fmt(vdd)} {fmt(t0 + t / 2)} {fmt(edge)} {fmt(edge)} {fmt(t / 2 - edge)} {fmt(t)})",
            "* SAR register: bit k (0 or 1 V on q<k>, held on Cq<k>) is set to 1 while u<k> is high (start of",
            "* cycle k) and takes the comparator's decision (outp high: in > dac) while s<k> is high (its end)",
            "Vone one 0 1",
            f"Bdec dec 0 V = 0.5+0.5*tanh({fmt(_SHARPNESS / vdd)}*(v(outp)-{fmt(vdd / 2)}))",
            f".model {self.name}_switch sw(vt=0.5 vh=0.1 ron={fmt(t / (100 * _C_BIT))} roff=1e12)",
        ]
        for k in range(n):
            lines += [
                f"Vu{k} u{k} 0 PULSE(0 1 {fmt(t0 + k * t)} {fmt(edge)} {fmt(edge)} {fmt(t / 8)} 1)",
                f"Vs{k} s{k} 0 PULSE(0 1 {fmt(t0 + (k + 1) * t - t / 8)} {fmt(edge)} {fmt(edge)} {fmt(t / 16)} 1)",
                f"Su{k} one q{k} u{k} 0 {self.name}_switch",
                f"Ss{k} dec q{k} s{k} 0 {self.name}_switch",
                f"Cq{k} q{k} 0 {fmt(_C_BIT)}", f"Rq{k} q{k} 0 1e9",
            ]
        weights = " + ".join(f"{1 << (n - 1 - k)}*v(q{k})" for k in range(n))
        c_total = self.levels * c.c_unit
        lines += [
            "* capacitor DAC: bit k's capacitor from the top plate to a bottom plate joined to ref while q<k> is",
            "* high, to ground while it is low; the top plate holds code * lsb; the switches draw from Vref",
            f"Vref ref 0 {fmt(self.v_reference)}",
            f".model {self.name}_plate sw(vt=0.5 vh=0.1 ron={fmt(t / (50 * c_total))} roff=1e12)",
            f"Ctu top 0 {fmt(c.c_unit)}", "Rtop top 0 1e12",
        ]
        for k in range(n):
            lines += [
                f"Ct{k} top b{k} {fmt((1 << (n - 1 - k)) * c.c_unit)}",
                f"Bnq{k} nq{k} 0 V = 1 - v(q{k})",
                f"Sr{k} ref b{k} q{k} 0 {self.name}_plate",
                f"Sg{k} b{k} 0 nq{k} 0 {self.name}_plate",
            ]
        lines += [
            "* residue stage: in - dac differentially around vdd/2",
            f"Bdac dac 0 V = {fmt(c.v_min - self.lsb / 2)} + v(top)",
            f"Bp tp 0 V = {fmt(vdd / 2)} + 0.5*(v(in)-v(dac))",
            f"Bn tn 0 V = {fmt(vdd / 2)} - 0.5*(v(in)-v(dac))",
            f"Rp tp inp {fmt(_R_DAC)}", f"Cp inp 0 {fmt(_C_DAC)}",
            f"Rn tn inn {fmt(_R_DAC)}", f"Cn inn 0 {fmt(_C_DAC)}",
            f"Xcmp inp inn clk outp outn vdd {self.comparator} "
            + " ".join(f"{q}={{{q}}}" for q in sky130.PAIR_OFFSETS),
        ]
        lines += [
            f"Bcode code 0 V = {weights}",
            "Rcode code 0 1e6",
            f".ends {self.name}",
        ]
        return "\n".join(lines)

    def define(self, net: Netlist) -> None:
        """Declare the sky130 model files of the comparator's devices, the comparator and the converter."""
        for name, value in sky130.GLOBAL_PARAMETERS.items():
            net.parameter(name, value)
        for device in (NFET, PFET):
            for path in sky130.device_libraries(device, self.config.corner, "periphery.adc.corner"):
                net.library(str(path))
            net.external_subcircuit(device, ("d", "g", "s", "b"), (("d", "s"), ("s", "b")))
        net.subcircuit(self.pair, self.pair_subckt())
        net.subcircuit(self.comparator, self.comparator_subckt())
        super().define(net)
