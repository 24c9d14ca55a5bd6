"""``memcosim sweep STUDY.toml``: accuracy-versus-parasitics studies, each point trained and simulated in ngspice."""

from __future__ import annotations

import argparse
from pathlib import Path

from memcosim import fields as f
from memcosim.errors import ConfigError
from memcosim.fileio import writable_folder
from memcosim.limits import MAX_CELLS, max_cells


def _cmd_sweep(args: argparse.Namespace) -> int:
    """Load the study, run the missing points (Dask or serial), write the tables and the plots; arrays over
    ``--max-cells`` cells are refused, here and on the workers."""
    with max_cells(f.integer("--max-cells", args.max_cells, 1)):
        return _sweep(args)


def _sweep(args: argparse.Namespace) -> int:
    from memcosim.studies.config import load_study  # loads torch: kept off `memcosim --help`
    from memcosim.studies.run import ResultStore, run_study  # loads torch: kept off `memcosim --help`

    study = load_study(args.study)
    if args.workers is not None:
        if args.serial:
            raise ConfigError("--workers", "--serial runs in this process: give one of --serial and --workers")
        f.workers("--workers", args.workers)
    out = writable_folder("--out", Path(args.out) if args.out else Path("out/studies") / study.settings.name)
    workers = 0 if args.serial else args.workers
    scheduler = args.scheduler
    done = len(ResultStore(study, out).done())
    where = (f"scheduler {scheduler or study.settings.scheduler}" if (scheduler or study.settings.scheduler)
             else f"{study.settings.workers if workers is None else workers} local worker processes"
             if (study.settings.workers if workers is None else workers) else "serially in this process")
    print(f"memcosim sweep: {len(study.points)} points ({done} done already) -> {out}, {where}")
    run = run_study(study, out, workers=workers, scheduler=scheduler, progress=not args.no_progress, log=print)
    print(f"{len(run.computed)} points computed, {len(run.skipped)} skipped, {run.seconds:.1f} s; "
          f"table {run.table} (and results.parquet, timings.csv)")
    if not args.no_plots:
        from memcosim.studies.plots import study_plots  # loads torch: kept off `memcosim --help`

        for p in study_plots(study, out):
            print(f"wrote {p}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to the ``memcosim`` parser."""
    p = subparsers.add_parser("sweep", help="run an accuracy-vs-parasitics study (STUDY.toml) on Dask")
    p.add_argument("study", help="study file: [study], [network], [defaults], [grid], [[points]], [plots]")
    p.add_argument("--out", default=None, help="result folder (default out/studies/<study.name>)")
    p.add_argument("--workers", type=int, default=None, help="local Dask worker processes (default: study.workers)")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:port)")
    p.add_argument("--serial", action="store_true", help="run the points one after another in this process")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--max-cells", type=int, default=MAX_CELLS,
                   help=f"largest crossbar (rows x columns) of a tile (default {MAX_CELLS:,}): raise it deliberately")
    p.set_defaults(func=_cmd_sweep)
