"""Run benchmarks: ``python -m benchmarks [name ...] [KEY=VALUE ...]`` (default: all ``bench_*.py``; ``KEY=VALUE``
arguments are settings a benchmark reads itself from ``sys.argv``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = [a for a in argv if "=" not in a] or sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n== benchmark {name} ==")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
