"""Session benchmarks: read-step cost vs a scipy solve, vs `ngspice -b` per step, and memory over many steps.

1. Read step (set row voltages, operating point, read column currents) of N x N arrays of
   ``jart_vcm`` devices with 2.5 ohm wire segments, N = 32, 64, 128: median time, and its ratio to
   a scipy sparse direct solve (LU factorization + solve) of the same network built in this run.
   Each step reads a new random input vector. The session's default (warm operating points: the
   steps are points of one paused DC analysis) and every op from scratch (``warm_start=False``).
2. Step overhead against the common way: write the netlist, run ``ngspice -b``, parse the output,
   once per step (N = 32).
3. Memory (resident set) after 10,000 read steps at N = 32 against after 100 steps.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as spla

from benchmarks.common import median_time, report, rss_mb
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.nodal import crossbar_network
from memcosim.devices.registry import get_model
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session, SessionOptions

MODEL = os.environ.get("MEMCOSIM_BENCH_MODEL", "jart_vcm")
R_WIRE = 2.5
# in-process sessions: these figures are about ngspice in this process (the memory row reads this
# process's resident set); the worker process's per-step cost is benchmarks/bench_worker.py
IN_PROCESS = SessionOptions(worker=False)
COLD = SessionOptions(worker=False, warm_start=False)


def _array(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    dev = get_model(MODEL)
    states = rng.uniform(dev.state_min, dev.state_max, (n, n)) if MODEL != "jart_vcm" else np.exp(
        rng.uniform(np.log(max(dev.state_min, 1e-3)), np.log(dev.state_max), (n, n)))
    return build_crossbar(ArrayConfig(n, n, device=DeviceConfig(MODEL),
                                      wires=WireConfig(r_row=R_WIRE, r_column=R_WIRE, r_driver=R_WIRE),
                                      states=states)), rng


def _cell_conductance(session: Session, xbar, v_read: float) -> np.ndarray:
    """Per-column mean read conductance (siemens) from one ngspice read with every row at ``v_read``.

    The scipy reference is a cost yardstick: it needs the same network (size, wires, sparsity) with
    realistic conductances, not the exact nonlinear device currents."""
    n = xbar.config.rows
    session.set_sources({r: v_read for r in xbar.row_sources})
    i = session.op(currents=xbar.column_sources).stack(xbar.column_sources)
    return np.tile(np.abs(i) / (n * v_read), (n, 1))


def _read_step_time(xbar, rng, options: SessionOptions, repeat: int) -> float:
    """Median seconds of one read step (new random row voltages, op, column currents)."""
    n = xbar.config.rows
    with open_session(xbar.netlist, options) as s:
        names = xbar.row_sources

        def read():
            s.set_sources(dict(zip(names, rng.uniform(0, 0.2, n))))
            return s.op(currents=xbar.column_sources).stack(xbar.column_sources)

        read()
        return median_time(read, repeat)


def read_step_rows(sizes=(32, 64, 128), repeat: int = 15) -> list[dict]:
    rows = []
    for n in sizes:
        xbar, rng = _array(n)
        with open_session(xbar.netlist, IN_PROCESS) as s:
            g = np.maximum(_cell_conductance(s, xbar, 0.2), 1e-9)
        t_read = _read_step_time(xbar, rng, IN_PROCESS, repeat)
        t_cold = _read_step_time(xbar, rng, COLD, repeat)
        v = rng.uniform(0, 0.2, n)

        G, b, *_ = crossbar_network(g, v, R_WIRE, R_WIRE, R_WIRE).matrix()
        t_lu = median_time(lambda: spla.splu(G).solve(b), repeat)
        rows.append({"N": n, "devices": n * n, "read_step_ms": t_read * 1e3, "scipy_lu_solve_ms": t_lu * 1e3,
                     "ratio": t_read / t_lu, "cold_op_ms": t_cold * 1e3, "cold_ratio": t_cold / t_lu,
                     "target": "<=3 at N=64" if n == 64 else ""})
    return rows


def batch_overhead_row(n: int = 32, steps: int = 5) -> dict:
    """The common way: one `ngspice -b` process per step on a written netlist, output parsed."""
    xbar, rng = _array(n)
    osdi = get_model(MODEL).compile()
    t_session = _read_step_time(xbar, rng, IN_PROCESS, 20)
    lines = xbar.netlist.render().splitlines()
    prints = " ".join(f"i({c.lower()})" for c in xbar.column_sources)
    times = []
    with tempfile.TemporaryDirectory() as d:
        for k in range(steps):
            v = rng.uniform(0, 0.2, n)
            t = time.perf_counter()
            body = "\n".join(lines[1:-1])  # without title and .end
            for i, name in enumerate(xbar.row_sources):
                body = re.sub(rf"^({name} \S+ \S+) dc \S+$", rf"\1 dc {v[i]:.9g}", body, flags=re.M)
            deck = [lines[0], ".control", f"pre_osdi {osdi}", ".endc", body, ".control", "op",
                    f"print {prints}", ".endc", ".end"]
            path = Path(d) / f"step{k}.cir"
            path.write_text("\n".join(deck) + "\n")
            out = subprocess.run(["ngspice", "-b", str(path)], capture_output=True, text=True)
            values = re.findall(r"^i\(vcol\d+\)\s*=\s*(\S+)", out.stdout, flags=re.M)
            times.append(time.perf_counter() - t)
            if len(values) != n:
                raise RuntimeError("ngspice -b did not print the column currents:\n" + out.stdout[-2000:])
    t_batch = float(np.median(times))
    return {"N": n, "session_step_ms": t_session * 1e3, "ngspice_b_step_ms": t_batch * 1e3,
            "speedup": t_batch / t_session, "target": ">=20x"}


def memory_row(n: int = 32, steps: int = 10_000) -> dict:
    xbar, rng = _array(n)
    inputs = rng.uniform(0, 0.2, (256, n))
    with open_session(xbar.netlist, IN_PROCESS) as s:
        rss = {}
        t = time.perf_counter()
        for k in range(1, steps + 1):
            s.set_sources(dict(zip(xbar.row_sources, inputs[k % 256])))
            s.op(currents=xbar.column_sources)
            if k in (100, steps):
                rss[k] = rss_mb()
            if k % 2000 == 0:
                print(f"  memory run: {k}/{steps} steps, {time.perf_counter() - t:.0f} s, RSS {rss_mb():.1f} MB",
                      flush=True)
    return {"N": n, "rss_after_100_MB": rss[100], f"rss_after_{steps}_MB": rss[steps],
            "growth_pct": 100 * (rss[steps] / rss[100] - 1), "target": "<=10%"}


def main() -> None:
    print(f"model {MODEL}, {R_WIRE} ohm per wire segment")
    rows = read_step_rows()
    report("session_read_step", rows, "read step = set new random row voltages + op + read column currents "
           "(read_step: warm operating points, the session default; cold_op: every op from scratch); "
           "scipy = splu factorization + solve of the same-size linear network")
    report("session_vs_ngspice_batch", [batch_overhead_row()])
    report("session_memory", [memory_row()])


if __name__ == "__main__":
    main()
