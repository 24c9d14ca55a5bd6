"""Column ADC codes from the circuit, and the comparator of a transistor-level ADC measured on its own.

:func:`convert` gives every column's code for the sources now set: with the behavioural ADC from one
operating point (the TIA outputs through :meth:`~memcosim.circuits.periphery.adc.Adc.convert`); with
the SAR ADC (:class:`~memcosim.circuits.periphery.adc.SarAdc`) from one transient of its conversion time,
in which the comparators decide and the SAR logic leaves each code on a node.

:func:`measure_comparator` simulates the SAR ADC's StrongARM comparator alone (one clock cycle per input):
its input offset (bisection on the input difference) and its resolution time. :func:`check_comparator`
refuses a comparator that does not decide half an LSB correctly before the SAR latches the decision,
with an error naming the block and ``periphery.adc.t_clock``; :func:`convert` runs it once per
block before the first conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits.netlist import Netlist, fmt
from memcosim.circuits.periphery.adc import SarAdc
from memcosim.circuits.sky130 import PAIR_OFFSETS
from memcosim.circuits.waveforms import Pwl
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError

_CHECKED: set[str] = set()  # SAR ADC sub-circuits whose comparator passed check_comparator in this process


@dataclass(frozen=True)
class Decision:
    """One clock cycle of the comparator: the input difference ``dv`` (volts, V(inp) - V(inn)), the decision
    latched by the SAR (``+1``: inp higher, ``-1``: inn higher, ``0``: not resolved) and the resolution
    time (seconds from the clock's rising edge until one output crosses vdd/2; inf if none does)."""

    dv: float
    decision: int
    resolution_time: float


@dataclass(frozen=True)
class ComparatorFigures:
    """What :func:`measure_comparator` found: input ``offset`` (volts: the input difference at which the
    decision flips, within ``offset_resolution`` volts), the resolution time (seconds) for an input
    difference of half an LSB (``t_resolve_half_lsb``) and of 1 mV (``t_resolve_1mv``), and the time
    the SAR leaves it (``t_available``: from the clock edge to the flip-flop's clock)."""

    offset: float
    offset_resolution: float
    t_resolve_half_lsb: float
    t_resolve_1mv: float
    t_available: float


def _bench(adc: SarAdc, pair: tuple[float, float] = (0.0, 0.0)) -> Netlist:
    net = Netlist(title=f"comparator of {adc.name}")
    adc.define(net)
    vdd = adc.config.v_dd
    net.voltage_source("VDD", "vdd", "0", vdd)
    net.voltage_source("VCLK", "clk", "0", 0.0)
    net.voltage_source("VINP", "inp", "0", vdd / 2)
    net.voltage_source("VINN", "inn", "0", vdd / 2)
    shifts = " ".join(f"{q}={fmt(v)}" for q, v in zip(PAIR_OFFSETS, pair))
    net.add("XCMP", ("inp", "inn", "clk", "outp", "outn", "vdd"), f"{adc.comparator} {shifts}",
            f"instance of {adc.comparator}")
    net.resistor("RLP", "outp", "0", 1e9)
    net.resistor("RLN", "outn", "0", 1e9)
    return net


def _cycle(session, adc: SarAdc, dv: float) -> Decision:
    """One reset + evaluate cycle of the comparator alone with input difference ``dv`` volts."""
    t, vdd, edge = adc.config.t_clock, adc.config.v_dd, 20e-12
    session.set_sources({"VINP": vdd / 2 + dv / 2, "VINN": vdd / 2 - dv / 2})
    clock = Pwl((0.0, t / 2, t / 2 + edge, 2 * t), (0.0, 0.0, vdd, vdd))
    r = session.tran(t, t / 200, waveforms={"VCLK": clock}, voltages=["outp", "outn"], max_step=t / 200)
    time, outp, outn = r.time, r["outp"], r["outn"]
    latch = t - t / 8  # the SAR's flip-flop takes the decision here (SarAdc: s<k> at the end of cycle k)
    k = int(np.searchsorted(time, latch))
    k = min(k, time.size - 1)
    p, n = float(outp[k]), float(outn[k])
    decision = 1 if p > vdd / 2 >= n else -1 if n > vdd / 2 >= p else 0
    after = time >= t / 2 + edge / 2
    crossed = np.nonzero(after & (np.maximum(outp, outn) > vdd / 2))[0]
    resolve = float(time[crossed[0]] - (t / 2 + edge / 2)) if crossed.size else float("inf")
    return Decision(dv, decision, resolve)


def measure_comparator(adc: SarAdc, offset_span: float = 20e-3, offset_steps: int = 14,
                       pair: tuple[float, float] = (0.0, 0.0)) -> ComparatorFigures:
    """Offset and resolution time of ``adc``'s comparator at its supply, clock and corner (a few seconds), with its
    input pair's thresholds raised by ``pair`` volts (+ side, - side; e.g. a draw of
    :func:`memcosim.circuits.sky130.apply_mismatch`)."""
    with open_session(_bench(adc, pair), SessionOptions(retry=False)) as s:
        half = _cycle(s, adc, adc.lsb / 2)
        one_mv = _cycle(s, adc, 1e-3)
        lo, hi = -offset_span, offset_span
        if _cycle(s, adc, lo).decision != -1 or _cycle(s, adc, hi).decision != 1:
            offset, resolution = float("nan"), offset_span
        else:
            for _ in range(offset_steps):
                mid = (lo + hi) / 2
                if _cycle(s, adc, mid).decision == 1:
                    hi = mid
                else:
                    lo = mid
            offset, resolution = (lo + hi) / 2, (hi - lo) / 2
    t = adc.config.t_clock
    return ComparatorFigures(offset, resolution, half.resolution_time, one_mv.resolution_time, t / 2 - t / 8)


def check_comparator(adc: SarAdc) -> list[Decision]:
    """The comparator's decisions for +-half an LSB; a ConfigError naming the block and
    ``periphery.adc.t_clock`` unless both are right before the SAR latches them."""
    with open_session(_bench(adc), SessionOptions(retry=False)) as s:
        decisions = [_cycle(s, adc, sign * adc.lsb / 2) for sign in (1, -1)]
    t = adc.config.t_clock
    window = t / 2 - t / 8
    for d, want in zip(decisions, (1, -1)):
        if d.decision != want or not d.resolution_time < window:
            got = {1: "inp higher", -1: "inn higher", 0: "nothing (both outputs low)"}[d.decision]
            raise ConfigError("periphery.adc.t_clock",
                              f"the comparator of ADC block {adc.name!r} does not resolve {d.dv * 1e3:+.3g} mV "
                              f"(half an LSB of {adc.config.bits} bits over {adc.config.v_min:g} .. {adc.config.v_max:g} V) "
                              f"within the {window * 1e12:.0f} ps before the SAR latches it (vdd = {adc.config.v_dd:g} V, "
                              f"corner {adc.config.corner}): it decided {got}, resolution time "
                              f"{d.resolution_time * 1e12:.0f} ps; raise t_clock or vdd, or convert fewer bits")
    return decisions


def convert(session, xbar, check: bool = True) -> np.ndarray:
    """The column ADC codes (one per column) for the source values now set in ``session``.

    Behavioural ADC: one operating point of the TIA outputs. SAR ADC: one transient of its conversion
    time (device states move as in any transient; a read voltage moves them negligibly in nanoseconds),
    after :func:`check_comparator` (once per block and process, with ``check``). A dead-ADC fault reads 0.
    """
    adc = xbar.blocks.adc
    if adc is None:
        raise ConfigError("periphery.adc", "this array has no column ADCs")
    if not isinstance(adc, SarAdc):
        volts = session.op(voltages=xbar.tia_outputs).stack(xbar.tia_outputs)
        return xbar.adc_codes(volts)
    key = adc.subckt() + adc.comparator_subckt()
    if check and key not in _CHECKED:
        check_comparator(adc)
        _CHECKED.add(key)
    vectors = [adc.code_vector(name) for name in xbar.adc_instances]
    t = adc.config.t_clock
    r = session.tran(adc.conversion_time, t / 20, voltages=vectors, max_step=t / 20)
    codes = np.rint([r[v][-1] for v in vectors]).astype(int)
    if xbar.faults is not None and xbar.faults.dead_adc.any():
        codes[xbar.faults.dead_adc] = 0
    return codes
