"""The co-simulation session against real ngspice: reads, reference solutions, errors, recovery."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.netlist import Netlist
from memcosim.circuits.nodal import solve_crossbar
from memcosim.circuits.waveforms import Pwl, pulse
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session, SessionOptions
from memcosim.errors import MemcosimError, NetlistError, SimulationError

ROOT = Path(__file__).resolve().parents[1]


def test_32x32_resistor_crossbar_with_wires_matches_scipy_nodal_solution():
    rng = np.random.default_rng(1)
    G = rng.uniform(1e-6, 1e-4, (32, 32))
    v = rng.uniform(0.0, 0.3, 32)
    xbar = build_crossbar(ArrayConfig(32, 32, wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=5.0), conductance=G))
    with open_session(xbar.netlist) as s:
        s.set_sources(dict(zip(xbar.row_sources, v)))
        currents = s.op(currents=xbar.column_sources).stack(xbar.column_sources)
        # a second read with other inputs reuses the loaded circuit
        s.set_sources(dict(zip(xbar.row_sources, v[::-1])))
        currents2 = s.op(currents=xbar.column_sources).stack(xbar.column_sources)
    ref = solve_crossbar(G, v, 2.5, 2.5, 5.0).column_currents
    ref2 = solve_crossbar(G, v[::-1], 2.5, 2.5, 5.0).column_currents
    np.testing.assert_allclose(currents, ref, rtol=1e-6)
    np.testing.assert_allclose(currents2, ref2, rtol=1e-6)
    # the wires matter: the ideal (wire-free) currents differ by far more than the tolerance
    assert np.max(np.abs(v @ G - ref) / ref) > 1e-3


def test_node_voltages_and_source_currents_come_back_as_requested():
    net = Netlist("divider")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "b", 1e3)
    net.resistor("R2", "b", "0", 3e3)
    with open_session(net) as s:
        r = s.op(voltages=["b"], currents=["V1"])
        assert r["b"] == pytest.approx(0.75, rel=1e-12)
        assert r["V1"] == pytest.approx(-0.25e-3, rel=1e-12)  # SPICE: current into the + terminal
        s.set_sources({"V1": 2.0})
        assert s.op(voltages=["b"])["b"] == pytest.approx(1.5, rel=1e-12)
        t = s.tran(1e-6, 1e-8, waveforms={"V1": Pwl((0.0, 1e-6), (0.0, 4.0))}, voltages=["b"])
        assert t.time[0] == 0.0 and t.time[-1] == pytest.approx(1e-6)
        np.testing.assert_allclose(t["b"], 0.75 * 4.0 * t.time / 1e-6, atol=1e-9)
        # after a transient the source is back at its DC value
        assert s.op(voltages=["b"])["b"] == pytest.approx(1.5, rel=1e-12)


def _diode_circuit() -> Netlist:
    net = Netlist("diode stress")
    net.model_card("dm", "d", **{"is": 1e-14})
    net.voltage_source("V1", "a", "0", 0.5)
    net.add("D1", ("a", "0"), "dm", "diode")
    return net


def test_non_converging_operating_point_raises_with_analysis_step_and_ngspice_message_then_recovers():
    opts = SessionOptions(extra={"itl1": 5, "gminsteps": 0, "srcsteps": 0})
    with open_session(_diode_circuit(), opts) as s:
        good = s.op(currents=["V1"])["V1"]
        s.set_sources({"V1": 30.0})
        with pytest.raises(SimulationError) as info:
            s.op(currents=["V1"])
        err = info.value
        assert err.analysis == "op" and err.step == 2
        assert "d1" in err.ngspice_message.lower() or "timestep too small" in err.ngspice_message.lower()
        assert "op analysis failed at session step 2" in str(err)
        s.set_sources({"V1": 0.5})
        assert s.op(currents=["V1"])["V1"] == pytest.approx(good, rel=1e-9)


def test_netlist_that_ngspice_rejects_gives_a_clear_error():
    net = Netlist("missing model")
    net.voltage_source("V1", "a", "0", 1.0)
    net.add("Q1", ("a", "b", "0"), "qnothere", "transistor")
    net.resistor("R1", "b", "0", 1e3)
    with pytest.raises(NetlistError) as info:
        open_session(net)
    msg = str(info.value)
    assert "missing model" in msg and "qnothere" in msg


def test_unknown_source_and_closed_session_are_clear_errors():
    net = Netlist("one")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "0", 1e3)
    s = open_session(net)
    with pytest.raises(NetlistError, match="no independent source named 'VX'"):
        s.set_sources({"VX": 1.0})
    s.close()
    with pytest.raises(MemcosimError, match="closed"):
        s.op(voltages=["a"])


@pytest.mark.parametrize("bad", ["R1\n.control", "R1 .control", "R1;shell", "r.1", "", "1R"])
def test_element_names_that_could_inject_control_cards_are_rejected(bad):
    net = Netlist("inject")
    with pytest.raises(NetlistError):
        net.add(bad, ("a", "0"), "1k", "resistor")


def test_node_names_and_titles_that_could_inject_are_rejected():
    net = Netlist("inject")
    with pytest.raises(NetlistError):
        net.resistor("R1", "a\n.control", "0", 1e3)
    with pytest.raises(NetlistError):
        Netlist("title\n.control\nshell rm -rf /\n.endc")


def test_ngspice_without_osdi_and_klu_is_refused_with_what_was_found_and_how_to_install():
    lib = ROOT / ".venv-ngspice39" / "libngspice.so.0"
    if not lib.exists():
        pytest.skip(f"no {lib}: .ci/setup.sh unpacks Debian's ngspice 39 there when apt can fetch libngspice0=39.3+ds-1")
    code = (
        "from memcosim.circuits.netlist import Netlist\n"
        "from memcosim.cosim.engine import open_session\n"
        "n = Netlist('t'); n.voltage_source('V1','a','0',1.0); n.resistor('R1','a','0',1e3)\n"
        "open_session(n)\n"
    )
    env = dict(os.environ, NGSPICE_LIBRARY_PATH=str(lib))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("memcosim.errors.ToolchainError: found ngspice-39")
    assert "OSDI=no" in last and "KLU=no" in last and "bookworm-backports" in last


def test_a_waveform_longer_than_an_ngspice_command_line_is_applied_whole():
    # ngspice cuts command lines after 1,024 characters without a word: a long pwl list used to end early
    # and hold its last level for the rest of the transient
    net = Netlist("long waveform")
    net.voltage_source("V1", "a", "0", 0.0)
    net.resistor("R1", "a", "0", 1e3)
    times, values = [0.0], [0.0]
    for k in range(150):  # 150 pulses of 1 ns at 0.5 + k/300 volts, 1 ns apart
        t = 2e-9 * k + 1e-9
        times += [t, t + 1e-12, t + 1e-9, t + 1e-9 + 1e-12]
        values += [0.0, 0.5 + k / 300, 0.5 + k / 300, 0.0]
    wave = Pwl(tuple(times), tuple(values))
    assert len(wave.render()) > 5000
    with open_session(net) as s:
        r = s.tran(301e-9, 0.1e-9, waveforms={"V1": wave}, voltages=["a"], max_step=0.1e-9)
    middle = np.array([2e-9 * k + 1.5e-9 for k in range(150)])
    np.testing.assert_allclose(np.interp(middle, r.time, r["a"]), 0.5 + np.arange(150) / 300, atol=1e-6)
    np.testing.assert_allclose(np.interp(middle + 1e-9, r.time, r["a"]), 0.0, atol=1e-6)


def test_a_command_longer_than_ngspice_takes_is_refused_not_cut():
    from memcosim.cosim.ngspice import NgspiceLibrary

    with open_session(_diode_circuit(), SessionOptions(worker=False)) as s:
        with pytest.raises(ValueError, match="at most 1000 characters"):
            s.library.command("alter @v1[pwl] = [ " + "1e-9 1 " * 200 + "]")
        assert NgspiceLibrary.MAX_COMMAND == 1000


_SOLVER_OPTIONS_RUN = """
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError

def reltol_in_use(s):  # the reltol ngspice used in the last analysis (its `option` listing)
    line = next(l for l in s.library.command("option").stdout if l.strip().startswith("reltol"))
    return float(line.split("=")[1])

xbar = build_crossbar(ArrayConfig(rows=3, columns=3, conductance=1e-4))
with open_session(xbar.netlist, SessionOptions(worker=False, reltol=1e-5)) as s:
    s.op(); seen = [reltol_in_use(s)]
    with s.solver_options(reltol=1e-2, vntol=1e-4):
        s.op(); seen.append(reltol_in_use(s))
    s.op(); seen.append(reltol_in_use(s))
    for bad in ({"gmin": 1e-12}, {"reltol": -1.0}):
        try:
            with s.solver_options(**bad):
                pass
        except ConfigError as exc:
            seen.append(str(exc).split(":")[0])
    s.op(); seen.append(reltol_in_use(s))
print(seen)
"""


def test_solver_options_hold_inside_the_block_only_and_bad_ones_change_nothing():
    # ngspice's option listing needs the library in the test's process: a fresh one, so that the options
    # set here cannot reach another test's session
    proc = subprocess.run([sys.executable, "-c", _SOLVER_OPTIONS_RUN], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert seen[:3] == pytest.approx([1e-5, 1e-2, 1e-5])
    assert seen[3:5] == ["solver_options.gmin", "solver_options.reltol"]
    assert seen[5] == pytest.approx(1e-5)


def test_a_session_that_saved_nothing_leaves_the_next_sessions_transients_whole():
    # an operating point that asks for nothing once sent `save none`, which ngspice kept past the
    # circuit: every later in-process session's transients came back one point long
    quiet = build_crossbar(ArrayConfig(device=DeviceConfig("resistor"), rows=3, columns=3, conductance=1e-4))
    with open_session(quiet.netlist, SessionOptions(worker=False)) as s:
        s.op()
    xbar = build_crossbar(ArrayConfig(device=DeviceConfig("jart_vcm"), rows=4, columns=4))
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:
        t = s.tran(50e-9, 1e-9, waveforms={xbar.row_sources[0]: pulse(1.3, 30e-9)}, currents=[xbar.column_sources[0]])
    assert len(t.time) > 40 and len(t[xbar.column_sources[0]]) == len(t.time)


def test_in_process_sessions_that_keep_each_other_share_ngspice_and_read_as_each_alone():
    from memcosim.cosim.session import in_process_session, open_circuits

    local = SessionOptions(worker=False)
    keep = SessionOptions(worker=False, keep_others=True)
    a = build_crossbar(ArrayConfig(3, 3, DeviceConfig("linear_ion_drift"), WireConfig.uniform(2.0), states=0.2))
    b = build_crossbar(ArrayConfig(4, 2, DeviceConfig("linear_ion_drift"), WireConfig.uniform(1.0), states=0.6))
    alone = {}
    for name, xbar, v in (("a", a, 0.2), ("b", b, 0.1)):
        with open_session(xbar.netlist, local) as s:
            alone[name] = [step() for step in _memristor_steps(s, xbar, v)]
    sa, sb = open_session(a.netlist, keep), open_session(b.netlist, keep)
    try:
        assert open_circuits() == 2
        # every step alternates between the two circuits (each switch ends the other's warm reads)
        got = {"a": [], "b": []}
        for step_a, step_b in zip(_memristor_steps(sa, a, 0.2), _memristor_steps(sb, b, 0.1)):
            got["a"].append(step_a())
            got["b"].append(step_b())
        for name in ("a", "b"):
            for x, y in zip(got[name], alone[name]):
                np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-15)
        assert in_process_session() is sb
        sa.close()
        assert open_circuits() == 1  # the other circuit is untouched
        np.testing.assert_allclose(sb.op(currents=b.column_sources).stack(b.column_sources), got["b"][-1], rtol=1e-9)
        sc = open_session(a.netlist, local)  # without keep_others: every other in-process session is closed
        assert open_circuits() == 1
        with pytest.raises(MemcosimError, match="closed"):
            sb.op(currents=b.column_sources)
        sc.close()
    finally:
        sa.close()
        sb.close()
    assert open_circuits() == 0 and in_process_session() is None


def _memristor_steps(s, xbar, v: float) -> list:
    """Four steps on one array, each a call returning what it read: a read, a state write and a read, a programming
    transient (the states after it), a read."""
    rows = dict.fromkeys(xbar.row_sources, v)

    def read(volts):
        s.set_sources(volts)
        return s.op(currents=xbar.column_sources).stack(xbar.column_sources)

    def write_and_read():
        s.set_states({xbar.cells[0, 1]: 0.3})
        return read(dict.fromkeys(xbar.row_sources, 0.5 * v))

    def program():
        s.tran(2e-8, 1e-9, waveforms={xbar.row_sources[0]: pulse(1.0, 1e-8, delay=2e-9)})
        return s.states.copy()

    return [lambda: read(rows), write_and_read, program, lambda: read(rows)]


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_during_an_ngspice_command_is_delivered_after_it_not_lost(signum):
    """ngspice prints through callbacks into Python, which swallow exceptions: a SIGTERM/SIGINT handler that
    raises while a transient runs must reach the caller once the command has returned, with the run whole."""
    import os
    import signal
    import threading

    class Stop(Exception):
        pass

    def stop(number, frame):
        raise Stop(number)

    number = getattr(signal, signum)
    previous = signal.signal(number, stop)
    try:
        with open_session(_diode_circuit(), SessionOptions(worker=False)) as s:
            timer = threading.Timer(0.1, os.kill, (os.getpid(), number))
            timer.start()
            with pytest.raises(Stop) as caught:
                s.library.command("tran 20p 1u 0 20p")
            timer.join()
            assert caught.value.args == (number,)
            assert s.library.vector_length("time") > 50_000  # the transient ran to its end
            assert signal.getsignal(number) is stop  # the handler is back in place
            assert s.op(currents=["V1"])["V1"] < 0  # and the session still works
    finally:
        signal.signal(number, previous)
