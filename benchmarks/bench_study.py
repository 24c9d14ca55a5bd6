"""Study throughput on local Dask workers (1 vs 2 processes) and the per-point cost split.

The same small study (digits, 64-16-10 network, 16-row arrays, 1 and 5 ohm wires, 20 test samples per point,
4 points) runs on a local cluster of 1 and then 2 worker processes, each in a fresh result folder.
Reported: wall seconds of the whole run (cluster start included) and without the cluster start
(measured apart in the same run), points per minute, the speedup, and the mean per-point seconds
of training, netlist generation (crossbar generator + ngspice parse), programming (ideal writes) and
simulation (operating points), from the study's timings table.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.common import report

STUDY = """\
[study]
name = "bench"
seed = 0
samples = 20
calibration = 16

[network]
dataset = "digits"
hidden = [16]
epochs = 20
hw_epochs = 6

[defaults]
size = 16
r_wire = 2.0
adc_bits = 6
weight_bits = 4

[grid]
r_wire = [1.0, 5.0]
method = ["plain", "hw_aware"]
"""


def _cluster_start(workers: int) -> float:
    from memcosim.trainers.study_run import connect

    t = time.perf_counter()
    client = connect("", workers, 30.0)
    client.wait_for_workers(workers)
    client.run(lambda: __import__("memcosim.trainers.study_run"))  # the imports a point pays for first
    start = time.perf_counter() - t
    cluster = client.cluster
    client.close()
    cluster.close()
    return start


def main() -> None:
    import pandas as pd

    from memcosim.trainers.study_config import study_from_text
    from memcosim.trainers.study_run import run_study

    study = study_from_text(STUDY, "bench_study")
    rows = []
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            start = _cluster_start(workers)
            out = Path(tmp) / f"w{workers}"
            t, c = time.perf_counter(), os.times()
            run = run_study(study, out, workers=workers, progress=False)
            wall = time.perf_counter() - t
            timings = pd.read_csv(out / "timings.csv")
            work = wall - start
            base = base or work
            rows.append({
                "workers": workers, "points": len(run.computed), "wall_s": wall, "cluster_start_s": start,
                "wall_minus_start_s": work, "points_per_min": 60 * len(run.computed) / work,
                "speedup": base / work,
                "train_s": timings["training_seconds"].mean(), "netlist_s": timings["netlist_seconds"].mean(),
                "program_s": timings["programming_seconds"].mean(), "simulate_s": timings["simulation_seconds"].mean(),
                "point_s": timings["point_seconds"].mean(),
            })
    report("study", rows, notes=(
        "4 points (digits 64-16-10 on 16x16 arrays, 20 test + 16 calibration samples each); speedup = "
        "1-worker (wall - cluster start) / n-worker (wall - cluster start), cluster start measured apart in "
        "the same run; per-point seconds are means over the points (train / netlist / program / simulate)."))


if __name__ == "__main__":
    main()
