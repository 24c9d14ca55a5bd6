"""Hostile inputs: nothing a user supplies reaches ngspice as a command, and no output path leaves its folder.

The attack is real: ngspice runs a ``.control`` block found in a circuit (the first test shows it
with a marker file). Every other test feeds such text through a public entry point (netlist
objects, session calls, TOML configs, file names) and expects a clear error before ngspice sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from memcosim.circuits.config_file import config_from_dict, load_config
from memcosim.circuits.crossbar import build_crossbar, check_array
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.circuits.emit import output_path
from memcosim.circuits.netlist import Element, Netlist, check_rendered
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError, MemcosimError, NetlistError

# characters Python's str.splitlines() breaks lines on (the session hands ngspice one line each)
LINE_BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def _payload(marker: Path, brk: str = "\n") -> str:
    return f"{brk}.control{brk}shell touch {marker}{brk}.endc{brk}"


def _small() -> Netlist:
    net = Netlist("hostile")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "0", 1e3)
    return net


def test_ngspice_would_run_an_injected_control_block_so_the_guard_matters(tmp_path):
    from memcosim.cosim.ngspice import NgspiceLibrary

    marker = tmp_path / "ran"
    lib = NgspiceLibrary.get()
    text = f"raw\nV1 a 0 1\nR1 a 0 1k{_payload(marker)}.end\n"
    lib.load_circuit(text)
    lib.command("remcirc")
    assert marker.exists(), "ngspice ran the .control block of a raw circuit"
    with pytest.raises(NetlistError, match=r"\.control"):
        check_rendered(text)


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_every_line_break_character_is_refused_in_names_comments_and_values(brk, tmp_path):
    marker = tmp_path / "ran"
    bad = "R2" + _payload(marker, brk)
    net = _small()
    with pytest.raises(NetlistError):
        net.add(bad, ("a", "0"), "1k", "resistor")
    with pytest.raises(NetlistError):
        net.comment("note" + _payload(marker, brk))
    with pytest.raises(NetlistError):
        net.add("R3", ("a", "0"), "1k" + _payload(marker, brk), "resistor")
    with pytest.raises(NetlistError):
        net.resistor("R4", "a" + brk, "0", 1e3)
    with pytest.raises(NetlistError):
        Netlist("title" + _payload(marker, brk))
    assert not marker.exists()


def test_model_cards_subcircuits_and_parameters_refuse_injection(tmp_path):
    marker = tmp_path / "ran"
    net = _small()
    with pytest.raises(NetlistError):
        net.model_card("dm\n.control", "d")
    with pytest.raises(NetlistError):
        net.model_card("dm", "d\n.control")
    with pytest.raises(NetlistError):
        net.model_card("dm", "d", **{"is\n.control": 1.0})
    with pytest.raises(NetlistError):
        net.memristor("N1", "a", "0", "x1", "vteam\n.control")
    with pytest.raises(NetlistError):
        net.memristor("N1", "a", "0", "x1", "vteam", **{"x0 .control": 1.0})
    for text in (f".subckt sub in{_payload(marker)}.ends sub", ".subckt sub in\n.include /etc/passwd\n.ends sub",
                 ".subckt sub in\n.lib /etc/passwd x\n.ends sub", ".subckt sub in\n .exec\n.ends sub",
                 "Rin in 0 1\n.ends sub", ".subckt sub in\nRin in 0 1\x0c.endc\n.ends sub"):
        with pytest.raises(NetlistError):
            net.subcircuit("sub", text)
    net.subcircuit("sub", ".subckt sub in\nRin in 0 1k\n.ends sub", ("in",), (("in", "0"),))
    with pytest.raises(NetlistError):
        net.instance("X1", ("a",), "sub", **{"p\n.control": 1.0})
    with pytest.raises(NetlistError):
        net.instance("X1", ("a",), "sub", p=float("nan"))
    # simulator options: keys and values
    net.options["gmin\n.control"] = "1"
    with pytest.raises(NetlistError):
        net.render()
    net = _small()
    net.options["gmin"] = "1e-12\nshell touch x"
    with pytest.raises(NetlistError):
        net.render()
    assert not marker.exists()


def test_elements_slipped_past_the_builders_are_refused_when_rendered(tmp_path):
    marker = tmp_path / "ran"
    net = _small()
    net.elements.append(Element("R9", ("a", "0"), "1k" + _payload(marker), "resistor"))
    with pytest.raises(NetlistError, match="line"):
        net.render()
    net = _small()
    net.comments.append("ok\x85.control")
    with pytest.raises(NetlistError):
        net.render()
    net = _small()
    net.subcircuits["evil"] = ".subckt evil a\n.control\nshell touch x\n.endc\n.ends evil"
    with pytest.raises(NetlistError, match=r"\.control"):
        open_session(net)
    assert not marker.exists()


def test_session_calls_refuse_injection_and_the_session_keeps_working(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(NetlistError):
        open_session(_small(), SessionOptions(extra={"gmin\n.control": 1e-12}))
    with pytest.raises(NetlistError):
        open_session(_small(), SessionOptions(extra={"gmin": "1\n.control"}))
    with open_session(_small()) as s:
        with pytest.raises(NetlistError):
            s.op(voltages=["a\n.control"])
        with pytest.raises(NetlistError):
            s.set_sources({"V1\n.control": 1.0})
        with pytest.raises(NetlistError):
            s.set_sources({"V1": "1\nshell touch x"})
        with pytest.raises(NetlistError):
            s.set_device_params("R1", **{"r\nshell": 1.0})
        with pytest.raises(MemcosimError):
            s.set_device_params("R1\n.control", r=1.0)
        assert s.op(voltages=["a"])["a"] == pytest.approx(1.0)
    assert not marker.exists()


def test_toml_strings_cannot_inject_into_the_netlist(tmp_path):
    marker = tmp_path / "ran"
    payload = _payload(marker).replace("\n", "\\n")
    cases = {
        "device.model": f'[device]\nmodel = "linear_ion_drift{payload}"',
        "cell": f'cell = "1R{payload}"',
        "device.params": f'[device]\nmodel = "linear_ion_drift"\n[device.params]\n"x0{payload}" = 0.5',
        "periphery.programming.scheme": f'[periphery.programming]\nscheme = "V/2{payload}"',
    }
    for field, body in cases.items():
        path = tmp_path / "bad.toml"
        path.write_text(f"rows = 2\ncolumns = 2\n{body}\n" if field != "cell" else f"rows = 2\ncolumns = 2\nconductance = 1e-4\n{body}\n")
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert info.value.field.startswith(field), (field, str(info.value))
    # a .va path whose module name is not a SPICE name, or that holds control characters
    with pytest.raises(ConfigError, match="model"):
        config_from_dict({"rows": 2, "columns": 2, "device": {"model": "x\x0c.control.va"}})
    bad_va = tmp_path / "bad-name.va"
    bad_va.write_text("module bad-name(p, n, x);\nparameter real x0 = 0.5;\nparameter real xmin = 0;\n"
                      "parameter real xmax = 1;\nendmodule\n")
    with pytest.raises(ConfigError, match="model"):
        check_array(ArrayConfig(2, 2, device=DeviceConfig(str(bad_va))))
    assert not marker.exists()


def test_training_config_strings_are_checked():
    from memcosim.trainers.config import run_config_from_dict

    for table, key, value in (("train", "dataset", "iris\n.control"), ("train", "backend", "ngspice;shell"),
                              ("network", "model", "vteam\n.control"), ("train", "update", "ideal\x0b")):
        with pytest.raises(ConfigError) as info:
            run_config_from_dict({table: {key: value}})
        assert info.value.field == f"{table}.{key}"


def test_output_paths_stay_inside_the_output_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert output_path(out, "a.cir") == (out / "a.cir").resolve()
    assert output_path(out, "sub/a.cir") == (out / "sub" / "a.cir").resolve()
    for bad in ("../a.cir", "/etc/passwd", "sub/../../a.cir", "..", ".", "", "a\n.cir", "a\x00.cir", "~/a.cir"):
        with pytest.raises(ConfigError) as info:
            output_path(out, bad)
        assert info.value.field == "out"
    os.symlink(tmp_path, out / "link")
    with pytest.raises(ConfigError, match="outside the output folder"):
        output_path(out, "link/a.cir")


def test_netlist_cli_refuses_an_escaping_name_and_writes_nothing(tmp_path):
    from memcosim.cli import main

    out = tmp_path / "nets"
    code = main(["netlist", "--rows", "2", "--columns", "2", "--out-dir", str(out), "--out", "../escape.cir"])
    assert code == 2
    assert not (tmp_path / "escape.cir").exists()


def test_rendered_crossbars_with_every_block_pass_the_guard():
    from memcosim.circuits.config_file import example_configs

    for cfg in example_configs().values():
        text = build_crossbar(cfg).netlist.render()
        assert check_rendered(text) == text
