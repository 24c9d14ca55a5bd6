"""ngspice in a worker process: same results as in-process, and a crash, abort, exit or hang costs one step.

Every test kills, stops or crashes a real worker process running real ngspice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.netlist import Netlist
from memcosim.circuits.waveforms import pulse
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session, SessionOptions
from memcosim.cosim.worker import WorkerSession
from memcosim.errors import ConfigError, MemcosimError, NetlistError, SimulationError, WorkerCrash

WORKER = SessionOptions(worker=True)
LOCAL = SessionOptions(worker=False)


def _array(n: int = 8, model: str = "jart_vcm"):
    rng = np.random.default_rng(3)
    states = np.exp(rng.uniform(np.log(0.01), np.log(15.0), (n, n))) if model == "jart_vcm" else None
    return build_crossbar(ArrayConfig(n, n, device=DeviceConfig(model),
                                      wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=2.5), states=states))


def _steps(s, xbar) -> list[np.ndarray]:
    """A fixed sequence of reads, writes and pulses; returns every read and the final states."""
    out = []
    rows, cols = xbar.row_sources, xbar.column_sources
    for k in range(3):
        s.set_sources({r: 0.05 * (1 + (i + k) % 4) for i, r in enumerate(rows)})
        out.append(s.op(currents=cols, voltages=[xbar.row_node(0, 3)]).stack(cols))
        s.set_states({xbar.cells[k, 1]: 5.0 + k})
        s.set_sources({r: 0.0 for r in rows})
        t = s.tran(50e-9, 1e-9, waveforms={rows[k]: pulse(1.3, 30e-9)}, currents=[cols[0]])
        out.append(t[cols[0]])
    out.append(s.states.copy())
    return out


def test_worker_session_gives_the_in_process_results():
    xbar = _array()
    with open_session(xbar.netlist, LOCAL) as s:
        assert s.in_process and type(s) is Session
        local = _steps(s, xbar)
    with open_session(xbar.netlist, WORKER) as s:
        assert isinstance(s, WorkerSession) and isinstance(s, Session) and not s.in_process
        remote = _steps(s, xbar)
        assert s.step == 6 and s.state(xbar.cells[0, 1]) == pytest.approx(remote[-1][1])
        np.testing.assert_array_equal(s.state_array(xbar.cells), remote[-1].reshape(8, 8))
    for a, b in zip(local, remote):
        np.testing.assert_array_equal(a, b)


def test_open_session_is_the_one_way_and_the_in_process_session_does_not_import_the_worker():
    xbar = _array(2)
    with pytest.raises(ConfigError, match="^worker: Session runs ngspice in this process"):
        Session(xbar.netlist, WORKER)  # a worker session comes from open_session only
    code = ("import sys, memcosim.cosim.session\n"
            "assert 'memcosim.cosim.worker' not in sys.modules, 'session imports the worker'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("options", [LOCAL, WORKER], ids=["in-process", "worker"])
def test_an_operating_point_that_saves_every_vector_reads_what_a_save_list_reads(options):
    xbar = _array(4)
    nodes = [xbar.row_node(i, j) for i in range(4) for j in range(4)]
    with open_session(xbar.netlist, options) as s:
        s.set_sources({r: 0.1 * (i + 1) for i, r in enumerate(xbar.row_sources)})
        listed = s.op(voltages=nodes, currents=xbar.column_sources)
        every = s.op(voltages=nodes, currents=xbar.column_sources, save_all=True)
        again = s.op(voltages=nodes, currents=xbar.column_sources)  # a save list again after save_all
        assert s.step == 3
    for names in (nodes, xbar.column_sources):
        np.testing.assert_allclose(every.stack(names), listed.stack(names), rtol=1e-6, atol=1e-12)
        np.testing.assert_array_equal(again.stack(names), listed.stack(names))


def test_killing_the_worker_in_the_middle_of_a_step_raises_then_the_next_step_works_with_the_states_before():
    xbar = _array(24)
    rows, cols = xbar.row_sources, xbar.column_sources
    with open_session(xbar.netlist, WORKER) as s:
        s.set_sources({r: 0.1 for r in rows})
        read_before = s.op(currents=cols).stack(cols)
        s.set_states({xbar.cells[2, 2]: 7.5})
        before, pid = s.states.copy(), s.pid
        started = time.monotonic()
        killer = threading.Timer(0.25, lambda: os.kill(pid, signal.SIGKILL))
        killer.start()
        with pytest.raises(WorkerCrash) as info:  # a long transient: the kill lands inside it
            s.tran(5e-6, 1e-9, waveforms={rows[0]: pulse(1.3, 4.9e-6)}, max_step=1e-9)
        killer.join()
        assert time.monotonic() - started < 60
        err = info.value
        assert isinstance(err, SimulationError) and err.analysis == "tran" and err.step == 2
        msg = str(err)
        assert f"pid {pid}" in msg and "killed by SIGKILL" in msg and "during tran" in msg
        assert "last completed step" in msg and s.restarts == 1 and s.pid != pid
        np.testing.assert_array_equal(s.states, before)
        # the next step works, on the restored states and sources
        read_after = s.op(currents=cols).stack(cols)
        assert s.step == 3
        with open_session(xbar.netlist, LOCAL) as ref:  # the same states read in-process
            ref.set_sources({r: 0.1 for r in rows})
            ref.set_states(before)
            np.testing.assert_allclose(read_after, ref.op(currents=cols).stack(cols), rtol=1e-9)
        assert not np.allclose(read_after, read_before)  # the write of cell (2, 2) is there
        s.tran(20e-9, 1e-9, waveforms={rows[1]: pulse(1.3, 10e-9)})  # and transients too


@pytest.mark.parametrize("how", ["SIGSEGV", "SIGABRT", "SIGTERM", "exit", pytest.param("hang", marks=pytest.mark.slow)])
def test_crash_abort_exit_and_hang_each_give_a_clear_error_and_a_working_session(how):
    xbar = _array(6)
    options = SessionOptions(worker=True, timeout=2.0 if how == "hang" else 600.0)
    with open_session(xbar.netlist, options) as s:
        s.set_sources({r: 0.1 for r in xbar.row_sources})
        good = s.op(currents=xbar.column_sources).stack(xbar.column_sources)
        states = s.states.copy()
        if how == "exit":
            with pytest.raises(WorkerCrash, match="exited with code 3"):
                s.run(_exit_now)
        else:
            sig = signal.SIGSTOP if how == "hang" else getattr(signal, how)
            os.kill(s.pid, sig)
            expect = "did not answer within 2 s" if how == "hang" else f"killed by {how}"
            with pytest.raises(WorkerCrash, match=expect):
                s.op(currents=xbar.column_sources)
        np.testing.assert_array_equal(s.states, states)
        np.testing.assert_allclose(s.op(currents=xbar.column_sources).stack(xbar.column_sources), good, rtol=1e-9)


def _exit_now(session):
    os._exit(3)


@pytest.mark.slow
def test_a_trainer_continues_after_a_worker_crash_without_restarting_python(tmp_path):
    from memcosim.trainers.config import RunConfig
    from memcosim.trainers.ep import EPTrainer

    def config(ck: str) -> RunConfig:
        return RunConfig(train=dict(dataset="iris", epochs=3, train_limit=20, test_limit=10, lr=1.0,
                                    layer_lr=[0.01, 1.0], progress=False, seed=2, checkpoint=ck),
                         network=dict(sizes=[4, 3, 3], device={"model": "vteam"}, wires={"r_row": 1.0, "r_column": 1.0}, gain=10.0, diode_bias=-0.2,
                                      v_input=0.5, v_bias=0.5, g_init=[1e-6, 1e-4]))

    with EPTrainer(config(str(tmp_path / "ref.npz")), options=WORKER) as ref:
        history = ref.fit(log=None)
        ref_states = ref.circuit.session.states.copy()
    ck = tmp_path / "ck.npz"
    with EPTrainer(config(str(ck)), options=WORKER) as tr:
        session = tr.circuit.session
        ops = {"n": 0}
        real_op = session.op

        def op_that_crashes_once(*a, **k):  # kill the worker inside epoch 2's 5th operating point
            ops["n"] += 1
            if tr.epoch == 1 and ops["n"] == 60:
                session.kill_worker(signal.SIGKILL)
            return real_op(*a, **k)

        session.op = op_that_crashes_once
        with pytest.raises(WorkerCrash):
            tr.fit(log=None)
        assert tr.epoch == 1 and ck.exists()
        again = tr.fit(resume=ck, log=None)  # same process, same trainer, new worker
        strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
        assert strip(again) == strip(history)
        np.testing.assert_array_equal(session.states, ref_states)


def test_set_calls_are_checked_here_and_worker_side_errors_surface_at_the_next_call():
    net = Netlist("divider")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "b", 1e3)
    net.resistor("R2", "b", "0", 3e3)
    with open_session(net, WORKER) as s:
        with pytest.raises(NetlistError, match="no independent source named 'VX'"):
            s.set_sources({"VX": 1.0})
        with pytest.raises(NetlistError):
            s.set_sources({"V1": float("nan")})
        s.set_device_params("R1", no_such_param=3.0)  # only ngspice knows: reported at the next call
        with pytest.raises(NetlistError, match="no_such_param"):
            s.op(voltages=["b"])
        s.set_sources({"V1": 2.0})
        assert s.op(voltages=["b"])["b"] == pytest.approx(1.5, rel=1e-12)
        with pytest.raises(MemcosimError, match="SessionOptions\\(worker=False\\)"):
            s.library
        assert s.run(_vector_names) == ["b"]


def _vector_names(session):
    session.op(voltages=["b"])
    return ["b"]


def test_several_worker_sessions_at_once_and_rejected_netlists_are_clear():
    a, b = _array(4), _array(5, "vteam")
    with open_session(a.netlist, WORKER) as s1, open_session(b.netlist, WORKER) as s2:
        assert s1.pid != s2.pid
        s1.set_sources({r: 0.1 for r in a.row_sources})
        s2.set_sources({r: 0.1 for r in b.row_sources})
        assert s1.op(currents=a.column_sources).stack(a.column_sources).shape == (4,)
        assert s2.op(currents=b.column_sources).stack(b.column_sources).shape == (5,)
    net = Netlist("missing model")
    net.voltage_source("V1", "a", "0", 1.0)
    net.add("Q1", ("a", "b", "0"), "qnothere", "transistor")
    net.resistor("R1", "b", "0", 1e3)
    with pytest.raises(NetlistError, match="qnothere"):
        open_session(net, WORKER)
    s = open_session(a.netlist, WORKER)  # the worker is fine after a refused netlist
    s.close()
    with pytest.raises(MemcosimError, match="closed"):
        s.op()


def test_thousands_of_unwaited_set_calls_do_not_block_the_pipe():
    """Parameter writes are pipelined; their replies are read before the pipe could fill both ways."""
    xbar = _array(8, "jart_vcm")
    name = xbar.cells[0, 0]

    def alarm(signum, frame):
        raise TimeoutError("the worker pipe blocked")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(300)
    try:
        with open_session(xbar.netlist, WORKER) as s:
            for k in range(3000):
                s.set_device_params(name, rfil=45e-9 * (1 + 1e-3 * (k % 7)))
                s.set_sources({xbar.row_sources[k % 8]: 0.01 * (k % 5)})
            s.set_device_params(name, rfil=45e-9)
            i = s.op(currents=xbar.column_sources).stack(xbar.column_sources)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert np.all(np.isfinite(i)) and np.any(i != 0)


def _reltol_in_use(session) -> float:  # the reltol of the last analysis (ngspice's option listing)
    session.op()
    line = next(l for l in session.library.command("option").stdout if l.strip().startswith("reltol"))
    return float(line.split("=")[1])


def test_solver_options_reach_the_worker_and_survive_its_replacement():
    xbar = build_crossbar(ArrayConfig(device=DeviceConfig("resistor"), rows=3, columns=3, conductance=1e-4))
    with open_session(xbar.netlist, SessionOptions(worker=True, reltol=1e-5)) as s:
        seen = [s.run(_reltol_in_use)]
        with s.solver_options(reltol=1e-2):
            seen.append(s.run(_reltol_in_use))
            s.kill_worker(signal.SIGKILL)
            with pytest.raises(WorkerCrash):
                s.op()
            s.op()  # the new worker has the circuit, and the tolerances of the block
            seen.append(s.run(_reltol_in_use))
        seen.append(s.run(_reltol_in_use))
    assert seen == pytest.approx([1e-5, 1e-2, 1e-2, 1e-5])
