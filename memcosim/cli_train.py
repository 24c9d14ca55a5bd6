"""``memcosim train CONFIG.toml``: train with the circuit in the loop (equilibrium propagation)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_train(args: argparse.Namespace) -> int:
    """Load the run config, train (or resume), print a line per epoch, write history JSON and PNG."""
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.ep import EPTrainer
    from memcosim.trainers.report import save_history, save_learning_curve

    config = load_run_config(args.config)
    if args.checkpoint is not None:
        config.train.checkpoint = args.checkpoint
    if args.no_progress:
        config.train.progress = False
    t, n = config.train, config.network
    print(f"memcosim train: {t.dataset}, network {'-'.join(map(str, n.sizes))} of {n.model} cells, "
          f"{n.r_wire} ohm per wire segment, backend {t.backend}, {t.update} updates")
    with EPTrainer(config) as trainer:
        history = trainer.fit(epochs=args.epochs, resume=args.resume)
    out = Path(args.out)
    save_history(history, out / "history.json")
    png = save_learning_curve(history, out / "learning_curve.png",
                              f"EP on {t.dataset} ({t.backend}, {t.update} updates)")
    print(f"wrote {out / 'history.json'} and {png}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` to the ``memcosim`` parser."""
    p = subparsers.add_parser("train", help="train an EP network with ngspice in the loop (CONFIG.toml)")
    p.add_argument("config", help="run config: tables [train], [network], [pulse]")
    p.add_argument("--epochs", type=int, default=None, help="train until this many epochs (default: train.epochs)")
    p.add_argument("--resume", default=None, help="checkpoint file to continue from")
    p.add_argument("--checkpoint", default=None, help="write a checkpoint here after every epoch")
    p.add_argument("--out", default="out/train", help="folder for history.json and learning_curve.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)
