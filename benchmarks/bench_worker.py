"""Per-step cost of the worker-process session against the in-process session (target: < 10% at 32x32).

Both sessions hold the same 32x32 array of ``jart_vcm`` devices with 2.5 ohm wire segments and run
the same steps, interleaved (worker step, in-process step, ...) so that machine load hits both alike:

* read step: set the 32 row voltages, operating point, read the 32 column currents;
* write + read step: set the states of one row of devices (an ideal weight write), then a read step;
* pulse step: a 20 ns transient with a pulse on one row (device states carried), then a read.

Reported: median milliseconds per step of each and the ratio worker / in-process. Also the time to
open a session (first worker of the process, a reused worker, in-process) and to recover from a
killed worker (exception, restart, state restored), and the non-convergence retry ladder on a small
set of circuits ngspice cannot solve plainly: which analyses the ladder rescued, and with which rung.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from benchmarks.common import report
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.netlist import Netlist
from memcosim.circuits.waveforms import pulse
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.errors import SimulationError, WorkerCrash

N = int(os.environ.get("MEMCOSIM_BENCH_WORKER_N", "32"))
REPEAT = int(os.environ.get("MEMCOSIM_BENCH_WORKER_REPEAT", "200"))


def _array(n: int):
    rng = np.random.default_rng(0)
    states = np.exp(rng.uniform(np.log(0.008), np.log(20.0), (n, n)))
    return build_crossbar(ArrayConfig(n, n, device=DeviceConfig("jart_vcm"),
                                      wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=2.5), states=states))


def _steps(xbar, rng):
    n = xbar.config.rows
    rows = xbar.row_sources
    cols = xbar.column_sources

    def read(s):
        s.set_sources(dict(zip(rows, rng.uniform(0.0, 0.2, n))))
        return s.op(currents=cols).stack(cols)

    def write_read(s):
        i = int(rng.integers(n))
        s.set_states(dict(zip(xbar.cells[i].tolist(), rng.uniform(0.5, 15.0, n).tolist())))
        return read(s)

    def pulse_read(s):
        i = int(rng.integers(n))
        s.tran(20e-9, 1e-9, waveforms={rows[i]: pulse(0.3, 10e-9)})
        return read(s)

    return {"read": read, "write + read": write_read, "pulse + read": pulse_read}


def step_rows(n: int = N, repeat: int = REPEAT) -> list[dict]:
    xbar = _array(n)
    rows = []
    with open_session(xbar.netlist, SessionOptions(worker=False)) as local, \
            open_session(xbar.netlist, SessionOptions(worker=True)) as remote:
        assert local.in_process and not remote.in_process
        for name in _steps(xbar, np.random.default_rng(1)):
            times = {"in-process": [], "worker": []}
            rng_l, rng_r = np.random.default_rng(2), np.random.default_rng(2)
            step_l, step_r = _steps(xbar, rng_l)[name], _steps(xbar, rng_r)[name]
            for s, fn in ((local, step_l), (remote, step_r)):  # warm up
                for _ in range(5):
                    fn(s)
            reps = repeat if name == "read" else max(20, repeat // 4)
            for _ in range(reps):
                for label, s, fn in (("worker", remote, step_r), ("in-process", local, step_l)):
                    t = time.perf_counter()
                    fn(s)
                    times[label].append(time.perf_counter() - t)
            a, b = statistics.median(times["in-process"]), statistics.median(times["worker"])
            same = np.allclose(local.states, remote.states, rtol=1e-9, atol=0)
            rows.append({"N": n, "step": name, "in_process_ms": a * 1e3, "worker_ms": b * 1e3,
                         "overhead_pct": 100 * (b / a - 1), "same_states": bool(same),
                         "target": "< 10%" if name == "read" else ""})
    return rows


def lifecycle_rows(n: int = N) -> list[dict]:
    xbar = _array(n)
    out = []
    t = time.perf_counter()
    s = open_session(xbar.netlist, SessionOptions(worker=True))
    out.append({"what": "open (reused or new worker)", "ms": (time.perf_counter() - t) * 1e3})
    s.close()
    t = time.perf_counter()
    s = open_session(xbar.netlist, SessionOptions(worker=True))
    out.append({"what": "open (reused worker)", "ms": (time.perf_counter() - t) * 1e3})
    s.set_sources({r: 0.1 for r in xbar.row_sources})
    before = s.states.copy()
    s.kill_worker()
    t = time.perf_counter()
    try:
        s.op(currents=xbar.column_sources)
    except WorkerCrash:
        pass
    out.append({"what": "killed worker: exception + restart + restore", "ms": (time.perf_counter() - t) * 1e3})
    assert np.array_equal(before, s.states)
    s.close()
    t = time.perf_counter()
    with open_session(xbar.netlist, SessionOptions(worker=False)):
        pass
    out.append({"what": "open in-process", "ms": (time.perf_counter() - t) * 1e3})
    return out


def _hard_circuits() -> list[tuple[str, Netlist]]:
    """Circuits whose operating point ngspice does not find with its own fallbacks."""
    out = []
    for k in (1, 2, 4):  # k nodes tied to the rest only through capacitors
        net = Netlist(f"capacitor chain {k}")
        net.voltage_source("V1", "a", "0", 1.0)
        net.resistor("R1", "a", "0", 1e3)
        prev = "a"
        for j in range(k):
            net.capacitor(f"C{j}", prev, f"f{j}", 1e-12)
            prev = f"f{j}"
        net.capacitor("CE", prev, "0", 1e-12)
        out.append((f"{k} capacitively coupled node(s)", net))
    net = Netlist("current into a capacitor")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "0", 1e3)
    net.current_source("I1", "0", "f", 1e-9)
    net.capacitor("C1", "f", "0", 1e-12)
    net.resistor("R2", "f", "g", 1e3)
    net.capacitor("C2", "g", "a", 1e-12)
    out.append(("current source into a capacitive island", net))
    for v in (30.0, 60.0):
        net = Netlist("diode overdrive")
        net.model_card("dm", "d", **{"is": 1e-14})
        net.voltage_source("V1", "a", "0", v)
        net.add("D1", ("a", "0"), "dm", "diode")
        out.append((f"ideal diode at {v:g} V (exp overflow)", net))
    xb = build_crossbar(ArrayConfig(8, 8, device=DeviceConfig("stanford_pku"),
                                    wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=10.0)))
    out.append(("8x8 stanford_pku, every row at 20 V", xb.netlist))
    return out


def ladder_rows() -> list[dict]:
    rows = []
    for name, net in _hard_circuits():
        outcome = {}
        for retry in (False, True):
            with open_session(net, SessionOptions(retry=retry)) as s:
                if net.title.startswith("memcosim crossbar"):
                    s.set_sources({f"VROW{i}": 20.0 for i in range(8)})
                try:
                    s.op()
                    outcome[retry] = "converged"
                except SimulationError:
                    outcome[retry] = "failed"
                rungs = s.convergence["rungs"]
        rows.append({"circuit": name, "plain": outcome[False], "with ladder": outcome[True],
                     "rescued by": ", ".join(rungs) if outcome[False] == "failed" and outcome[True] == "converged" else ""})
    return rows


def main() -> None:
    print(f"{N}x{N} jart_vcm array, 2.5 ohm wire segments; steps interleaved worker / in-process")
    report("worker_step_overhead", step_rows(),
           "overhead_pct = worker / in-process - 1 per step (median); same_states: both sessions ended equal")
    report("worker_lifecycle", lifecycle_rows())
    ladder = ladder_rows()
    failing = [r for r in ladder if r["plain"] == "failed"]
    report("convergence_ladder", ladder, f"non-converging cases: {len(failing)}, rescued by the ladder: "
           f"{sum(r['with ladder'] == 'converged' for r in failing)}")


if __name__ == "__main__":
    main()
