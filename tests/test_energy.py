"""Energy per supply group: every element that delivers energy is declared with its group, and the energy the
session integrates over a transient balances the dissipation and stored energy of the circuit (real ngspice)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.netlist import Netlist, Supply
from memcosim.circuits.periphery.base import ARRAY, DAC_SUPPLY, PROGRAMMING_DRIVERS, ROW_DRIVERS, TIA_SUPPLY
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, ProgrammingConfig, TiaConfig
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.errors import NetlistError


def _array(scheme: str = "V/2") -> ArrayConfig:
    return ArrayConfig(
        2, 3, DeviceConfig("resistor"), WireConfig(r_row=5.0, r_column=5.0, c_row=2e-15, c_column=3e-15),
        conductance=np.array([[1e-4, 2e-5, 5e-5], [3e-5, 8e-5, 1e-5]]),
        periphery=PeripheryConfig(dac=DacConfig(bits=4, v_min=0.0, v_max=0.3, r_out=100.0),
                                  tia=TiaConfig(gain=1e3, r_feedback=2e3), adc=AdcConfig(r_in=1e5),
                                  programming=ProgrammingConfig(scheme, PulseConfig(amplitude=1.2, width=20e-9))))


def _dissipation(xb, r, nodes: list[str]) -> float:
    """Joules dissipated in every resistor (top level and inside the DAC, TIA and ADC blocks) plus the energy
    stored in the capacitors over the transient ``r`` (node voltages ``r[node]``)."""
    t = r.time
    v = {n: r[n] for n in nodes}
    v["0"] = np.zeros_like(t)
    joules = 0.0
    for e in xb.netlist.elements:
        if e.kind in ("resistor", "wire", "cell resistor"):
            a, b = e.nodes
            joules += float(np.trapezoid((v[a] - v[b]) ** 2 / float(e.rest), t))
        elif e.kind == "capacitor":
            a, b = e.nodes
            dv = v[a] - v[b]
            joules += 0.5 * float(e.rest) * (dv[-1] ** 2 - dv[0] ** 2)
    c = xb.config.periphery
    for i, (d, out) in enumerate(zip([f"d{i}" for i in range(xb.config.rows)], xb.dac_outputs)):
        joules += float(np.trapezoid((v[d] - v[out]) ** 2 / c.dac.r_out, t))  # DAC r_out after its unity buffer
    for q, o in zip(xb.tia_inputs, xb.tia_outputs):
        joules += float(np.trapezoid((v[q] - v[o]) ** 2 / c.tia.r_feedback, t))  # TIA feedback resistor
        joules += float(np.trapezoid(v[o] ** 2 / c.adc.r_in, t))  # ADC input resistance
    return joules


def _nodes(xb) -> list[str]:
    return sorted({n for e in xb.netlist.elements for n in e.nodes if n != "0" and e.kind != "instance of adc"}
                  | {n for e in xb.netlist.elements if e.kind.startswith("instance") for n in e.nodes if n != "0"})


@pytest.mark.parametrize("scheme", ["V/2", "V/3"])
def test_supply_energy_balances_dissipation(scheme):
    """A read voltage on the rows plus a write pulse: the supplies' energy (all groups) equals the resistors'
    dissipation plus the capacitors' stored energy within 0.01 %."""
    xb = build_crossbar(_array(scheme))
    nodes = _nodes(xb)
    with open_session(xb.netlist, SessionOptions(reltol=1e-6)) as s:
        s.set_sources(xb.dac_values(np.array([9, 15])))
        waves = xb.write_waveforms(0, 1)
        r = s.tran(xb.write_duration() + 10e-9, 0.2e-9, waveforms=waves, voltages=nodes, max_step=0.5e-9)
    supplied = r.total_energy
    assert supplied > 0
    assert {ARRAY, ROW_DRIVERS, DAC_SUPPLY, TIA_SUPPLY, PROGRAMMING_DRIVERS} <= set(r.energy)
    assert r.energy[TIA_SUPPLY] > 0 and r.energy[PROGRAMMING_DRIVERS] != 0
    assert abs(r.energy[ROW_DRIVERS]) < 1e-6 * supplied  # the code voltage drives only the DAC's input
    assert supplied == pytest.approx(_dissipation(xb, r, nodes), rel=1e-4)


def test_every_source_of_an_array_is_a_supply():
    """Every independent source and every E element of the blocks is declared in a supply group."""
    xb = build_crossbar(_array())
    declared = {s.element.lower() for s in xb.netlist.supplies}
    for e in xb.netlist.elements:
        if e.kind in ("voltage source", "current source"):
            assert e.name.lower() in declared
    rows, cols = xb.config.shape
    groups = [s.group for s in xb.netlist.supplies]
    assert groups.count(DAC_SUPPLY) == rows and groups.count(TIA_SUPPLY) == cols
    assert groups.count(PROGRAMMING_DRIVERS) == rows + cols
    assert Supply(TIA_SUPPLY, "XTIA0.Eamp", "o0", "0") in xb.netlist.supplies
    assert Supply(DAC_SUPPLY, "XDAC1.Ebuf", "XDAC1.mid", "0") in xb.netlist.supplies


def test_supply_vectors_and_renaming():
    s = Supply(TIA_SUPPLY, "XTIA0.Eamp", "o0", "0")
    assert s.current_vector == "e.xtia0.eamp#branch" and s.voltage_vectors == ("o0",)
    r = s.renamed("l1_")
    assert r == Supply(TIA_SUPPLY, "Xl1_TIA0.Eamp", "l1_o0", "0")
    assert Supply("nudge", "INUDGE0", "0", "q0").current_vector == "@inudge0[current]"
    assert Supply("neurons", "GA0_1P", "h0_1", "0").current_vector == "@ga0_1p[i]"
    assert Supply("dac", "XDAC0.Ebuf", "XDAC0.mid", "0").voltage_vectors == ("xdac0.mid",)


def test_supply_declaration_errors():
    net = Netlist()
    net.voltage_source("V1", "a", "0", 1.0)
    net.supply("row_drivers", "V1", "a", "0")
    with pytest.raises(NetlistError, match="declared twice"):
        net.supply("row_drivers", "v1", "a", "0")
    with pytest.raises(NetlistError, match="supply group"):
        net.supply("Row Drivers", "V2", "a", "0")
    with pytest.raises(NetlistError, match="V, E, I or G"):
        net.supply("array", "R1", "a", "0")


def test_no_energy_when_switched_off():
    xb = build_crossbar(_array())
    with open_session(xb.netlist, SessionOptions(energy=False)) as s:
        r = s.tran(10e-9, 1e-9, waveforms=xb.write_waveforms(0, 0), currents=["VCOL0"])
    assert r.energy == {} and r.total_energy == 0.0
