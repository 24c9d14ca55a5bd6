"""Running a study: every point trained in torch and simulated in ngspice, on Dask or serially.

Each point is one task: train the network (plain or hardware-aware, with the point's hardware and
the deployed arrays' fault map), deploy it on the point's arrays and evaluate in ngspice. Points run
on a local Dask cluster of worker *processes* (one thread each: every process owns its ngspice), on a
running cluster given by its scheduler address, or serially in this process.

Results: ``<out>/points/<key>.json`` per finished point (written atomically the moment it arrives),
and the tidy table ``<out>/results.csv`` and ``<out>/results.parquet`` (one row per finished point,
in study order; every setting and metric a column) rewritten atomically after every point. Timings
(training, netlist generation, programming, simulation seconds) go to ``<out>/timings.csv``: they
differ from run to run, the results do not. A re-run skips points whose result file exists.
"""

from __future__ import annotations

import io
import json
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits
import torch

from memcosim.cosim.cluster import connect
from memcosim.errors import ConfigError, Interrupted, MemcosimError, signal_number
from memcosim.fileio import atomic_write_bytes, atomic_write_text
from memcosim.hardware_aware.deploy import deploy_network, hardware_for, install_fault_maps, plan_tiles
from memcosim.hardware_aware.train import train_network
from memcosim.limits import call_with_limit, cell_limit
from memcosim.signals import clear_pending_interrupts, raise_pending_interrupt
from memcosim.studies.config import NN_MEANINGS, NN_METRICS, POINT_FIELDS, READ_MEANINGS, READ_METRICS, Point, Study
from memcosim.studies.nn_study import run_nn_point, trained_model
from memcosim.studies.read import run_read_point

METRICS = ("software_accuracy", "hardware_model_accuracy", "deployed_accuracy", "current_error",
           "stuck_on", "stuck_off", "arrays", "operating_points", "programming_pulses", "unconverged_cells")
TIMINGS = ("training_seconds", "netlist_seconds", "programming_seconds", "simulation_seconds", "point_seconds")
# what each metric column of results.csv is (written beside it as columns.csv)
METRIC_MEANINGS = {
    "software_accuracy": "fraction of the test samples classified right by the trained network in float (torch)",
    "hardware_model_accuracy": "fraction of the whole test split classified right by the torch model of the arrays "
                               "that training uses (quantized weights, DAC, per-column ADC at the calibrated full "
                               "scale, the stuck cells; no wires, no noise, and no mapping-aware bias correction): "
                               "with stuck cells it can lie far below deployed_accuracy, which has the correction "
                               "(./run bench study_gap)",
    "deployed_accuracy": "fraction classified right by the network deployed on the simulated arrays (ngspice), "
                         "with the mapping-aware bias correction when study.calibration > 0",
    "current_error": "mean |I - I_ideal| / mean |I_ideal| over every column current read (IR drop, periphery)",
    "stuck_on": "cells stuck at the ON state", "stuck_off": "cells stuck at the OFF state",
    "arrays": "arrays (tiles) the network needs", "operating_points": "ngspice operating points of the evaluation",
    "programming_pulses": "programming pulses (write_verify)", "unconverged_cells": "cells write-and-verify left outside the tolerance",
}


class StudyError(MemcosimError, RuntimeError):
    """Points of a study failed (their errors are listed); finished points are kept."""


def run_point(study: Study, point: Point) -> dict:
    """Train, deploy and evaluate one point; returns ``{"row": ..., "timing": ..., "weights": ...}``.

    Runs in whichever process calls it (a Dask worker or this one) with one thread for torch and numpy's
    BLAS: the result does not depend on the process, and two workers on two cores do not fight over
    them (BLAS threads spin-wait between calls).
    """
    with threadpool_limits(limits=1):
        return _run_point(study, point)


def _run_point(study: Study, point: Point) -> dict:
    t_start = time.perf_counter()
    torch.set_num_threads(1)
    s = study.settings
    seed = study.point_seed(point)
    arrays = point.arrays
    hw = hardware_for(arrays, weight_bits=point.weight_bits, variation=point.variation, fault_rate=point.fault_rate,
                      seed=seed % (2**31))
    network = study.network
    if point.replicate:
        network = replace(network, seed=network.seed + point.replicate)
    data = network.load()
    counts: dict[str, int] = {}

    def faults(net):
        counts.update(install_fault_maps(net, plan_tiles(net.sizes, arrays.size, seed), arrays))

    trained = train_network(network, hw, point.method, data, fault_setup=faults)
    n = min(s.samples, len(data.x_test))
    x_cal = data.x_train[: s.calibration] if s.calibration else None
    dep = deploy_network(trained.network, arrays, data.x_test[:n], x_cal, seed=seed,
                         reference="hardware" if point.method == "hw_aware" else "float", corner=point.corner,
                         temperature=point.temperature, mismatch_seed=point.mismatch_seed)
    deployed = float(np.mean(dep.scores.argmax(axis=1) == data.y_test[:n]))
    row = {**point.axes(),
           "software_accuracy": trained.software_accuracy, "hardware_model_accuracy": trained.hardware_model_accuracy,
           "deployed_accuracy": deployed, "current_error": dep.current_error,
           "stuck_on": counts.get("stuck_on", 0), "stuck_off": counts.get("stuck_off", 0),
           "arrays": len(plan_tiles(trained.network.sizes, arrays.size, seed)), "operating_points": dep.operating_points,
           "programming_pulses": dep.programming_pulses, "unconverged_cells": dep.unconverged_cells}
    timing = {"training_seconds": trained.seconds, "netlist_seconds": dep.netlist_seconds,
              "programming_seconds": dep.programming_seconds, "simulation_seconds": dep.simulation_seconds,
              "point_seconds": time.perf_counter() - t_start}
    buf = io.BytesIO()
    torch.save(trained.network.state_dict(), buf)
    return {"row": row, "timing": timing, "weights": buf.getvalue().hex()}


@dataclass
class StudyRun:
    """What a run did: points computed now, points skipped (already done), failures, and the files."""

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    table: Path | None = None
    seconds: float = 0.0


class ResultStore:
    """The result folder of a study: per-point files and the tidy tables, written atomically."""

    def __init__(self, study: Study, out: str | Path):
        self.study = study
        self.out = Path(out)
        self.points_dir = self.out / "points"
        self.keys = [study.point_key(p) for p in study.points]

    def path(self, key: str) -> Path:
        return self.points_dir / f"{key}.json"

    def done(self) -> set[str]:
        return {k for k in self.keys if self.path(k).exists()}

    def save(self, key: str, result: dict) -> None:
        """Write one point's result (atomic), then the tables."""
        atomic_write_text(self.path(key), json.dumps({"key": key, **result}, sort_keys=True) + "\n")
        self.write_tables()

    def load(self, key: str) -> dict:
        return json.loads(self.path(key).read_text())

    def rows(self) -> tuple[list[dict], list[dict]]:
        rows, timings = [], []
        for index, key in enumerate(self.keys):
            if not self.path(key).exists():
                continue
            r = self.load(key)
            rows.append({"point": index, "key": key, **r["row"]})
            timings.append({"point": index, "key": key, **r["timing"]})
        return rows, timings

    def write_tables(self) -> Path:
        """results.csv, results.parquet and timings.csv from every finished point, in study order."""
        import pandas as pd

        rows, timings = self.rows()
        metrics, meaning = ((READ_METRICS, READ_MEANINGS) if self.study.read is not None else
                            (NN_METRICS, NN_MEANINGS) if self.study.nn is not None else (METRICS, METRIC_MEANINGS))
        columns = ["point", "key", *POINT_FIELDS, *metrics]
        table = pd.DataFrame(rows, columns=columns)
        atomic_write_text(self.out / "results.csv", table.to_csv(index=False))
        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        atomic_write_bytes(self.out / "results.parquet", buf.getvalue())
        atomic_write_text(self.out / "timings.csv",
                          pd.DataFrame(timings, columns=["point", "key", *TIMINGS]).to_csv(index=False))
        meanings = pd.DataFrame({"column": list(meaning), "meaning": list(meaning.values())})
        atomic_write_text(self.out / "columns.csv", meanings.to_csv(index=False))
        return self.out / "results.csv"


def run_study(study: Study, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, log: Callable[[str], None] | None = None,
              point_function: Callable[[Study, Point], dict] | None = None) -> StudyRun:
    """Run every point of ``study`` not yet in ``out``; returns what was computed and skipped.

    ``workers`` (default ``study.workers``): 0 = serially in this process; else a local Dask cluster.
    ``scheduler`` (default ``study.scheduler``): a running Dask scheduler's address instead. The
    scheduler is reached before anything is written, so a bad address leaves the results as they were.
    ``point_function`` (default: train and deploy, a read study's read, or an [nn] study's evaluation of its one
    trained model, which is trained or loaded here first, after the scheduler is reached) computes one point.
    """
    if point_function is None:
        point_function = run_read_point if study.read is not None else run_nn_point if study.nn is not None else run_point
    t0 = time.perf_counter()
    s = study.settings
    workers = s.workers if workers is None else workers
    scheduler = s.scheduler if scheduler is None else scheduler
    store = ResultStore(study, out)
    done = store.done()
    todo = [(k, p) for k, p in zip(store.keys, study.points) if k not in done]
    run = StudyRun(skipped=[k for k in store.keys if k in done])
    if todo and study.read is None:
        check_samples(study)
    client = None
    if todo and (scheduler or workers > 0):
        client = connect(scheduler, workers, s.connect_timeout)
    store.out.mkdir(parents=True, exist_ok=True)
    if todo and study.nn is not None and not study.model:
        try:
            study = replace(study, model=trained_model(study, store.out, log))
        except BaseException:
            _close(client, scheduler)
            raise
    bar = _bar(len(store.keys), len(done), progress)
    futures: dict = {}
    stopped: KeyboardInterrupt | None = None
    try:
        if client is None:
            for key, point in todo:
                _finish(store, run, key, _call(point_function, study, point), bar, log)
                raise_pending_interrupt()
        else:
            from distributed import as_completed

            # longest points first (Dask runs tasks in submission order), so no worker idles at the end
            # waiting for one long point that started last
            first = sorted(todo, key=lambda kp: -_relative_cost(kp[1]))
            limit = cell_limit()  # the workers refuse arrays over the same limit as this process
            futures = {client.submit(call_with_limit, limit, point_function, study, p, key=f"point-{k}", pure=False): k
                       for k, p in first}
            finished = as_completed(futures, loop=client.loop)
            while not finished.is_empty():
                raise_pending_interrupt()  # an interrupt swallowed by a callback (Dask's gc callback) stops here
                batch = finished.next_batch(block=False)
                if not batch:
                    time.sleep(0.1)
                for fut in batch:
                    key = futures[fut]
                    try:
                        result = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a failed point is reported, the others go on
                        result = {"error": f"{type(exc).__name__}: {exc}"}
                    _finish(store, run, key, result, bar, log)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: finished points are on disk already
        stopped = exc
        clear_pending_interrupts()
    finally:
        bar.close()
        if client is not None:
            if futures:
                client.cancel(list(futures))
            _close(client, scheduler)
    run.table = store.write_tables()
    run.seconds = time.perf_counter() - t0
    if stopped is not None:
        signum = signal_number(stopped)
        raise Interrupted(signum, f"interrupted by {signal.Signals(signum).name}: {len(store.done())} of "
                                  f"{len(store.keys)} points are saved in {store.out} ({run.table.name}); run the same "
                                  "command again to continue (finished points are skipped)")
    if run.failed:
        raise StudyError("; ".join(f"point {k}: {m}" for k, m in run.failed.items())
                         + f" ({len(run.computed)} points finished and kept in {store.out})")
    return run


def _close(client, scheduler: str) -> None:
    """Close the Dask client (and the local cluster it started; a running scheduler's cluster stays)."""
    if client is None:
        return
    cluster = client.cluster if not scheduler else None
    client.close()
    if cluster is not None:
        cluster.close()


def check_samples(study: Study) -> None:
    """ConfigError naming ``study.samples`` when it asks for more test samples than the dataset's split
    holds (every point would silently evaluate fewer)."""
    available = len(study.network.load().x_test)
    if study.settings.samples > available:
        raise ConfigError("study.samples", f"{study.settings.samples} test samples per point, but the "
                                           f"{study.network.dataset} test split holds {available}: set "
                                           f"study.samples <= {available}")


def _relative_cost(point: Point) -> float:
    """A rough relative cost of a point: cells simulated, more for device models, write-and-verify and
    hardware-aware fine-tuning (only the order of submission depends on it)."""
    cost = float(point.arrays.size) ** 2
    cost *= 1.0 if point.arrays.device.resistor else 3.0
    cost *= 10.0 if point.arrays.program != "ideal" else 1.0
    return cost * (1.3 if point.method == "hw_aware" else 1.0)


def _call(fn: Callable, study: Study, point: Point) -> dict:
    try:
        return fn(study, point)
    except MemcosimError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _finish(store: ResultStore, run: StudyRun, key: str, result: dict, bar, log) -> None:
    if "error" in result:
        run.failed[key] = result["error"]
        if log:
            log(f"point {key} failed: {result['error']}")
    else:
        store.save(key, result)
        run.computed.append(key)
    bar.update(1)


def _bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="point", desc="study", disable=not enabled, dynamic_ncols=True)
