"""Energy per supply group: every element that delivers energy is declared with its group, and the energy the
session integrates over a transient balances the dissipation and stored energy of the circuit (real ngspice)."""

from __future__ import annotations

import csv
from pathlib import Path

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


@pytest.mark.slow
def test_settling_grows_with_wire_capacitance_and_read_energy_counts_every_group(tmp_path):
    """The transient views on a small resistor array: settling to half an LSB takes longer with more wire
    capacitance; a read's energy per group sums to its total and the TIA and DAC both draw."""
    from memcosim.cosim.periphery_views import read_energy_view, resized, settling_view

    config = resized(_array(), 4)
    view = settling_view(config, tmp_path, sizes=(4, 8), capacitances=(1e-15, 1e-13))
    rows = list(csv.DictReader(open(view.csv)))
    assert len(rows) == 4 and view.png.read_bytes()[:4] == b"\x89PNG"
    t = {(int(r["rows"]), float(r["c_wire_F"])): float(r["settling_s"]) for r in rows}
    assert all(np.isfinite(v) and v > 0 for v in t.values())
    assert t[(8, 1e-13)] > t[(8, 1e-15)] and t[(8, 1e-13)] > t[(4, 1e-13)]
    read = read_energy_view(config, tmp_path)
    groups = {r["group"]: float(r["energy_J"]) for r in csv.DictReader(open(read.csv))}
    assert groups[TIA_SUPPLY] > 0 and groups[DAC_SUPPLY] > 0
    assert read.summary["total J"] == pytest.approx(sum(groups.values()))


@pytest.mark.slow
def test_validate_periphery_transient_views(tmp_path, capsys):
    from memcosim.cli import main

    out = tmp_path / "views"
    config = Path(__file__).resolve().parent.parent / "netlists" / "crossbar_4x4_1r.toml"
    assert main(["validate-periphery", str(config), "--out", str(out), "--points", "4", "--transients",
                 "--settling-sizes", "4,8", "--wire-capacitances", "1e-15"]) == 0
    printed = capsys.readouterr().out
    assert all(f"view {k}/10: " in printed for k in range(1, 11)) and "read settling 8x8" in printed
    for name in ("read_settling", "read_energy", "write_line_voltages"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG" and (out / f"{name}.csv").exists()
    lines = list(csv.DictReader(open(out / "write_line_voltages.csv")))
    assert {r["scheme"] for r in lines} == {"V/2", "V/3"} and len(lines) == 2 * 2 * 8
    selected = [r for r in lines if r["line"] == "row" and r["index"] == "2" and float(r["amplitude_V"]) > 0]
    assert all(0.9 < float(r["v_driver_end_V"]) / float(r["nominal_V"]) <= 1.0 for r in selected)
    energy = list(csv.DictReader(open(out / "write_energy.csv")))
    assert {r["group"] for r in energy} >= {"programming_drivers", "tia", "dac"}
    assert main(["validate-periphery", str(config), "--out", str(out), "--settling-sizes", "4,x"]) == 2
