"""Structure checks: floating nodes, single connections, cells between lines, sources."""

from __future__ import annotations

import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.netlist import Netlist
from memcosim.config.periphery import PeripheryConfig
from memcosim.circuits.structure import check_structure, structure_problems
from memcosim.errors import NetlistError


def _divider() -> Netlist:
    net = Netlist(title="divider")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "b", 1e3)
    net.resistor("R2", "b", "0", 1e3)
    return net


def test_sound_netlists_pass():
    check_structure(_divider(), sources=["V1"])
    for cell in ("1R", "1T1R"):
        xbar = build_crossbar(ArrayConfig(3, 4, device=DeviceConfig("linear_ion_drift"),
                                          wires=WireConfig(r_row=1.0, r_column=1.0, r_driver=2.0, c_row=1e-15),
                                          cell=cell, periphery=PeripheryConfig.full()))
        assert structure_problems(xbar.netlist, xbar.sources) == []


def test_memristor_state_node_is_accepted_but_other_single_connections_are_not():
    net = _divider()
    net.memristor("N1", "b", "0", "xstate", "linear_ion_drift")
    check_structure(net)  # xstate has one connection: the device owns it
    net.resistor("R3", "b", "dangling", 1e3)
    with pytest.raises(NetlistError, match="single connection: dangling"):
        check_structure(net)


def test_floating_node_is_named():
    net = _divider()
    net.resistor("R3", "island1", "island2", 1e3)
    net.capacitor("C1", "island2", "0", 1e-12)  # a capacitor is no DC path
    net.resistor("R4", "island1", "island2", 2e3)
    with pytest.raises(NetlistError, match="floating nodes \\(no DC path to ground\\): island1, island2"):
        check_structure(net)


def test_current_source_alone_does_not_ground_a_node():
    net = _divider()
    net.current_source("I1", "0", "n1", 1e-6)
    net.resistor("R3", "n1", "n2", 1e3)
    net.capacitor("C2", "n2", "0", 1e-12)
    problems = structure_problems(net)
    assert any("floating" in p and "n1" in p and "n2" in p for p in problems)


def test_cell_across_two_rows_is_named():
    xbar = build_crossbar(ArrayConfig(2, 2, wires=WireConfig(r_row=1.0, r_column=1.0), conductance=1e-4))
    net = xbar.netlist
    net.resistor("RBAD", "r0_0", "r1_1", 1e3, kind="cell resistor")
    with pytest.raises(NetlistError, match="cells not between exactly one row and one column line: RBAD \\(row 0, row 1\\)"):
        check_structure(net)


def test_transistor_and_memristor_form_one_cell():
    xbar = build_crossbar(ArrayConfig(2, 2, device=DeviceConfig("linear_ion_drift"), cell="1T1R"))
    net = xbar.netlist
    assert structure_problems(net) == []
    net.mosfet("MBAD", "m0_0", "w0", "c1_1", "0", "nacc", 1e-6, 1e-7)  # second transistor to another column
    with pytest.raises(NetlistError, match="NC0_0\\+MA0_0\\+MBAD \\(column 0, column 1, row 0\\)"):
        check_structure(net)


def test_unreferenced_and_missing_sources_are_named():
    net = _divider()
    net.voltage_source("VSPARE", "b", "0", 0.0)
    with pytest.raises(NetlistError, match="sources nothing drives or reads: VSPARE"):
        check_structure(net, sources=["V1"])
    with pytest.raises(NetlistError, match="declared sources missing from the netlist: VGHOST"):
        check_structure(_divider(), sources=["V1", "VGHOST"])


def test_many_problems_are_all_reported_and_long_lists_shortened():
    net = _divider()
    for k in range(20):
        net.resistor(f"RD{k}", "b", f"loose{k}", 1.0)
    with pytest.raises(NetlistError, match=r"loose0, loose1, loose2, .*\(\+8 more\)"):
        check_structure(net)
