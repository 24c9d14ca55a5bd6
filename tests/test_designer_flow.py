"""The designer flow: the array as one ``.subckt`` that a hand-written testbench includes and the system
ngspice (``ngspice -b``) simulates without edits; the generated testbench biases the programming
drivers for the scheme; the half-select view reports the simulated bias (real ngspice throughout)."""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from memcosim.circuits.config_file import load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.cli import main
from memcosim.cosim.engine import open_session
from memcosim.cosim.periphery_views import disturbance_view, write_disturbance
from memcosim.cosim.session import SessionOptions

READ_ARRAY = """\
rows = 3
columns = 4
cell = "1T1R"
conductance = [[1e-4, 5e-5, 2e-5, 8e-5], [5e-5, 1e-4, 5e-5, 3e-5], [2e-5, 5e-5, 1e-4, 6e-5]]

[wires]
r_row = 2.5
r_column = 2.5
r_driver = 10.0

[periphery.dac]
[periphery.tia]
[periphery.adc]
[periphery.programming]
scheme = "V/2"
"""

WRITE_ARRAY = """\
rows = 5
columns = 5
states = 0.5

[device]
model = "linear_ion_drift"
params = {{vth = 0.5, mu_v = 1e-9}}

[wires]
r_row = 2.5
r_column = 2.5

[periphery.dac]
[periphery.tia]
[periphery.adc]
[periphery.programming]
scheme = "{scheme}"
pulse = {{amplitude = 1.2, width = 1e-6}}
"""


def _ngspice(cir: Path) -> str:
    run = subprocess.run(["ngspice", "-b", cir.name], cwd=cir.parent, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "error" not in run.stderr.lower(), run.stderr[-2000:]
    return run.stdout


def test_a_hand_written_testbench_includes_the_array_subckt_and_reads_it(tmp_path, capsys):
    (tmp_path / "array.toml").write_text(READ_ARRAY)
    assert main(["netlist", "--config", str(tmp_path / "array.toml"), "--out-dir", str(tmp_path),
                 "--subckt", "my_array"]) == 0
    sub = (tmp_path / "array.sub").read_text()
    lines = sub.splitlines()
    assert lines[0].startswith("* memcosim array sub-circuit my_array")
    assert not any(l.strip().lower() == ".end" for l in lines) and lines[-1] == ".ends my_array"
    assert "*   d0: row 0 input (volts to ground)" in sub and "*   w2: row 2 word line" in sub
    assert "*   o3: column 3 TIA output" in sub
    header = next(l for l in lines if l.startswith(".subckt my_array"))
    assert header.split()[2:14] == ["d0", "d1", "d2", "w0", "w1", "w2", "o0", "o1", "o2", "o3", "params:", "vprow0=0"] \
        or header.split()[2:12] == ["d0", "d1", "d2", "w0", "w1", "w2", "o0", "o1", "o2", "o3"]

    v_rows = [0.2, 0.1, 0.15]
    bench = tmp_path / "bench.cir"
    bench.write_text("\n".join([
        "* my own testbench around the memcosim array",
        '.include "array.sub"',
        ".options klu",
        *[f"Vin{i} in{i} 0 dc {v}" for i, v in enumerate(v_rows)],
        "Vwl wl 0 dc 1.8",
        "Xa in0 in1 in2 wl wl wl out0 out1 out2 out3 my_array",
        *[f"Rl{j} out{j} 0 1meg" for j in range(4)],
        ".control",
        "op",
        "print v(out0) v(out1) v(out2) v(out3) i(v.xa.vcol0) i(v.xa.vcol1) i(v.xa.vcol2) i(v.xa.vcol3)",
        ".endc",
        ".end",
    ]) + "\n")
    printed = _ngspice(bench)
    got = {k: float(v) for k, v in re.findall(r"^(\S+) = (\S+)$", printed, re.MULTILINE)}

    config = load_config(tmp_path / "array.toml")
    xb = build_crossbar(config)
    with open_session(xb.netlist, SessionOptions(worker=False)) as s:
        s.set_sources(dict(zip(xb.row_sources, v_rows)))
        r = s.op(voltages=xb.tia_outputs, currents=xb.column_sources)
    for j in range(4):
        assert got[f"v(out{j})"] == pytest.approx(r[f"o{j}"], rel=1e-4)
        assert got[f"i(v.xa.vcol{j})"] == pytest.approx(r[f"VCOL{j}"], rel=1e-4)
    assert min(abs(got[f"v(out{j})"]) for j in range(4)) > 0.01  # the rows drive real currents


@pytest.mark.parametrize("scheme, half_row, half_column", [("V/2", 0.6, 0.6), ("V/3", 0.4, 0.8)])
def test_the_generated_testbench_biases_the_programming_drivers_for_the_scheme(tmp_path, scheme, half_row, half_column,
                                                                            capsys):
    (tmp_path / "array.toml").write_text(WRITE_ARRAY.format(scheme=scheme))
    assert main(["netlist", "--config", str(tmp_path / "array.toml"), "--out-dir", str(tmp_path),
                 "--subckt", "xbar", "--write-cell", "2,2"]) == 0
    bench = (tmp_path / "array_tb.cir").read_text()
    assert '.include "array.sub"' in bench and "pre_osdi " in bench
    values = dict(re.findall(r"(v(?:prow|pcol)\d+)=(\S+)", bench))
    assert float(values["vprow2"]) == 1.2 and float(values["vpcol2"]) == 0.0
    assert float(values["vprow0"]) == pytest.approx(half_row) and float(values["vpcol4"]) == pytest.approx(half_column)
    printed = _ngspice(tmp_path / "array_tb.cir")
    v_selected = float(re.search(r"^v_selected\s+=\s+(\S+)", printed, re.MULTILINE).group(1))
    assert 1.1 < v_selected < 1.2  # the full write voltage less the wire and driver drops


def test_the_half_select_view_reports_the_simulated_bias(tmp_path):
    (tmp_path / "array.toml").write_text(WRITE_ARRAY.format(scheme="V/2"))
    config = load_config(tmp_path / "array.toml")
    d = write_disturbance(config, 2, 2)
    half = np.zeros((5, 5), dtype=bool)
    half[2, :] = half[:, 2] = True
    half[2, 2] = False
    assert np.all(d["nominal_bias"][half] == pytest.approx(0.6))
    # the write driver sits behind the DAC's 100 ohm: the cells see less than the nominal bias
    assert np.all(d["bias"][half] < 0.6) and np.all(d["bias"][half] > 0.3)
    assert d["bias"][2, 2] < 1.2
    view = disturbance_view(config, tmp_path)
    rows = list(csv.DictReader(open(view.csv)))
    centre = next(r for r in rows if r["row"] == "2" and r["column"] == "2")
    assert float(centre["nominal_bias_V"]) == pytest.approx(1.2)
    assert float(centre["bias_V"]) == pytest.approx(d["bias"][2, 2], rel=1e-6)
    assert view.summary["max half-selected bias V"] < 0.6


def test_a_sky130_array_subckt_carries_its_model_files_into_the_testbench(tmp_path, capsys):
    (tmp_path / "array.toml").write_text('rows = 2\ncolumns = 2\ncell = "1T1R"\nconductance = 1e-4\n\n[access]\n'
                                         'v_gate = 3.3\n\n[blocks.access]\npdk = "sky130"\n'
                                         'subckt = "sky130_fd_pr__nfet_g5v0d10v5"\nparams = {w = 5e-6, l = 0.5e-6}\n')
    assert main(["netlist", "--config", str(tmp_path / "array.toml"), "--out-dir", str(tmp_path),
                 "--subckt", "sky_array"]) == 0
    sub = (tmp_path / "array.sub").read_text()
    assert sub.index('__tt.corner.spice"') < sub.index("\n.subckt sky_array")  # model files outside the sub-circuit
    printed = _ngspice(tmp_path / "array_tb.cir")  # a read: rows at 0.2 V, two 10 kohm cells per column
    currents = [float(v) for v in re.findall(r"^i\(v\.xarray\.vcol\d\) = (\S+)$", printed, re.MULTILINE)]
    assert len(currents) == 2
    assert all(0.9 * 40e-6 < i < 40e-6 for i in currents)  # below G V by the access transistors' on-resistance


@pytest.mark.slow
def test_the_testbench_puts_the_column_switches_in_write_mode(tmp_path, capsys):
    """With the sky130 TIA and column switches, the generated write testbench sets ``swwrite=1``: the
    columns hang on their programming drivers, so the selected cell sees the write (less the DAC's
    100 ohm and the switch) and no column current reaches the TIAs' feedback."""
    (tmp_path / "array.toml").write_text("rows = 3\ncolumns = 3\nconductance = 5e-5\n[periphery.dac]\n[periphery.tia]\n"
                                         "circuit = 'sky130'\n[periphery.adc]\n[periphery.programming]\n"
                                         "scheme = 'V/2'\n[periphery.switches]\n")
    assert main(["netlist", "--config", str(tmp_path / "array.toml"), "--out-dir", str(tmp_path),
                 "--subckt", "xbar", "--write-cell", "1,1"]) == 0
    sub = (tmp_path / "array.sub").read_text()
    assert "VSW_RD sw_rd 0 dc {2.5+swwrite*(-5)}" in sub and "swwrite=0" in sub
    bench = (tmp_path / "array_tb.cir").read_text()
    assert "swwrite=1" in bench
    printed = _ngspice(tmp_path / "array_tb.cir")
    v_selected = float(re.search(r"^v_selected\s+=\s+(\S+)", printed, re.MULTILINE).group(1))
    assert 0.95 < v_selected < 1.0
    read = _ngspice_text(tmp_path, bench.replace("swwrite=1", "swwrite=0"))
    assert float(re.search(r"^v_selected\s+=\s+(\S+)", read, re.MULTILINE).group(1)) < 0.9  # TIAs on the columns


def _ngspice_text(folder: Path, text: str) -> str:
    (folder / "other_tb.cir").write_text(text)
    return _ngspice(folder / "other_tb.cir")
