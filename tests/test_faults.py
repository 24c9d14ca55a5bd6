"""Fault injection in ngspice: stuck cells, open and bridged wire segments, dead DAC/ADC channels, drift."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.config_file import config_from_dict, config_to_toml, load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.devices.catalog import get_device
from memcosim.circuits.faults import draw_faults, drift, on_bound, stick_cells
from memcosim.config.faults import FaultConfig
from memcosim.config.pulse import PulseConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, ProgrammingConfig, TiaConfig
from memcosim.cosim.readout import read_array
from memcosim.circuits.waveforms import pulse
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError

LID = "linear_ion_drift"


def test_stuck_on_reads_at_gmax_and_stuck_off_at_gmin_whatever_is_written_or_pulsed():
    cfg = ArrayConfig(6, 6, device=DeviceConfig(LID, {"mu_v": 1e-9}), states=0.5,
                      faults=FaultConfig(stuck_on=0.2, stuck_off=0.2, seed=4),
                      periphery=PeripheryConfig(programming=ProgrammingConfig("V/2", PulseConfig(amplitude=1.0))))
    xb = build_crossbar(cfg)
    fm = xb.faults
    assert fm.stuck_on.any() and fm.stuck_off.any() and not (fm.stuck_on & fm.stuck_off).any()
    g_min, g_max = get_device(LID).conductance_range()
    with open_session(xb.netlist) as s:
        for written in (0.0, 1.0, 0.3):  # OFF bound, ON bound, in between: stuck cells ignore it
            s.set_states(np.full(s.states.size, written))
            g = read_array(s, xb, v_read=0.1)
            np.testing.assert_allclose(g[fm.stuck_on], g_max, rtol=1e-6)
            np.testing.assert_allclose(g[fm.stuck_off], g_min, rtol=1e-6)
            healthy = ~fm.stuck
            np.testing.assert_allclose(g[healthy], get_device(LID).conductance_range()[0] if written == 0 else
                                       1 / (100 * written + 16e3 * (1 - written)), rtol=1e-6)
        # a strong SET pulse on every row moves the healthy cells but not the stuck-OFF ones
        s.set_states(np.full(s.states.size, 0.2))
        s.tran(1.2e-6, 1e-8, waveforms={n: pulse(1.5, 1e-6) for n in xb.program_row_sources})
        g = read_array(s, xb, v_read=0.1)
        assert np.all(g[~fm.stuck] > 1 / (100 * 0.2 + 16e3 * 0.8) * 1.01)
        np.testing.assert_allclose(g[fm.stuck_off], g_min, rtol=1e-6)
        np.testing.assert_allclose(g[fm.stuck_on], g_max, rtol=1e-6)


def test_open_row_segment_cuts_the_cells_beyond_it_and_an_open_column_segment_the_cells_above_it():
    rng = np.random.default_rng(0)
    G = rng.uniform(1e-5, 1e-4, (4, 6))
    base = ArrayConfig(4, 6, wires=WireConfig(r_row=1.0, r_column=1.0), conductance=G)
    xb0 = build_crossbar(base)
    # open exactly one chosen segment: row 1 between columns 2 and 3; column 4 between rows 0 and 1
    fm = draw_faults(FaultConfig(), 4, 6)
    fm.open_row[1, 2] = True
    fm.open_column[0, 4] = True
    from memcosim.circuits.faults import apply_faults

    xb = build_crossbar(ArrayConfig(4, 6, wires=WireConfig(r_row=1.0, r_column=1.0), conductance=G))
    apply_faults(xb, fm)
    v = np.full(4, 0.2)
    with open_session(xb0.netlist) as s:
        s.set_sources(dict(zip(xb0.row_sources, v)))
        i0 = s.op(currents=xb0.column_sources, voltages=[xb0.row_node(1, j) for j in range(6)])
    with open_session(xb.netlist) as s:
        s.set_sources(dict(zip(xb.row_sources, v)))
        i1 = s.op(currents=xb.column_sources, voltages=[xb.row_node(1, j) for j in range(6)])
    v_row = np.array([i1[xb.row_node(1, j)] for j in range(6)])
    assert np.all(v_row[:3] > 0.19) and np.all(np.abs(v_row[3:]) < 0.2 * 1e-3)  # beyond the open: cut off
    c0, c1 = i0.stack(xb0.column_sources), i1.stack(xb.column_sources)
    # columns 3 and 5 lose exactly row 1's cell (column 4 also loses row 0's cell above its open segment)
    for j in (3, 5):
        assert c0[j] - c1[j] == pytest.approx(0.2 * G[1, j], rel=2e-2)
    assert c0[4] - c1[4] == pytest.approx(0.2 * (G[1, 4] + G[0, 4]), rel=2e-2)
    np.testing.assert_allclose(c1[:3], c0[:3], rtol=2e-2)


def test_bridged_rows_pull_their_voltages_together():
    G = np.full((3, 3), 1e-4)
    fm = draw_faults(FaultConfig(), 3, 3)
    fm.short_row[0, 2] = True  # rows 0 and 1 bridged at column 2
    from memcosim.circuits.faults import apply_faults

    xb = build_crossbar(ArrayConfig(3, 3, wires=WireConfig(r_row=1.0, r_column=1.0, r_driver=1e3), conductance=G))
    apply_faults(xb, fm)
    assert any(e.name == "RSHR0_2" for e in xb.netlist.elements)
    with open_session(xb.netlist) as s:
        s.set_sources({"VROW0": 0.2, "VROW1": 0.0, "VROW2": 0.0})
        r = s.op(voltages=[xb.row_node(0, 2), xb.row_node(1, 2), xb.row_node(2, 2)])
    assert abs(r[xb.row_node(0, 2)] - r[xb.row_node(1, 2)]) < 1e-3 * 0.2
    assert 0.05 < r[xb.row_node(1, 2)] < 0.15 and abs(r[xb.row_node(2, 2)]) < 1e-3


def test_dead_dac_row_stays_at_0_V_and_dead_adc_column_reads_code_0():
    per = PeripheryConfig(dac=DacConfig(bits=4, v_max=0.2, r_out=10.0), tia=TiaConfig(), adc=AdcConfig(bits=6))
    cfg = ArrayConfig(8, 8, conductance=5e-5, periphery=per, faults=FaultConfig(dead_dac=0.3, dead_adc=0.3, seed=2))
    xb = build_crossbar(cfg)
    dead_rows, dead_cols = xb.faults.dead_dac, xb.faults.dead_adc
    assert dead_rows.any() and (~dead_rows).any() and dead_cols.any() and (~dead_cols).any()
    with open_session(xb.netlist) as s:
        s.set_sources(xb.dac_values(np.full(8, 15)))
        r = s.op(voltages=xb.dac_outputs + xb.tia_outputs)
    v_dac = np.array([r[n] for n in xb.dac_outputs])
    assert np.all(np.abs(v_dac[dead_rows]) < 1e-6) and np.all(v_dac[~dead_rows] > 0.19)
    v_tia = np.array([r[n] for n in xb.tia_outputs])
    codes = xb.adc_codes(v_tia)
    healthy_codes = xb.blocks.adc.convert(v_tia)
    assert np.all(codes[dead_cols] == 0) and np.all(codes[~dead_cols] == healthy_codes[~dead_cols])
    assert np.all(healthy_codes[dead_cols] > 0)  # the column itself has signal: the channel is what is dead


def test_drift_moves_states_toward_rest_with_time_and_only_for_drifting_devices():
    cfg = ArrayConfig(6, 6, device=DeviceConfig(LID), states=0.9,
                      faults=FaultConfig(drift=0.5, drift_tau=100.0, seed=1))
    xb = build_crossbar(cfg)
    on, off = on_bound(LID)
    with open_session(xb.netlist) as s:
        a = drift(s, xb, 50.0)
        b = drift(s, xb, 50.0)
        g = read_array(s, xb, v_read=0.1)
    m = xb.faults.drifting
    assert m.any() and (~m).any()
    np.testing.assert_allclose(a[m], off + 0.9 * np.exp(-0.5), rtol=1e-9)
    np.testing.assert_allclose(b[m], off + 0.9 * np.exp(-1.0), rtol=1e-9)
    np.testing.assert_allclose(b[~m], 0.9)
    # the circuit sees it: drifted cells read lower conductance than the others
    assert g[m].max() < g[~m].min()


def test_fault_rates_hit_the_configured_fraction_within_sampling_error_and_repeat_from_the_seed():
    fc = FaultConfig(stuck_on=0.05, stuck_off=0.1, open_row=0.02, short_column=0.03, dead_adc=0.2, drift=0.3, seed=11)
    R = C = 200
    fm = draw_faults(fc, R, C)
    for mask, p in ((fm.stuck_on, 0.05), (fm.stuck_off, 0.1), (fm.open_row, 0.02), (fm.short_column, 0.03)):
        n = mask.size
        assert abs(mask.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert abs(fm.dead_adc.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / C)
    drift_sites = ~(fm.stuck_on | fm.stuck_off)
    assert abs(fm.drifting[drift_sites].mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / drift_sites.sum())
    again = draw_faults(fc, R, C)
    for k in ("stuck_on", "stuck_off", "open_row", "short_column", "dead_adc", "drifting"):
        assert np.array_equal(getattr(fm, k), getattr(again, k))
    other = draw_faults(FaultConfig(stuck_on=0.05, stuck_off=0.1, open_row=0.02, short_column=0.03, dead_adc=0.2,
                                    drift=0.3, seed=12), R, C)
    assert not np.array_equal(fm.stuck_on, other.stuck_on)
    # one kind's rate does not move another kind's faults
    more_opens = draw_faults(FaultConfig(stuck_on=0.05, stuck_off=0.1, open_row=0.5, seed=11), R, C)
    assert np.array_equal(more_opens.stuck_on, fm.stuck_on)
    # the same netlist from the same seed
    cfg = dict(rows=8, columns=8, device=DeviceConfig(LID), wires=WireConfig(r_row=1.0, r_column=1.0))
    t1 = build_crossbar(ArrayConfig(**cfg, faults=FaultConfig(stuck_on=0.2, open_row=0.1, seed=5))).netlist.render()
    t2 = build_crossbar(ArrayConfig(**cfg, faults=FaultConfig(stuck_on=0.2, open_row=0.1, seed=5))).netlist.render()
    assert t1 == t2 and "_stuck_on" in t1


def test_faults_load_from_toml_and_bad_values_name_the_field(tmp_path):
    text = ("rows = 4\ncolumns = 4\nmodel = 'linear_ion_drift'\nr_row = 1.0\n"
            "[faults]\nstuck_on = 0.25\nopen_row = 0.1\nseed = 3\n")
    path = tmp_path / "x.toml"
    path.write_text(text)
    cfg = load_config(path)
    assert cfg.faults.stuck_on == 0.25 and cfg.faults.seed == 3
    again = config_from_dict(__import__("tomllib").loads(config_to_toml(cfg)))
    assert again.faults == cfg.faults
    with pytest.raises(ConfigError, match="faults.stuck_onn: unknown key"):
        config_from_dict({"rows": 2, "columns": 2, "conductance": 1e-4, "faults": {"stuck_onn": 0.1}})
    with pytest.raises(ConfigError, match="faults.stuck_on"):
        config_from_dict({"rows": 2, "columns": 2, "conductance": 1e-4, "faults": {"stuck_on": 1.5}})
    with pytest.raises(ConfigError, match="faults.stuck_off"):
        FaultConfig(stuck_on=0.7, stuck_off=0.5)
    with pytest.raises(ConfigError, match="faults.open_row.*r_row"):
        ArrayConfig(2, 2, conductance=1e-4, faults=FaultConfig(open_row=0.1))
    with pytest.raises(ConfigError, match="faults.dead_adc.*periphery.adc"):
        ArrayConfig(2, 2, conductance=1e-4, faults=FaultConfig(dead_adc=0.1))
    with pytest.raises(ConfigError, match="faults.seed"):
        FaultConfig(seed="3")


def test_stuck_resistor_cells_and_stick_cells_on_any_netlist():
    G = np.linspace(1e-5, 1e-4, 16).reshape(4, 4)
    xb = build_crossbar(ArrayConfig(4, 4, conductance=G, faults=FaultConfig(stuck_on=0.3, stuck_off=0.3, seed=0)))
    with open_session(xb.netlist) as s:
        g = read_array(s, xb, v_read=0.1)
    np.testing.assert_allclose(g[xb.faults.stuck_on], G.max(), rtol=1e-9)
    np.testing.assert_allclose(g[xb.faults.stuck_off], G.min(), rtol=1e-9)
    np.testing.assert_allclose(g[~xb.faults.stuck], G[~xb.faults.stuck], rtol=1e-9)
    # pin chosen memristors of an already built netlist (what an EP network or a study would do)
    xb = build_crossbar(ArrayConfig(2, 2, device=DeviceConfig("vteam")))
    on = np.array([[True, False], [False, False]])
    off = np.array([[False, False], [False, True]])
    stick_cells(xb.netlist, xb.cells, on, off, "vteam")
    g_min, g_max = get_device("vteam").conductance_range()
    with open_session(xb.netlist) as s:
        s.set_states(np.full(4, on_bound("vteam")[1]))
        g = read_array(s, xb, v_read=0.1)
    assert g[0, 0] == pytest.approx(g_max, rel=1e-6) and g[1, 1] == pytest.approx(g_min, rel=1e-6)
