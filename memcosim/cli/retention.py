"""``memcosim retention STUDY.toml``: month-scale stability of a trained forward-only network
(:mod:`memcosim.studies.retention`): train or resume, age at each temperature, test; table and plot."""

from __future__ import annotations

import argparse

from memcosim.fileio import writable_folder
from memcosim.studies.retention import load_retention_study, run_retention_study


def _cmd_retention(args: argparse.Namespace) -> int:
    """Check the study file and the output folder, then run (resuming whatever ``--out`` holds)."""
    load_retention_study(args.study)
    out = writable_folder("--out", args.out)
    run_retention_study(args.study, out, progress=not args.no_progress, checkpoint=args.checkpoint)
    print(f"wrote {out / 'retention.md'}, {out / 'retention.csv'}, {out / 'retention.png'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``retention`` to the ``memcosim`` parser."""
    p = subparsers.add_parser("retention", help="accuracy of a trained forward-only network after ageing "
                              "(hours to a month at each temperature), next to write-and-verify programming")
    p.add_argument("study", help="the study TOML ([retention]: run, seconds, celsius, write_verify, tolerance)")
    p.add_argument("--out", default="out/retention", help="folder for the checkpoint, retention.json/.csv/.md/.png "
                   "(a re-run resumes from what it holds)")
    p.add_argument("--checkpoint", default=None, help="a trained checkpoint of the study's run (memcosim train "
                   "--checkpoint) to age instead of training it; overrides retention.checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar while training")
    p.set_defaults(func=_cmd_retention)
