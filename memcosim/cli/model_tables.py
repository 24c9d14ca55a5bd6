"""``memcosim model-tables``: simulate the device models' switching tables and write them into verilog_a/README.md."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from memcosim.cosim.switching_table import TABLES, readme_table, render, replace_table, simulate
from memcosim.devices.registry import verilog_a_dir
from memcosim.fileio import atomic_write_text


def _cmd_model_tables(args: argparse.Namespace) -> int:
    """Simulate every switching table; write them into the README, or with --check compare them."""
    readme = Path(args.readme)
    text = readme.read_text()
    stale = []
    for table in TABLES.values():
        states = simulate(table)
        if args.check:
            shown = readme_table(text, table)
            if shown.shape != states.shape or not np.allclose(shown, states, rtol=1e-2, atol=0):
                stale.append(table.model)
            continue
        text = replace_table(text, table, render(table, states))
        print(render(table, states))
    if args.check:
        print(f"{readme}: " + (f"switching tables out of date: {', '.join(stale)}" if stale else "switching tables agree"))
        return 1 if stale else 0
    atomic_write_text(readme, text)
    print(f"wrote {readme}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``model-tables`` to the ``memcosim`` parser."""
    p = subparsers.add_parser("model-tables", help="simulate the device models' switching tables into verilog_a/README.md")
    p.add_argument("--readme", default=str(verilog_a_dir() / "README.md"), help="the README holding the table markers")
    p.add_argument("--check", action="store_true", help="compare the README's tables with a fresh simulation")
    p.set_defaults(func=_cmd_model_tables)
