"""Per-step cost of the worker-process session against the in-process session (target: < 10% at 32x32).

Both sessions hold the same 32x32 array of ``jart_vcm`` devices with 2.5 ohm wire segments and run
the same steps, interleaved (worker step, in-process step, ...) so that machine load hits both alike:

* read step: set the 32 row voltages, operating point, read the 32 column currents;
* write + read step: set the states of one row of devices (an ideal weight write), then a read step;
* pulse step: a 20 ns transient with a pulse on one row (device states carried), then a read.

Reported: median milliseconds per step of each and the ratio worker / in-process. Also the time to
open a session (first worker of the process, a reused worker, in-process) and to recover from a
killed worker (exception, restart, state restored).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from benchmarks.common import report
from memcosim.circuits.crossbar import CrossbarConfig, build_crossbar
from memcosim.cosim.session import Session, SessionOptions, pulse
from memcosim.errors import WorkerCrash

N = int(os.environ.get("MEMCOSIM_BENCH_WORKER_N", "32"))
REPEAT = int(os.environ.get("MEMCOSIM_BENCH_WORKER_REPEAT", "200"))


def _array(n: int):
    rng = np.random.default_rng(0)
    states = np.exp(rng.uniform(np.log(0.008), np.log(20.0), (n, n)))
    return build_crossbar(CrossbarConfig(n, n, model="jart_vcm", states=states, r_row=2.5, r_column=2.5,
                                         r_driver=2.5))


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
    with Session(xbar.netlist, SessionOptions(worker=False)) as local, \
            Session(xbar.netlist, SessionOptions(worker=True)) as remote:
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
    s = Session(xbar.netlist, SessionOptions(worker=True))
    out.append({"what": "open (reused or new worker)", "ms": (time.perf_counter() - t) * 1e3})
    s.close()
    t = time.perf_counter()
    s = Session(xbar.netlist, SessionOptions(worker=True))
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
    with Session(xbar.netlist, SessionOptions(worker=False)):
        pass
    out.append({"what": "open in-process", "ms": (time.perf_counter() - t) * 1e3})
    return out


def main() -> None:
    print(f"{N}x{N} jart_vcm array, 2.5 ohm wire segments; steps interleaved worker / in-process")
    report("worker_step_overhead", step_rows(),
           "overhead_pct = worker / in-process - 1 per step (median); same_states: both sessions ended equal")
    report("worker_lifecycle", lifecycle_rows())


if __name__ == "__main__":
    main()
