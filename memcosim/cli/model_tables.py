"""``memcosim model-tables``: simulate the device models' tables (switching, read and preset-pulse tables) and write
them into verilog_a/README.md."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from memcosim.cosim.switching_table import all_tables, readme_table, replace_table
from memcosim.devices.registry import verilog_a_dir
from memcosim.fileio import atomic_write_text


def _cmd_model_tables(args: argparse.Namespace) -> int:
    """Simulate every table (of ``--model`` only, if given); write them into the README, or with --check compare them."""
    readme = Path(args.readme)
    text = readme.read_text()
    stale = []
    for table in all_tables():
        if args.model and table.model not in args.model:
            continue
        values = table.simulate()
        if args.check:
            shown = readme_table(text, table)
            if shown.shape != values.shape or not np.allclose(shown, values, rtol=1e-2, atol=0):
                stale.append(table.marker)
            continue
        text = replace_table(text, table, table.render(values))
        print(f"{table.marker}:\n{table.render(values)}")
    if args.check:
        print(f"{readme}: " + (f"tables out of date: {', '.join(stale)}" if stale else "tables agree"))
        return 1 if stale else 0
    atomic_write_text(readme, text)
    print(f"wrote {readme}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``model-tables`` to the ``memcosim`` parser."""
    p = subparsers.add_parser("model-tables", help="simulate the device models' tables into verilog_a/README.md")
    p.add_argument("--readme", default=str(verilog_a_dir() / "README.md"), help="the README holding the table markers")
    p.add_argument("--check", action="store_true", help="compare the README's tables with a fresh simulation")
    p.add_argument("--model", action="append", help="only this model's tables (repeatable)")
    p.set_defaults(func=_cmd_model_tables)
