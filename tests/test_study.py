"""Studies: Dask vs serial tables, kill and resume, bad study files, unreachable scheduler, plots."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from memcosim.errors import ConfigError
from memcosim.config.toml import key_lines
from memcosim.studies.config import load_study, study_from_text
from memcosim.studies.run import ResultStore, run_study

STUDY = """\
[study]
name = "tiny"
seed = 1
workers = 2
samples = 8
calibration = 6

[network]
dataset = "iris"
hidden = [4]
epochs = 8
hw_epochs = 2
batch_size = 16
lr = 0.02

[defaults]
size = 4
adc_bits = 6
weight_bits = 3
fault_rate = 0.1

[grid]
r_wire = [0.0, 5.0]
method = ["plain", "hw_aware"]

[plots]
ir_drop = [{r_wire = 5.0, method = "hw_aware"}]
"""


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("study") / "tiny.toml"
    p.write_text(STUDY)
    return p


@pytest.fixture(scope="module")
def serial(study_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    run = run_study(load_study(study_file), out, workers=0, progress=False)
    assert len(run.computed) == 4 and not run.skipped
    return out


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "results.csv")


def test_serial_table_is_tidy_and_parquet_matches(serial):
    t = _table(serial)
    assert len(t) == 4 and list(t["point"]) == [0, 1, 2, 3]
    for col in ("size", "r_wire", "adc_bits", "dac_bits", "weight_bits", "variation", "fault_rate", "model", "method",
                "software_accuracy", "deployed_accuracy", "current_error", "stuck_on", "stuck_off"):
        assert col in t
    assert t["deployed_accuracy"].between(0, 1).all()
    assert (t["stuck_on"] + t["stuck_off"] > 0).all()  # fault_rate 0.1 from the circuit's fault maps
    assert (t.loc[t.r_wire == 5.0, "current_error"].values > t.loc[t.r_wire == 0.0, "current_error"].values).all()
    pd.testing.assert_frame_equal(pd.read_parquet(serial / "results.parquet"), t, check_dtype=False)
    timings = pd.read_csv(serial / "timings.csv")
    assert (timings[["training_seconds", "netlist_seconds", "simulation_seconds"]] > 0).all().all()


@pytest.mark.slow
def test_two_dask_workers_give_exactly_the_serial_table(study_file, serial, tmp_path):
    run = run_study(load_study(study_file), tmp_path, workers=2, progress=False)
    assert len(run.computed) == 4
    assert (tmp_path / "results.csv").read_bytes() == (serial / "results.csv").read_bytes()


@pytest.mark.slow
def test_killed_study_resumes_with_only_the_missing_points(study_file, serial, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "memcosim.cli", "sweep", str(study_file), "--out", str(tmp_path), "--serial",
           "--no-progress", "--no-plots"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    points = tmp_path / "points"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if points.exists() and any(points.glob("*.json")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    study = load_study(study_file)
    store = ResultStore(study, tmp_path)
    finished = store.done()
    assert 1 <= len(finished) < 4, "the kill should land after the first point and before the last"
    if (tmp_path / "results.csv").exists():  # whatever table the killed run left is complete, never torn
        assert len(_table(tmp_path)) in (len(finished) - 1, len(finished))
    run = run_study(study, tmp_path, workers=0, progress=False)
    assert set(run.skipped) == finished
    assert set(run.computed) == set(store.keys) - finished
    assert (tmp_path / "results.csv").read_bytes() == (serial / "results.csv").read_bytes()
    again = run_study(study, tmp_path, workers=0, progress=False)
    assert again.computed == [] and len(again.skipped) == 4


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error_and_keeps_results(study_file, serial, tmp_path):
    shutil.copytree(serial, tmp_path / "out")
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    text = STUDY.replace("r_wire = [0.0, 5.0]", "r_wire = [0.0, 5.0, 9.0]").replace("workers = 2", "connect_timeout = 2.0")
    study = study_from_text(text)
    with pytest.raises(ConfigError, match=r"study.scheduler: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        run_study(study, out, scheduler="tcp://127.0.0.1:9", progress=False)
    after = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def _line(start: str, text: str = STUDY) -> int:
    """1-based line of the first line of ``text`` starting with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        study_from_text(text, "s.toml")
    return info.value


def test_unknown_key_names_the_key_and_line():
    e = _error(STUDY.replace('method = ["plain", "hw_aware"]', 'methd = ["plain"]'))
    assert e.field == "grid.methd"
    assert "unknown key" in str(e) and f"(s.toml, line {_line('method =')})" in str(e)
    e = _error(STUDY.replace("samples = 8", "sampels = 8"))
    assert e.field == "study.sampels" and f"line {_line('samples = 8')})" in str(e)
    extra = "\n[[points]]\nsize = 8\nbogus = 1\n"
    e = _error(STUDY + extra)
    assert e.field == "points[0].bogus" and f"line {_line('bogus = 1', STUDY + extra)})" in str(e)
    e = _error(STUDY + "\n[extra]\nx = 1\n")
    assert e.field == "extra" and f"line {_line('[extra]', STUDY + chr(10) + '[extra]')})" in str(e)


def test_wrong_type_names_the_key_and_line():
    e = _error(STUDY.replace("epochs = 8", 'epochs = "many"'))
    assert e.field == "network.epochs" and "integer" in str(e) and f"line {_line('epochs = 8')})" in str(e)
    e = _error(STUDY.replace("r_wire = [0.0, 5.0]", 'r_wire = [0.0, "thick"]'))
    assert e.field == "grid.r_wire[1]" and "number" in str(e) and f"line {_line('r_wire = [0.0, 5.0]')})" in str(e)
    e = _error(STUDY.replace("size = 4", "size = 5"))
    assert e.field == "defaults.size" and f"line {_line('size = 4')})" in str(e)
    e = _error(STUDY.replace('r_wire = [0.0, 5.0]', "r_wire = 2.0"))
    assert e.field == "grid.r_wire" and "list" in str(e)
    assert "not valid TOML" in str(_error("[study\n"))


def test_grid_union_points_and_line_lookup():
    text = STUDY.replace("[grid]", "[[grid]]") + '\n[[grid]]\nadc_bits = [3, 6]\n\n[[points]]\nmethod = "plain"\nsize = 8\n'
    s = study_from_text(text)
    assert len(s.points) == 4 + 2 + 1
    dup = study_from_text(text.replace("adc_bits = [3, 6]", "adc_bits = [3, 6]\nr_wire = [0.0]\nmethod = [\"plain\"]"))
    assert len(dup.points) == 4 + 1 + 1  # (r_wire 0, plain, adc 6) repeats a first-grid point: kept once
    assert s.points[-1].arrays.size == 8 and s.points[-1].fault_rate == 0.1
    assert len({s.point_key(p) for p in s.points}) == len(s.points)
    assert key_lines(text)[("grid", 1, "adc_bits")] == text.splitlines().index("adc_bits = [3, 6]") + 1


def test_plots_accuracy_curves_and_ir_drop_heatmap(study_file, serial):
    from memcosim.studies.plots import study_plots

    written = study_plots(load_study(study_file), serial, log=None)
    names = {p.name for p in written}
    assert "accuracy_vs_wire.png" in names
    assert any(n.startswith("ir_drop_") for n in names)
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
