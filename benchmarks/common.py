"""Table printing and JSON output shared by the benchmarks."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

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
