"""`memcosim netlist` and `memcosim validate-periphery`: reference netlists, safe output, clean failures."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from memcosim.circuits.config_file import config_to_toml, example_configs, load_config
from memcosim.cli import main

NETLISTS = Path(__file__).resolve().parent.parent / "netlists"


def test_reference_set_covers_sizes_cells_and_every_block():
    # only the reference set: a designer's own --save-config output beside it must not fail the suite
    configs = {stem: load_config(NETLISTS / f"{stem}.toml") for stem in example_configs()}
    assert {(c.rows, c.cell) for c in configs.values()} >= {(4, "1R"), (4, "1T1R"), (16, "1R"), (16, "1T1R")}
    for c in configs.values():
        assert all(getattr(c.periphery, b) is not None for b in ("dac", "tia", "adc", "nudge", "programming"))


@pytest.mark.parametrize("stem", sorted(example_configs()))
def test_reference_netlists_regenerate_byte_for_byte(stem, tmp_path, capsys):
    toml = NETLISTS / f"{stem}.toml"
    assert toml.read_text() == config_to_toml(example_configs()[stem])
    assert main(["netlist", "--config", str(toml), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / f"{stem}.cir").read_bytes() == (NETLISTS / f"{stem}.cir").read_bytes()
    assert "wrote" in capsys.readouterr().out


def test_netlist_from_flags_and_saved_config_agree(tmp_path):
    args = ["netlist", "--rows", "3", "--columns", "4", "--model", "linear_ion_drift", "--cell", "1T1R",
            "--r-row", "2", "--r-column", "2", "--periphery", "dac,tia,adc", "--out-dir", str(tmp_path),
            "--out", "sub/x.cir", "--save-config"]
    assert main(args) == 0
    text = (tmp_path / "sub" / "x.cir").read_text()
    assert ".subckt dac in out" in text and "XTIA3 s3 o3 tia" in text and "MA2_3 m2_3 w2 c2_3 0 nacc" in text
    assert main(["netlist", "--config", str(tmp_path / "sub" / "x.toml"), "--out-dir", str(tmp_path),
                 "--out", "y.cir"]) == 0
    assert (tmp_path / "y.cir").read_text() == text


@pytest.mark.parametrize("out", ["../escape.cir", "/tmp/abs.cir", "a/../../b.cir", "bad name.cir", "x;rm.cir"])
def test_output_paths_outside_the_folder_are_refused(out, tmp_path, capsys):
    folder = tmp_path / "netlists"
    folder.mkdir()
    assert main(["netlist", "--out-dir", str(folder), "--out", out]) == 2
    assert "out:" in capsys.readouterr().err
    assert list(tmp_path.rglob("*.cir")) == []


def test_output_through_a_link_out_of_the_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "netlists"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path)
    assert main(["netlist", "--out-dir", str(folder), "--out", "link/x.cir"]) == 2
    assert "outside the output folder" in capsys.readouterr().err
    assert list(tmp_path.rglob("*.cir")) == []


@pytest.mark.parametrize("flags, field", [
    (["--rows", "0"], "rows"),
    (["--columns", "-2"], "columns"),
    (["--r-row", "-1"], "wires.r_row"),
    (["--periphery", "dac", "--dac-bits", "17"], "periphery.dac.bits"),
    (["--periphery", "full", "--adc-bits", "0"], "periphery.adc.bits"),
    (["--model", "unobtainium"], "device.model"),
    (["--model", "linear_ion_drift", "--conductance", "1.0"], "conductance"),
    (["--periphery", "dac,mux"], "periphery"),
])
def test_bad_flags_fail_naming_the_field_and_leave_no_file(flags, field, tmp_path, capsys):
    folder = tmp_path / "netlists"
    assert main(["netlist", "--out-dir", str(folder), *flags]) == 2
    assert f"error: {field}:" in capsys.readouterr().err
    assert not folder.exists() or list(folder.iterdir()) == []


def test_bad_config_file_fails_naming_the_field_and_leaves_no_file(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("rows = 2\ncolumns = 3\nconductance = [[1e-4, 1e-4], [1e-4, 1e-4]]\n")
    folder = tmp_path / "netlists"
    assert main(["netlist", "--config", str(config), "--out-dir", str(folder)]) == 2
    assert "conductance: shape (2, 2) does not match rows x columns (2, 3)" in capsys.readouterr().err
    assert not folder.exists() or list(folder.iterdir()) == []


def test_validate_periphery_writes_every_view(tmp_path, capsys):
    out = tmp_path / "views"
    assert main(["validate-periphery", str(NETLISTS / "crossbar_4x4_1r.toml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    names = ["ir_drop", "dac_transfer", "adc_transfer", "tia_virtual_ground", "tia_opamp", "sneak_paths",
             "half_select_disturbance"]
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with open(out / f"{name}.csv") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) > 4
    assert "max |INL| LSB" in printed and "sneak share %" in printed and "max |unselected delta|" in printed
    assert "open-loop gain dB" in printed and "phase margin deg" in printed
    assert all(f"view {k}/7: " in printed for k in range(1, 8))  # a progress line per view
    dac = list(csv.DictReader(open(out / "dac_transfer.csv")))
    assert len(dac) == 256  # every code of the 8-bit DAC
    adc_codes = {int(r["code"]) for r in csv.DictReader(open(out / "adc_transfer.csv"))}
    assert adc_codes == set(range(256))


def test_a_users_verilog_a_file_works_in_netlist_and_validate_periphery(tmp_path, monkeypatch, capsys):
    from memcosim.devices.registry import verilog_a_dir

    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    models = tmp_path / "models"
    models.mkdir()
    (models / "my_vteam.va").write_text((verilog_a_dir() / "vteam.va").read_text().replace("module vteam(", "module my_vteam("))
    monkeypatch.chdir(tmp_path)  # a relative --model path, saved as a full path
    out = tmp_path / "out"
    assert main(["netlist", "--rows", "2", "--columns", "2", "--model", "models/my_vteam.va", "--state", "1.5",
                 "--periphery", "full", "--out-dir", str(out), "--save-config"]) == 0
    text = (out / "crossbar_2x2_1r_my_vteam.cir").read_text()
    assert ".model my_vteam_model my_vteam\n" in text and "NC1_1 r1_0 c1_1 x1_1 my_vteam_model x0=1.5" in text
    assert load_config(out / "crossbar_2x2_1r_my_vteam.toml").device.model == str(models / "my_vteam.va")
    capsys.readouterr()
    assert main(["validate-periphery", str(out / "crossbar_2x2_1r_my_vteam.toml"), "--out", str(tmp_path / "views"),
                 "--points", "3"]) == 0
    assert "half-select disturbance" in capsys.readouterr().out


def test_the_long_views_report_each_operating_point(tmp_path):
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.cosim.engine import open_session
    from memcosim.cosim.periphery_views import adc_view, dac_view

    xbar = build_crossbar(load_config(NETLISTS / "crossbar_4x4_1r.toml"))
    ticks: list[tuple[int, int]] = []
    with open_session(xbar.netlist) as s:
        dac_view(xbar, s, tmp_path, max_codes=16, tick=lambda done, total: ticks.append((done, total)))
        assert ticks == [(k, 16) for k in range(1, 17)]
        ticks.clear()
        adc_view(xbar, s, tmp_path, max_points=32, tick=lambda done, total: ticks.append((done, total)))
        assert ticks == [(k, 32) for k in range(1, 33)]
