"""Pieces shared by the benchmarks: settings from KEY=VALUE arguments, timing, resident memory, trainer step
and memory figures, table printing and JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from memcosim.fileio import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"


def argv_settings(prefix: str) -> None:
    """Copy ``KEY=VALUE`` command-line arguments (``./run bench NAME KEY=VALUE``) into the environment as
    ``<prefix>KEY`` (upper case), the variables the benchmark reads its settings from."""
    for arg in sys.argv[1:]:
        if "=" in arg:
            key, value = arg.split("=", 1)
            os.environ[f"{prefix}{key.upper()}"] = value


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds over ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def report(name: str, rows: list[dict], notes: str = "") -> Path:
    """Print ``rows`` as a table and write them (with machine facts) to results/<name>.json."""
    if rows:
        keys = list(rows[0])
        widths = {k: max(len(k), *(len(_cell(r.get(k))) for r in rows)) for k in keys}
        print("  ".join(k.rjust(widths[k]) for k in keys))
        for r in rows:
            print("  ".join(_cell(r.get(k)).rjust(widths[k]) for k in keys))
    if notes:
        print(notes)
    payload = {"benchmark": name, "machine": platform.platform(), "python": platform.python_version(),
               "rows": rows, "notes": notes}
    return atomic_write_text(RESULTS / f"{name}.json", json.dumps(payload, indent=2) + "\n")


def rss_mb() -> float:
    """Resident set size of this process (MiB), from /proc."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and its live child processes (e.g. the ngspice
    worker processes that run tiles)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def step_times(trainer, batches: int = 3) -> tuple[float, float]:
    """(median seconds per training step, median seconds per forward sample) over ``batches`` batches of a
    crossbar trainer (``train_batch`` / ``predict``)."""
    d = trainer.dataset
    bs = trainer.config.train.batch_size
    steps, fwd = [], []
    for k in range(batches):
        idx = np.arange(k * bs, (k + 1) * bs) % len(d.x_train)
        t = time.perf_counter()
        trainer.train_batch(d.x_train[idx], d.y_train[idx])
        steps.append(time.perf_counter() - t)
        t = time.perf_counter()
        trainer.predict(d.x_test[:2])
        fwd.append((time.perf_counter() - t) / 2)
    return float(np.median(steps)), float(np.median(fwd))


def memory_rows(make, label: str) -> list[dict]:
    """RSS after the first batch and after a whole epoch of ``make()``'s trainer."""
    with make() as tr:
        d = tr.dataset
        bs = tr.config.train.batch_size
        first = None
        for k in range(0, len(d.x_train), bs):
            tr.train_batch(d.x_train[k:k + bs], d.y_train[k:k + bs])
            first = rss_mb() if first is None else first
        end = rss_mb()
    return [{"part": "memory", "run": label, "samples": len(d.x_train), "rss_after_batch1_MiB": round(first, 1),
             "rss_end_MiB": round(end, 1), "growth_MiB": round(end - first, 1)}]


def report_parts(prefix: str, rows: list[dict], parts: list[str], notes: str = "") -> None:
    """Report the rows of each of ``parts`` (their ``"part"`` key) as a table of its own, ``<prefix>_<part>``,
    without the ``part`` column; parts without rows are left out."""
    for part in parts:
        chunk = [{k: v for k, v in r.items() if k != "part"} for r in rows if r["part"] == part]
        if chunk:
            print(f"-- {part}")
            report(f"{prefix}_{part}", chunk, notes=notes)


def _cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
