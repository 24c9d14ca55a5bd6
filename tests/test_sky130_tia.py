"""The transistor-level column TIA (a sky130 two-stage Miller op-amp with resistive feedback, real rails):
chosen per array from settings or TOML, checked on bad input, and read in real ngspice against -I Rf."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from memcosim.circuits.config_file import config_to_toml, load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.periphery.sky130_tia import Sky130Tia
from memcosim.circuits.periphery.tia import Tia
from memcosim.cli import main
from memcosim.config.array import ArrayConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, TiaConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.tia_characterisation import characterise_tia
from memcosim.errors import ConfigError

R_F = 10e3
READ_TOLERANCE = 1e-3  # volts: |V(out) - (-I Rf)| of every column (1/8 of an 8-bit +-1 V ADC's LSB)


def _array(circuit: str = "sky130", rows: int = 4, columns: int = 4, **tia) -> ArrayConfig:
    g = np.random.default_rng(7).uniform(2e-5, 1e-4, (rows, columns))
    per = PeripheryConfig(dac=DacConfig(), tia=TiaConfig(r_feedback=R_F, circuit=circuit, **tia), adc=AdcConfig())
    return ArrayConfig(rows, columns, conductance=g, wires=WireConfig(r_row=2.5, r_column=2.5), periphery=per)


def test_the_circuit_is_chosen_per_array_and_from_toml(tmp_path):
    assert type(build_crossbar(_array("behavioural")).blocks.tia) is Tia
    xb = build_crossbar(_array())
    assert isinstance(xb.blocks.tia, Sky130Tia)
    text = xb.netlist.render()
    assert "XTIA0 q0 o0 tia_vdd tia_vss tia_sky130\n" not in text  # no switches: the TIA sits on s<j>
    assert "XTIA0 s0 o0 tia_vdd tia_vss tia_sky130\n" in text
    assert "VTIA_DD tia_vdd 0 dc 1.8\nVTIA_SS tia_vss 0 dc -1.8\n" in text
    assert "sky130_fd_pr__pfet_g5v0d10v5__tt.corner.spice" in text
    assert xb.rail_sources == {"VTIA_DD": "tia", "VTIA_SS": "tia"}
    path = tmp_path / "array.toml"
    path.write_text("rows = 2\ncolumns = 2\nconductance = 1e-4\n[periphery.tia]\ncircuit = 'sky130'\ncorner = 'ss'\n"
                    "v_dd = 2.0\nv_ss = -2.0\n[periphery.adc]\n")
    config = load_config(path)
    assert (config.periphery.tia.circuit, config.periphery.tia.corner, config.periphery.tia.v_dd) == ("sky130", "ss", 2.0)
    assert "__ss.corner.spice" in build_crossbar(config).netlist.render()
    again = tmp_path / "again.toml"
    again.write_text(config_to_toml(config))
    assert load_config(again).periphery.tia == config.periphery.tia


@pytest.mark.parametrize("settings, message", [
    ({"circuit": "spice"}, r"periphery\.tia\.circuit: must be one of 'behavioural', 'sky130', got 'spice'"),
    ({"corner": "xx"}, r"periphery\.tia\.corner: must be one of 'tt', 'ff', 'ss', 'sf', 'fs', got 'xx'"),
    ({"v_dd": 3.0, "v_ss": -3.0}, r"periphery\.tia\.v_dd: the rails span 6 V .* at most 5\.5 V"),
    ({"v_ss": 0.0}, r"periphery\.tia\.v_ss: must be <= -0\.9 V"),
])
def test_bad_tia_settings_name_the_field(settings, message):
    with pytest.raises(ConfigError, match=message):
        TiaConfig(circuit=settings.pop("circuit", "sky130"), **settings)


def test_an_adc_range_outside_the_rails_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"periphery\.adc\.v_max: the ADC range -1 \.\. 2 V must lie inside the "
                                          r"sky130 TIA's rails \(-1\.8 \.\. 1\.8 V\)"):
        PeripheryConfig(tia=TiaConfig(circuit="sky130"), adc=AdcConfig(v_max=2.0))
    path = tmp_path / "bad.toml"
    path.write_text("rows = 2\ncolumns = 2\nconductance = 1e-4\n[periphery.tia]\ncircuit = 'sky130'\nv_dd = 0.95\n"
                    "[periphery.adc]\n")
    with pytest.raises(ConfigError, match=r"periphery\.adc\.v_max.*line"):
        load_config(path)


@pytest.mark.slow
def test_the_sky130_tia_reads_minus_i_rf():
    """Every column's TIA output is -I Rf within READ_TOLERANCE (I: the column current ngspice solved),
    the virtual ground stays within a millivolt, and the behavioural TIA reads the same currents."""
    reads = {}
    for circuit in ("sky130", "behavioural"):
        xb = build_crossbar(_array(circuit))
        with open_session(xb.netlist) as s:
            s.set_sources(xb.dac_values(xb.blocks.dac.code(np.array([0.2, 0.1, 0.15, 0.2]))))
            r = s.op(voltages=xb.tia_outputs + xb.tia_inputs, currents=xb.column_sources)
        reads[circuit] = (r.stack(xb.column_sources), r.stack(xb.tia_outputs), r.stack(xb.tia_inputs))
    current, out, virtual_ground = reads["sky130"]
    assert np.all(current > 1e-5)
    np.testing.assert_allclose(out, -current * R_F, rtol=0, atol=READ_TOLERANCE)
    assert np.all(np.abs(virtual_ground) < 1e-3)
    np.testing.assert_allclose(current, reads["behavioural"][0], rtol=2e-3)


@pytest.mark.slow
def test_the_opamp_view_measures_gain_bandwidth_margin_and_offset(tmp_path, capsys):
    """validate-periphery on an array with the sky130 TIA: a Bode plot and CSV of its op-amp, and figures a
    32x32 read needs (>= 65 dB open-loop gain under the 10 kohm feedback load, a unity-gain bandwidth of
    several MHz, >= 45 degrees of phase margin, input offset under 1 mV)."""
    path = tmp_path / "array.toml"
    path.write_text("rows = 2\ncolumns = 2\nconductance = 5e-5\n[periphery.dac]\n[periphery.tia]\ncircuit = 'sky130'\n"
                    "[periphery.adc]\n[periphery.nudge]\n")
    out = tmp_path / "views"
    assert main(["validate-periphery", str(path), "--out", str(out), "--points", "4"]) == 0
    printed = capsys.readouterr().out
    assert "view 1/7: TIA op-amp" in printed and "phase margin deg" in printed
    assert (out / "tia_opamp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(open(out / "tia_opamp.csv")))
    assert len(rows) == 10 * 20 + 1 and float(rows[0]["gain_dB"]) > 65
    fig = characterise_tia(Sky130Tia(TiaConfig(circuit="sky130")))
    assert fig.gain_db > 65 and 5e6 < fig.ugbw < 50e6 and fig.phase_margin > 45 and abs(fig.offset) < 1e-3
    assert abs(float(rows[0]["gain_dB"]) - fig.gain_db) < 0.1
    ideal = characterise_tia(Tia(TiaConfig(gain=1e5)))
    assert abs(ideal.gain_db - 100) < 1e-6 and np.isnan(ideal.ugbw) and ideal.offset == 0
