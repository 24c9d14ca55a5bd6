"""Netlist generation time versus array size, and a 128x128 operating point against scipy.

1. Generation (build + render) of 1T1R ``linear_ion_drift`` arrays with parasitic row and column
   wires and the full periphery (DAC, TIA, ADC, nudge, programming) for 64, 128, 256 and 512
   square arrays; the structure check is timed separately. Target: 256x256 (> 200,000 elements)
   under 2 s, time growing linearly with the number of cells.
2. Operating point of a 128x128 1R array with parasitics and the full periphery in the ngspice
   session, and the ratio to a scipy sparse solve of the same linear network in the same run.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np

from benchmarks.common import report
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.nodal import solve_crossbar
from memcosim.config.periphery import PeripheryConfig
from memcosim.circuits.structure import check_structure
from memcosim.devices.catalog import get_device

SIZES = (64, 128, 256, 512)
R_WIRE = 2.5  # ohm per segment
R_DRIVER = 10.0  # ohm


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and median CPU seconds (this process) of ``fn`` over ``repeat`` calls.

    CPU time is reported beside wall time because the project's 2-core machines are often
    shared: on a busy machine the wall time also counts the other jobs."""
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def _config(n: int, cell: str = "1T1R", states: np.ndarray | float = 0.5) -> ArrayConfig:
    return ArrayConfig(n, n, device=DeviceConfig("linear_ion_drift"),
                       wires=WireConfig(r_row=R_WIRE, r_column=R_WIRE, r_driver=R_DRIVER), states=states,
                       cell=cell, periphery=PeripheryConfig.full())


def generation_rows() -> list[dict]:
    rows = []
    for n in SIZES:
        config = _config(n)
        repeat = 3 if n <= 256 else 1
        holder = {}

        def build() -> None:
            holder["x"] = build_crossbar(config, check=False)

        t_build, c_build = timed(build, repeat)
        xbar = holder["x"]
        t_render, c_render = timed(xbar.netlist.render, repeat)
        t_check, c_check = timed(lambda: check_structure(xbar.netlist, xbar.sources), 1)
        total, cpu = t_build + t_render, c_build + c_render
        rows.append({"array": f"{n}x{n}", "cells": n * n, "elements": len(xbar.netlist.elements),
                     "build_s": t_build, "render_s": t_render, "generate_s": total, "generate_cpu_s": cpu,
                     "cpu_us_per_cell": 1e6 * cpu / (n * n), "check_s": t_check, "check_cpu_s": c_check})
        holder.clear()
        del xbar
    return rows


def operating_point_row(n: int = 128, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    states = rng.uniform(0.05, 0.95, (n, n))
    xbar = build_crossbar(_config(n, cell="1R", states=states))
    per = xbar.blocks
    codes = rng.integers(0, per.dac.levels, n)
    values = xbar.dac_values(codes)
    from memcosim.cosim.engine import open_session
    from memcosim.cosim.session import SessionOptions

    t0 = time.perf_counter()
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:  # in this process: CPU time is ngspice's
        t_load = time.perf_counter() - t0
        s.set_sources(values)
        t0 = time.perf_counter()
        first = s.op(currents=xbar.column_sources).stack(xbar.column_sources)
        t_first = time.perf_counter() - t0

        def again() -> None:
            s.set_sources(xbar.dac_values(rng.integers(0, per.dac.levels, n)))
            s.op(currents=xbar.column_sources)

        t_op, c_op = timed(again, 3)
    g = get_device("linear_ion_drift").conductance(states)
    holder = {}

    def scipy_solve() -> None:
        holder["ref"] = solve_crossbar(g, list(values.values()), R_WIRE, R_WIRE, R_DRIVER + per.dac.config.r_out,
                                       r_sense=per.tia.input_resistance)

    t_scipy, c_scipy = timed(scipy_solve, 3)
    ref = holder["ref"].column_currents
    return {"array": f"{n}x{n}", "load_s": t_load, "first_op_s": t_first, "op_s": t_op, "op_cpu_s": c_op,
            "scipy_s": t_scipy, "scipy_cpu_s": c_scipy, "op_over_scipy": t_op / t_scipy,
            "cpu_ratio": c_op / c_scipy, "max_rel_diff": float(np.max(np.abs(first - ref) / np.abs(ref)))}


def main() -> None:
    rows = generation_rows()
    per_cell = [r["cpu_us_per_cell"] for r in rows]
    report("netlist_generation", rows,
           notes=f"1T1R linear_ion_drift, {R_WIRE} ohm wires, full periphery; generate = build + render "
                 f"(structure check separate). CPU us/cell from {min(per_cell):.2f} to {max(per_cell):.2f}: "
                 "linear growth means a flat column.")
    print()
    op = operating_point_row()
    report("netlist_operating_point", [op],
           notes="128x128 1R linear_ion_drift, parasitics + full periphery; op_s = median op after new DAC codes; "
                 "scipy_s = build + splu + solve of the same linear network (TIA as Rf/(1+A), DAC r_out in series).")


if __name__ == "__main__":
    main()
