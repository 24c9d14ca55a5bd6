"""Bring your own block: a user's ``.subckt`` file and its model libraries in a periphery slot, from TOML
alone; pin and control-line checks; ``validate-periphery`` on the user's block (real ngspice)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from memcosim.circuits.config_file import config_to_toml, load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.netlist import Netlist
from memcosim.cli import main
from memcosim.errors import ConfigError, NetlistError

ARRAY = """\
rows = 3
columns = 3
conductance = [[1e-4, 5e-5, 2e-5], [5e-5, 1e-4, 5e-5], [2e-5, 5e-5, 1e-4]]

[wires]
r_row = 2.5
r_column = 2.5

[periphery.dac]
bits = 6
[periphery.tia]
gain = 1e4
r_feedback = 5000.0
[periphery.adc]
bits = 8
[periphery.nudge]
"""

TIA = """\
* a designer's TIA: a two-pole op-amp macro-model with resistive feedback
.subckt opamp inp inm out
Ein x 0 inp inm {a0}
R1 x y 1k
C1 y 0 1p
Eout out 0 y 0 1
.ends opamp
.subckt my_tia inm out
Xop 0 inm out opamp
Rf inm out {rfb}
.ends my_tia
"""

PARTS = """\
* the TIA's values, per corner
.lib typ
.param a0=1e4 rfb=5000
.endl typ
.lib slow
.param a0=1e3 rfb=5000
.endl slow
"""


def _write(folder: Path, tia: str = TIA, block: str = "") -> Path:
    (folder / "tia.sp").write_text(tia)
    (folder / "parts.lib").write_text(PARTS)
    block = block or ('[blocks.tia]\nfile = "tia.sp"\nsubckt = "my_tia"\npins = ["inm", "out"]\n'
                      'libraries = [{file = "parts.lib", section = "typ"}]\n')
    path = folder / "array.toml"
    path.write_text(ARRAY + "\n" + block)
    return path


def _rows(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_a_users_tia_replaces_the_builtin_from_toml_and_gets_the_views(tmp_path, capsys):
    config = load_config(_write(tmp_path))
    text = build_crossbar(config).netlist.render()
    assert f'.lib "{tmp_path / "parts.lib"}" typ\n.include "{tmp_path / "tia.sp"}"\n' in text
    assert "XTIA0 s0 o0 my_tia\n" in text and ".subckt tia" not in text
    # the saved config reads back to the same blocks
    saved = tmp_path / "saved.toml"
    saved.write_text(config_to_toml(config))
    assert load_config(saved).blocks == config.blocks

    ours, builtin = tmp_path / "ours", tmp_path / "builtin"
    assert main(["validate-periphery", str(tmp_path / "array.toml"), "--out", str(ours), "--points", "8"]) == 0
    (tmp_path / "plain.toml").write_text(ARRAY)
    assert main(["validate-periphery", str(tmp_path / "plain.toml"), "--out", str(builtin), "--points", "8"]) == 0
    capsys.readouterr()
    assert (ours / "tia_opamp.png").is_file() and (ours / "tia_opamp.csv").is_file()  # the user's op-amp, measured
    for name in ("ir_drop", "dac_transfer", "adc_transfer", "tia_virtual_ground"):
        assert (ours / f"{name}.png").is_file()
        a, b = _rows(ours / f"{name}.csv"), _rows(builtin / f"{name}.csv")
        assert len(a) == len(b) > 2
        for ra, rb in zip(a, b):  # the same op-amp gain and feedback: the same figures as the built-in TIA
            for key in ra:
                np.testing.assert_allclose(float(ra[key]), float(rb[key]), rtol=1e-6, atol=1e-12, err_msg=f"{name} {key}")


def test_a_tia_without_an_operating_point_is_refused_before_the_views(tmp_path, capsys):
    bad = TIA.replace("Rf inm out {rfb}\n", "Rf inm out {rfb}\nV1 b 0 1\nV2 b 0 2\nRb b inm 1meg\n")
    path = _write(tmp_path, bad)
    out = tmp_path / "views"
    assert main(["validate-periphery", str(path), "--out", str(out), "--points", "8"]) == 2
    err = capsys.readouterr().err
    assert "blocks.tia: the TIA block 'my_tia' has no DC operating point in ngspice" in err, err
    assert "periphery.tia.circuit = 'behavioural'" in err and "Traceback" not in err
    assert not (out / "ir_drop.csv").exists()


def test_wrong_pin_count_names_the_block_and_the_slot(tmp_path):
    three = TIA.replace(".subckt my_tia inm out", ".subckt my_tia inm out vdd").replace("Rf inm out", "Rdd vdd 0 1k\nRf inm out")
    path = _write(tmp_path, three, '[blocks.tia]\nfile = "tia.sp"\nsubckt = "my_tia"\n')
    with pytest.raises(ConfigError, match=r"blocks\.tia\.pins: block 'my_tia' .*tia\.sp\) has 3 pin\(s\) \(inm out vdd\) "
                                          r"but the tia slot connects 2"):
        build_crossbar(load_config(path))
    path = _write(tmp_path, TIA, '[blocks.tia]\nfile = "tia.sp"\nsubckt = "my_tia"\npins = ["in", "out"]\n')
    with pytest.raises(ConfigError, match=r"blocks\.tia\.pins: \['in', 'out'\] differ from the pins of .subckt my_tia .*line 8"):
        build_crossbar(load_config(path))


@pytest.mark.parametrize("line", [".control", ".tran 1n 10n", ".op", ".end", ".options reltol=1e-2", ".endc"])
def test_control_and_analysis_lines_are_refused_naming_block_file_and_line(tmp_path, line):
    path = _write(tmp_path, TIA.replace("Rf inm out {rfb}\n", f"Rf inm out {{rfb}}\n{line}\n"))
    card = line.split()[0]
    with pytest.raises(ConfigError, match=rf"blocks\.tia: .*tia\.sp line 11: \{card} is not allowed"):
        build_crossbar(load_config(path))


def test_control_lines_in_a_library_or_its_includes_are_refused(tmp_path):
    (tmp_path / "inner.inc").write_text("* nested\n.control\nshell rm -rf x\n.endc\n")
    path = _write(tmp_path)
    (tmp_path / "parts.lib").write_text(PARTS.replace(".endl typ", '.include "inner.inc"\n.endl typ'))
    with pytest.raises(ConfigError, match=r"blocks\.tia: .*inner\.inc line 2: \.control is not allowed"):
        build_crossbar(load_config(path))


def test_missing_files_and_sections_are_named(tmp_path):
    path = _write(tmp_path, block='[blocks.tia]\nfile = "nope.sp"\nsubckt = "my_tia"\n')
    with pytest.raises(ConfigError, match=r"blocks\.tia: .*nope\.sp is not a file"):
        build_crossbar(load_config(path))
    path = _write(tmp_path, block='[blocks.tia]\nfile = "tia.sp"\nsubckt = "my_tia"\n'
                                  'libraries = [{file = "parts.lib", section = "fast"}]\n')
    with pytest.raises(ConfigError, match=r"blocks\.tia: .*parts\.lib has no section '\.lib fast'"):
        build_crossbar(load_config(path))
    path = _write(tmp_path, block='[blocks.tia]\nfile = "tia.sp"\nsubckt = "their_tia"\n')
    with pytest.raises(ConfigError, match=r"blocks\.tia\.subckt: .*defines no \.subckt their_tia \(it defines: opamp, my_tia\)"):
        build_crossbar(load_config(path))
    path = _write(tmp_path, block='[blocks.nudge]\nfile = "tia.sp"\nsubckt = "my_tia"\n')
    with pytest.raises(ConfigError, match=r"blocks\.nudge: no slot of that name takes a user's block"):
        load_config(path)


def test_includes_stay_refused_outside_the_declared_path():
    net = Netlist()
    with pytest.raises(NetlistError, match="not allowed"):
        net.subcircuit("x", '.subckt x a b\n.include "/etc/passwd"\nR1 a b 1k\n.ends x')
    with pytest.raises(NetlistError, match="absolute path"):
        net.library("relative/models.lib")


OPAMP_TIA = """\
* a designer's TIA with its own rails: an amplifier core and a level-1 CMOS push-pull output stage between vdd
* and vss, feedback Rf, and a bias resistor Rq across the rails
.model my_n nmos level=1 vto=0.5 kp=200u
.model my_p pmos level=1 vto=-0.5 kp=100u
.subckt rail_tia vdd inm out vss
Ecore x 0 0 inm 1e4
Rx x y 1k
Cx y 0 1p
Mn vdd y out vss my_n w=100u l=1u
Mp vss y out vdd my_p w=200u l=1u
Rq vdd vss 100k
Rf inm out 5000
.ends rail_tia
"""
RAILS = ('[blocks.tia]\nfile = "tia.sp"\nsubckt = "rail_tia"\n'
         'supplies = [{pin = "vdd", volts = 1.8}, {pin = "vss", volts = -1.8, group = "tia_negative"}]\n')


def test_a_users_supply_pins_are_held_by_rails_and_their_energy_is_counted(tmp_path):
    """A user's op-amp TIA declares its supply pins in TOML: each is held by one shared source whose energy is
    in ``Result.energy`` (own group or the slot's), equal to an independent integral of V * I of the rail
    currents, and to the closed form of the bias resistor plus the column currents sunk into vss (real ngspice)."""
    from memcosim.cosim.engine import open_session
    from memcosim.cosim.session import SessionOptions

    config = load_config(_write(tmp_path, OPAMP_TIA, RAILS))
    from memcosim.config.blocks import BlockSourceConfig, SupplyPinConfig
    in_python = BlockSourceConfig("rail_tia", str(tmp_path / "tia.sp"), supplies=[
        SupplyPinConfig("vdd", 1.8), {"pin": "vss", "volts": -1.8, "group": "tia_negative"}])
    assert in_python == config.blocks["tia"]
    saved = tmp_path / "saved.toml"
    saved.write_text(config_to_toml(config))
    assert load_config(saved).blocks == config.blocks
    xb = build_crossbar(config)
    text = xb.netlist.render()
    assert "XTIA0 rail_tia_vdd s0 o0 rail_tia_vss rail_tia\n" in text
    assert text.count("Vrail_tia_vdd rail_tia_vdd 0 dc 1.8") == 1 and "Vrail_tia_vss rail_tia_vss 0 dc -1.8" in text
    t = 2e-6
    with open_session(xb.netlist) as s:
        s.set_sources(xb.dac_values(np.array([63, 40, 20])))
        r = s.tran(t, t / 200, voltages=list(xb.tia_outputs), currents=["Vrail_tia_vdd", "Vrail_tia_vss"])
    assert r.energy["tia"] > 0 and r.energy["tia_negative"] > 0
    # independent: the rails' V * I integrated over the transient (a source delivers -V I, ngspice's sign)
    for group, name, volts in (("tia", "Vrail_tia_vdd", 1.8), ("tia_negative", "Vrail_tia_vss", -1.8)):
        own = -volts * float(np.trapezoid(r[name], r.time))
        assert r.energy[group] == pytest.approx(own, rel=1e-3)
    # closed form, late in the read (settled): each column's Rq across 3.6 V, plus each column's current pulled
    # through Rf into the output and sunk by the PMOS into vss (outputs below 0 V)
    outputs = np.array([r[o][-1] for o in xb.tia_outputs])
    assert np.all(outputs < -0.05)
    column = -outputs / 5000.0
    power = -1.8 * r["Vrail_tia_vdd"][-1] + 1.8 * r["Vrail_tia_vss"][-1]
    assert power == pytest.approx(3 * 3.6 ** 2 / 100e3 + 1.8 * column.sum(), rel=1e-3)


def test_supply_pins_are_checked_against_the_blocks_pins(tmp_path):
    path = _write(tmp_path, OPAMP_TIA, RAILS.replace('pin = "vss"', 'pin = "vee"'))
    with pytest.raises(ConfigError, match=r"blocks\.tia\.supplies\[1\]\.pin: block 'rail_tia' \(file .*tia\.sp\) has "
                                          r"no pin 'vee'; its \.subckt pins: vdd inm out vss"):
        build_crossbar(load_config(path))
    path = _write(tmp_path, OPAMP_TIA, RAILS.replace(', {pin = "vss", volts = -1.8, group = "tia_negative"}', ""))
    with pytest.raises(ConfigError, match=r"blocks\.tia\.pins: block 'rail_tia' .* has 3 pin\(s\) \(inm out vss\) "
                                          r"besides its supply pins \(vdd\) but the tia slot connects 2"):
        build_crossbar(load_config(path))
    path = _write(tmp_path, OPAMP_TIA, RAILS.replace('group = "tia_negative"', 'group = "Neg"'))
    with pytest.raises(ConfigError, match=r"blocks\.tia\.supplies\[1\]\.group: must be a supply group name"):
        load_config(path)
    path = _write(tmp_path, OPAMP_TIA, RAILS.replace("volts = 1.8", "volts = 'high'"))
    with pytest.raises(ConfigError, match=r"blocks\.tia\.supplies\[0\]\.volts"):
        load_config(path)


@pytest.mark.slow
def test_validate_periphery_runs_the_views_on_a_users_block_with_supply_pins_and_counts_its_rails(tmp_path, capsys):
    """``validate-periphery --transients`` on the user's op-amp TIA with declared supply pins: every view runs
    (the op-amp's own, the transfer views, the transient views), and the energy per read lists the user's
    rails by group: vdd's static power is the bias resistors' current at 1.8 V (3 x 36 uA), vss's adds the
    column currents the output stage sinks."""
    path = _write(tmp_path, OPAMP_TIA, RAILS)
    out = tmp_path / "views"
    assert main(["validate-periphery", str(path), "--out", str(out), "--points", "8", "--transients",
                 "--settling-sizes", "3", "--wire-capacitances", "1e-15"]) == 0
    capsys.readouterr()
    for name in ("tia_opamp", "ir_drop", "dac_transfer", "adc_transfer", "tia_virtual_ground", "sneak_paths",
                 "read_settling", "read_energy"):
        assert (out / f"{name}.png").is_file() and len(_rows(out / f"{name}.csv")) > 0, name
    energy = {row["group"]: row for row in _rows(out / "read_energy.csv")}
    assert float(energy["tia"]["energy_J"]) > 0 and float(energy["tia_negative"]["energy_J"]) > 0
    assert float(energy["tia"]["static_power_W"]) == pytest.approx(3 * 1.8 * 3.6 / 100e3, rel=1e-3)
    assert float(energy["tia_negative"]["static_power_W"]) > 1.5 * float(energy["tia"]["static_power_W"])
