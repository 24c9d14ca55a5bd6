"""Study throughput on local Dask workers (1 vs 2 processes) and the per-point cost split.

The same small study (digits, 64-16-10 network, 32-row arrays, 0.5 to 20 ohm wires, plain and hw_aware,
40 test samples per point, 4- and 6-bit ADCs: 24 points) runs on a local cluster of 1 and then 2 worker processes (each started
and warmed up first: imports, dataset, ngspice; reached through its scheduler address), each in a fresh
result folder. Reported: the cluster start, the study's wall seconds, points per minute, the speedup, and
the mean per-point seconds
of training, netlist generation (crossbar generator + ngspice parse), programming (ideal writes) and
simulation (operating points), from the study's timings table.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import report

STUDY = """\
[study]
name = "bench"
seed = 0
samples = 40
calibration = 16

[network]
dataset = "digits"
hidden = [16]
epochs = 20
hw_epochs = 6

[defaults]
size = 32
r_wire = 2.0
adc_bits = 6
weight_bits = 4

[grid]
r_wire = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
method = ["plain", "hw_aware"]
adc_bits = [4, 6]
"""


def _warm() -> None:
    """What every point pays for first in a fresh worker: imports, the dataset, ngspice and the models."""
    import memcosim.studies.run  # noqa: F401  (torch, pandas, the trainers)
    from memcosim.devices.registry import get_model
    from memcosim.cosim.ngspice import NgspiceLibrary
    from memcosim.trainers.datasets import load_dataset

    load_dataset("digits")
    NgspiceLibrary.get()
    get_model("vteam").compile()


def _cluster(workers: int):
    """A local cluster of ``workers`` processes, warmed up; returns (cluster, client, seconds to start)."""
    from distributed import Client, LocalCluster
    import logging

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(workers)
    client.run(_warm)
    return cluster, client, time.perf_counter() - t


def main() -> None:
    import pandas as pd

    from memcosim.studies.config import study_from_text
    from memcosim.studies.run import run_study

    study = study_from_text(STUDY, "bench_study")
    rows = []
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            cluster, client, start = _cluster(workers)
            out = Path(tmp) / f"w{workers}"
            t = time.perf_counter()
            try:
                run = run_study(study, out, scheduler=cluster.scheduler_address, progress=False)
            finally:
                client.close()
                cluster.close()
            work = time.perf_counter() - t
            timings = pd.read_csv(out / "timings.csv")
            base = base or work
            rows.append({
                "workers": workers, "points": len(run.computed), "cluster_start_s": start,
                "study_wall_s": work, "points_per_min": 60 * len(run.computed) / work,
                "speedup": base / work,
                "train_s": timings["training_seconds"].mean(), "netlist_s": timings["netlist_seconds"].mean(),
                "program_s": timings["programming_seconds"].mean(), "simulate_s": timings["simulation_seconds"].mean(),
                "point_s": timings["point_seconds"].mean(),
            })
    report("study", rows, notes=(
        "24 points (digits 64-16-10 on 32x32 arrays, 4- and 6-bit ADCs, 40 test + 16 calibration samples each) on a warmed-up local "
        "cluster (imports, dataset, ngspice loaded: cluster_start_s); speedup = 1-worker study wall / n-worker "
        "study wall; per-point seconds are means over the points (train / netlist / program / simulate)."))


if __name__ == "__main__":
    main()
