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
                              ("network", "device.model", "vteam\n.control"), ("train", "update", "ideal\x0b")):
        outer, _, inner = key.rpartition(".")
        with pytest.raises(ConfigError) as info:
            run_config_from_dict({table: {outer: {inner: value}} if outer else {key: value}})
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


# -- issue 20: nothing lost, nothing silently ignored ------------------------------------------------

TINY_RUN = """
[train]
dataset = "iris"
epochs = 1
train_limit = 12
test_limit = 6
progress = false
[network]
sizes = [4, 3, 3]
model = "vteam"
"""

STUDY = """
[study]
name = "tiny"
samples = 10
[network]
dataset = "iris"
hidden = [4]
epochs = 1
[[grid]]
size = [8]
"""


def _cli(args: list[str], capsys) -> tuple[int, str]:
    from memcosim.cli import main

    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_every_command_refuses_an_output_it_cannot_write_before_any_work(tmp_path, capsys):
    """An output folder that is a file (or lies under one) is refused at once, naming the option: no
    epoch is trained, no netlist built, no view simulated. (A file stands in for an unwritable folder:
    permissions do not bind root, a file in the way binds everyone.)"""
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way\n")
    run = tmp_path / "run.toml"
    run.write_text(TINY_RUN)
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    predictor = tmp_path / "predictor.toml"
    predictor.write_text(f'[dataset]\nout = "{blocker}/sub"\nsamples = 4\n')
    netlist_config = Path(__file__).resolve().parent.parent / "netlists" / "crossbar_4x4_1r.toml"
    cases = [
        (["train", str(run), "--out", str(blocker)], "--out"),
        (["train", str(run), "--out", str(tmp_path / "ok"), "--checkpoint", str(tmp_path)], "--checkpoint"),
        (["demo", "--out", str(blocker / "sub")], "--out"),
        (["read-demo", "--out", str(blocker)], "--out"),
        (["netlist", "--out-dir", str(blocker)], "--out-dir"),
        (["validate-periphery", str(netlist_config), "--out", str(blocker)], "--out"),
        (["sweep", str(study), "--out", str(blocker), "--serial"], "--out"),
        (["predictor", "dataset", "--config", str(predictor)], "dataset.out"),
    ]
    for args, field in cases:
        code, text = _cli(args, capsys)
        assert code == 2, (args, text)
        assert f"{field}:" in text and ("not a folder" in text or "is a folder" in text), (args, text)
        assert "Traceback" not in text and "epoch" not in text, (args, text)
    assert blocker.read_text() == "in the way\n"


def test_a_truncated_checkpoint_is_an_error_not_a_traceback(tmp_path, capsys):
    run = tmp_path / "run.toml"
    run.write_text(TINY_RUN)
    ck = tmp_path / "ck.npz"
    assert _cli(["train", str(run), "--out", str(tmp_path / "out"), "--checkpoint", str(ck)], capsys)[0] == 0
    data = ck.read_bytes()
    ck.write_bytes(data[: len(data) // 2])
    code, text = _cli(["train", str(run), "--out", str(tmp_path / "out"), "--resume", str(ck)], capsys)
    assert code == 2 and "truncated" in text and "BadZipFile" in text and "Traceback" not in text, text
    # the default checkpoint (train.checkpoint = "") is under --out, and EP writes history.csv too
    assert _cli(["train", str(run), "--out", str(tmp_path / "out2")], capsys)[0] == 0
    assert {p.name for p in (tmp_path / "out2").iterdir()} >= {"checkpoint.npz", "history.json", "history.csv",
                                                               "learning_curve.png"}


@pytest.mark.parametrize("params, field", [({"Ron": -5}, "device.params.Ron"), ({"Ron": 0, "Roff": 0}, "device.params.Ron"),
                                           ({"Ron": 2e4}, "device.params.Ron"), ({"xmin": 1.0, "xmax": 0.5}, "device.params.xm"),
                                           ({"D": -1e-9}, "device.params.D")])
def test_device_parameters_are_checked_against_their_meaning(params, field, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('rows = 2\ncolumns = 2\n[device]\nmodel = "linear_ion_drift"\n[device.params]\n'
                   + "".join(f"{k} = {v!r}\n" for k, v in params.items()))
    code, text = _cli(["netlist", "--config", str(cfg), "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and field in text and "Traceback" not in text, text
    assert list(tmp_path.glob("*.cir")) == []
    with pytest.raises(ConfigError, match="device.params.Roff"):
        check_array(ArrayConfig(2, 2, device=DeviceConfig("vteam", {"won": 3.0, "woff": 1.0, "Roff": 5e3})))


def test_enum_values_ignore_case_and_error_texts_show_plain_numbers(tmp_path, capsys):
    args = ["netlist", "--rows", "2", "--columns", "2", "--model", "linear_ion_drift", "--cell", "1t1r",
            "--periphery", "programming", "--scheme", "v/2", "--out-dir", str(tmp_path), "--out", "x.cir"]
    code, text = _cli(args, capsys)
    assert code == 0, text
    assert ArrayConfig(2, 2, cell="1t1r", conductance=1e-4).cell == "1T1R"
    code, text = _cli(["netlist", "--model", "linear_ion_drift", "--state", "7", "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and "state 7 " in text and "np." not in text, text
    with pytest.raises(ConfigError) as info:
        check_array(ArrayConfig(2, 2, device=DeviceConfig("linear_ion_drift"), conductance=np.float64(7.0)))
    assert "np." not in str(info.value)


def test_version_and_help_on_every_option(capsys, monkeypatch):
    import argparse

    from memcosim import __version__
    from memcosim.cli.main import build_parser, main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and __version__ in capsys.readouterr().out
    added: list[tuple[str, argparse.Action]] = []
    add_argument = argparse.ArgumentParser.add_argument

    def recording(parser: argparse.ArgumentParser, *args, **kwargs):
        action = add_argument(parser, *args, **kwargs)
        added.append((parser.prog, action))
        return action

    monkeypatch.setattr(argparse.ArgumentParser, "add_argument", recording)
    build_parser()
    assert len(added) > 50
    assert [(prog, action.option_strings or action.dest) for prog, action in added if not action.help] == []


def test_output_files_follow_the_umask(tmp_path):
    from memcosim.fileio import atomic_write_text

    old = os.umask(0o027)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def test_worker_counts_are_checked(tmp_path, capsys):
    from memcosim import fields as f
    from memcosim.fields import OversubscribedWarning

    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    for workers in ("-1", "0"):
        code, text = _cli(["sweep", str(study), "--out", str(tmp_path / "s"), "--workers", workers], capsys)
        assert code == 2 and "--workers" in text, text
    with pytest.warns(OversubscribedWarning, match="CPU cores"):
        assert f.workers("workers", (os.cpu_count() or 1) + 1) == (os.cpu_count() or 1) + 1
    with pytest.raises(ConfigError, match="study.workers"):
        from memcosim.studies.config import StudySettings

        StudySettings(workers=-1)


def test_a_bad_scheduler_address_fails_at_once_without_a_dask_traceback(tmp_path):
    import subprocess
    import sys
    import time

    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "memcosim.cli", "sweep", str(study), "--out", str(tmp_path / "s"),
                           "--scheduler", "garbage"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "study.scheduler" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "__del__" not in proc.stderr, proc.stderr
    assert time.monotonic() - t0 < 15
