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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_bad_scheduler_address_fails_at_once_without_a_dask_traceback(tmp_path):
    import subprocess
    import sys
    import time

    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    t0 = time.monotonic()  # the same interpreter start-up and imports, no study: the machine's own cost right now
    subprocess.run([sys.executable, "-c", "import distributed, memcosim.cli.main"], capture_output=True, timeout=120)
    startup = time.monotonic() - t0
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "memcosim.cli", "sweep", str(study), "--out", str(tmp_path / "s"),
                           "--scheduler", "garbage"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "study.scheduler" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "__del__" not in proc.stderr, proc.stderr
    assert time.monotonic() - t0 < 2 * startup + 10  # refused before any connection attempt or timeout


@pytest.mark.slow
def test_ctrl_c_during_a_dask_sweep_keeps_finished_points_and_exits_130(tmp_path):
    """SIGINT to the whole process group (as a terminal's Ctrl-C: the Dask workers get it too): one
    message, no traceback, exit 130, every finished point on disk, and a re-run continues."""
    import signal
    import subprocess
    import sys
    import time

    study = tmp_path / "study.toml"
    study.write_text(STUDY.replace("size = [8]", "size = [8]\nr_wire = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, "
                                                 "4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5]")
                     .replace('name = "tiny"', 'name = "tiny"\nworkers = 2'))
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "memcosim.cli", "sweep", str(study), "--out", str(out),
                             "--no-progress", "--no-plots"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and len(list(out.glob("points/*.json"))) < 1:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted by SIGINT" in stderr and "run the same command again" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    saved = len(list(out.glob("points/*.json")))
    assert 1 <= saved < 16
    assert len((out / "results.csv").read_text().splitlines()) == saved + 1
    # the table's columns are explained beside it: the torch hardware model has no bias correction
    assert "no mapping-aware bias correction" in (out / "columns.csv").read_text()


def test_sizes_beyond_the_cell_limit_are_refused_before_allocation(tmp_path, capsys):
    from memcosim.limits import MAX_CELLS, max_cells

    code, text = _cli(["netlist", "--rows", "20000", "--columns", "20000", "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and "--max-cells" in text and "GiB" in text and "MemoryError" not in text, text
    big = tmp_path / "big.toml"
    big.write_text("rows = 3000\ncolumns = 3000\nconductance = 1e-4\n")
    code, text = _cli(["validate-periphery", str(big), "--out", str(tmp_path / "v")], capsys)
    assert code == 2 and "--max-cells" in text, text
    with pytest.raises(ConfigError, match="rows: .* over the limit"):
        ArrayConfig(MAX_CELLS + 1, 1, conductance=1e-4)
    with max_cells(MAX_CELLS + 1):
        assert ArrayConfig(MAX_CELLS + 1, 1, conductance=1e-4).rows == MAX_CELLS + 1
    code, text = _cli(["netlist", "--rows", "3", "--columns", "3", "--max-cells", "8", "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and "over the limit of 8 cells" in text, text
    # a study's tile size: refused by `sweep --max-cells` before any point runs, and a raised limit reaches the
    # process that runs a point (a Dask worker starts with the default)
    study = tmp_path / "study.toml"
    study.write_text((Path(__file__).resolve().parents[1] / "studies" / "example.toml").read_text())
    code, text = _cli(["sweep", str(study), "--serial", "--max-cells", "100", "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "size: 32 x 32 = 1,024 cells is over the limit of 100 cells" in text, text
    assert not (tmp_path / "s" / "points").exists()
    from memcosim.limits import call_with_limit, cell_limit, check_cells

    assert call_with_limit(MAX_CELLS * 4, cell_limit) == MAX_CELLS * 4 and cell_limit() == MAX_CELLS
    with pytest.raises(ConfigError, match="tiles: 4 x 4 = 16 cells is over the limit of 10"):
        call_with_limit(10, check_cells, 4, 4, "tiles")


def test_flags_that_cannot_take_effect_are_errors(tmp_path, capsys):
    netlist_config = Path(__file__).resolve().parent.parent / "netlists" / "crossbar_4x4_1r.toml"
    code, text = _cli(["netlist", "--config", str(netlist_config), "--rows", "64", "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and "--rows cannot take effect with --config" in text, text
    code, text = _cli(["netlist", "--scheme", "V/3", "--write-voltage", "2", "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and "--scheme and --write-voltage cannot take effect without the programming block" in text, text
    code, text = _cli(["netlist", "--adc-bits", "4", "--periphery", "dac", "--out-dir", str(tmp_path)], capsys)
    assert code == 2 and "--adc-bits" in text, text
    assert list(tmp_path.glob("*.cir")) == []
    code, text = _cli(["netlist", "--scheme", "V/3", "--write-voltage", "2", "--periphery", "programming",
                       "--out-dir", str(tmp_path), "--out", "p.cir", "--save-config"], capsys)
    assert code == 0, text
    saved = load_config(tmp_path / "p.toml")
    assert saved.periphery.programming.scheme == "V/3" and saved.periphery.programming.pulse.amplitude == 2.0


def test_a_plot_that_cannot_be_drawn_says_why(tmp_path):
    import pandas as pd

    from memcosim.studies.plots import accuracy_vs_adc

    # the ADC grid sits at r_wire = 0 while most points have r_wire = 2: no slice holds two ADC values
    rows = [dict(size=16, r_wire=2.0, adc_bits=6, method="plain", dac_bits=8, weight_bits=4, variation=0.0,
                 fault_rate=0.0, model="resistor", program="ideal", replicate=0, deployed_accuracy=0.9)
            for _ in range(4)]
    rows += [dict(rows[0], r_wire=0.0, adc_bits=bits) for bits in (3, 8)]
    said: list[str] = []
    assert accuracy_vs_adc(pd.DataFrame(rows), tmp_path / "accuracy_vs_adc.png", said.append) is None
    assert len(said) == 1 and "accuracy_vs_adc.png not drawn" in said[0] and "r_wire = 2.0" in said[0], said
    assert not (tmp_path / "accuracy_vs_adc.png").exists()


def test_more_samples_than_the_test_split_is_an_error(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(STUDY.replace("samples = 10", "samples = 100000"))
    code, text = _cli(["sweep", str(study), "--out", str(tmp_path / "s"), "--serial", "--no-progress"], capsys)
    assert code == 2 and "study.samples" in text and "test split holds" in text, text


def test_predictor_summary_counts_failures():
    from memcosim.programming.predictor.config import EvaluateConfig
    from memcosim.programming.predictor.evaluate import METHODS, WRITE_VERIFY, summarize

    rows = []
    for k in range(5):  # the predictor reaches the tolerance in 2 of 5 attempts (3 hit the budget of 20)
        row = {"attempt": k}
        for name in METHODS:
            row[f"{name}_rpd"] = 0.05
        for name in WRITE_VERIFY:
            ok = k < 2 if name == "predictor_wv" else True
            pulses = (1 if ok else 20) if name == "predictor_wv" else 10
            row.update({f"{name}_pulses": pulses, f"{name}_pulse_time_s": pulses * 1e-8, f"{name}_converged": ok})
        rows.append(row)
    s = summarize(rows, EvaluateConfig(baseline_amplitudes=[]))
    assert s["pulse_reduction"] == pytest.approx(50 / 62)  # over every attempt, failures included
    assert s["pulse_reduction_success"] == {"predictor_wv": 0.4, "conventional_wv": 1.0}
    assert s["pulse_reduction_both_converged"] == pytest.approx(10.0)
    assert s["pulse_reduction_both_converged_attempts"] == 2
    for key in ("pulse_reduction", "pulse_time_reduction", "pulse_reduction_vs_fixed", "pulse_time_reduction_vs_fixed"):
        assert f"{key}_success" in s and f"{key}_both_converged" in s, key


def test_read_demo_heatmap_is_in_millivolts_even_for_a_row_near_zero_volts():
    from memcosim.cli.read_demo import ir_drop_millivolts

    v_rows = np.array([0.2, 1e-6])
    v_cell = np.array([[0.19, 0.18], [0.0, -1e-6]])
    drop = ir_drop_millivolts(v_cell, v_rows)
    np.testing.assert_allclose(drop, [[10.0, 20.0], [1e-3, 2e-3]])


@pytest.mark.slow
def test_ctrl_c_during_train_saves_a_checkpoint_under_out_and_exits_130(tmp_path):
    """The shipped configs leave train.checkpoint empty: Ctrl-C still saves one (under --out), prints the
    command that resumes, and exits 130 (a configuration error keeps 2)."""
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run.toml"
    run.write_text(TINY_RUN.replace("epochs = 1", "epochs = 50"))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "memcosim.cli", "train", str(run), "--out", str(out), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and not (out / "history.csv").exists():
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    checkpoint = out / "checkpoint.npz"
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted by SIGINT" in stderr and f"--resume {checkpoint}" in stderr and "Traceback" not in stderr, stderr
    assert checkpoint.is_file() and (out / "history.json").is_file()


def test_a_network_too_large_for_memory_is_refused_by_train(tmp_path, capsys):
    run = tmp_path / "run.toml"
    run.write_text(TINY_RUN.replace("sizes = [4, 3, 3]", "sizes = [4, 4000, 3000, 3]"))
    code, text = _cli(["train", str(run), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "network.sizes" in text and "--max-cells" in text and "GiB" in text, text


def test_sigterm_during_a_command_without_its_own_handler_exits_143(tmp_path):
    """validate-periphery has no checkpoint: SIGTERM stops it like Ctrl-C, keeps the views written, exits 143."""
    import signal
    import subprocess
    import sys
    import time

    config = Path(__file__).resolve().parent.parent / "netlists" / "crossbar_16x16_1t1r.toml"
    out = tmp_path / "views"
    proc = subprocess.Popen([sys.executable, "-m", "memcosim.cli", "validate-periphery", str(config), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and not (out / "dac_transfer.csv").exists():
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, (stdout, stderr)
    assert "interrupted by SIGTERM" in stderr and str(out) in stderr and "Traceback" not in stderr, stderr
    assert "view 1/7" in stdout and (out / "ir_drop.png").exists()


def test_sample_limits_beyond_the_split_are_errors(capsys, tmp_path):
    from memcosim.trainers.datasets import load_dataset

    with pytest.raises(ConfigError, match="train.test_limit: 1000 samples asked for, but the iris split holds 30"):
        load_dataset("iris", test_limit=1000)
    code, text = _cli(["demo", "--epochs", "1", "--test-limit", "5000", "--out", str(tmp_path)], capsys)
    assert code == 2 and "train.test_limit" in text, text


def test_a_model_cache_that_cannot_be_written_is_an_error(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("MEMCOSIM_CACHE", str(blocker))
    code, text = _cli(["check", "--quiet"], capsys)
    assert code == 2 and "MEMCOSIM_CACHE" in text and "not a folder" in text and "Traceback" not in text, text


@pytest.mark.slow
def test_ctrl_c_during_the_predictor_dataset_keeps_its_shards(tmp_path):
    """Two worker processes, Ctrl-C to the process group: exit 130, one message naming the shards saved,
    the workers ended (Pool.terminate still reaches them), and the shards already written stay."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "dataset"
    config = tmp_path / "predictor.toml"
    config.write_text(f'[dataset]\nout = "{out}"\nsamples = 60\nshard_size = 3\nworkers = 2\n')
    proc = subprocess.Popen([sys.executable, "-m", "memcosim.cli", "predictor", "dataset", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and not list(out.glob("shards/*.npz")):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted by SIGINT" in stderr and "shards are saved" in stderr and "Traceback" not in stderr, stderr
    assert 1 <= len(list(out.glob("shards/*.npz"))) < 20
