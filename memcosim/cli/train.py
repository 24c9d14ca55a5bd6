"""``memcosim train CONFIG.toml``: train with the circuit in the loop.

``train.algorithm`` in the run file selects the trainer: ``ep`` (equilibrium propagation, the
default, table ``[network]``), ``sgd`` (pulse-based SGD on crossbar layers, table ``[sgd]``) or
``forward_only`` (Forward-Forward / competitive rule with reset-only updates, table ``[forward_only]``)
``continual`` (a sequence of tasks on the ``[sgd]`` network, table ``[continual]``; also writes the
forgetting matrix as CSV and PNG) or ``meta`` (few-shot meta-learning on the ``[sgd]`` network, table
``[meta]``: a Reptile initialization adapted on chip by pulse updates; writes tasks.csv and summary.json).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from memcosim import fields as f
from memcosim.fileio import writable_file, writable_folder
from memcosim.limits import MAX_CELLS, max_cells
from memcosim.trainers.base import Interrupted
from memcosim.trainers.continual import ContinualTrainer, forgetting_matrix
from memcosim.trainers.continual_report import save_forgetting_csv, save_forgetting_plot
from memcosim.trainers.config import load_run_config
from memcosim.trainers.crossbar_config import ForwardOnlyConfig, SgdConfig
from memcosim.trainers.crossbar_report import save_history_csv, save_run
from memcosim.trainers.ep import EPTrainer
from memcosim.trainers.forward_only import ForwardOnlyTrainer
from memcosim.trainers.report import save_history, save_learning_curve
from memcosim.trainers.sgd import SGDTrainer


def _trainer(config):
    """The trainer of ``config.train.algorithm`` and a one-line description of the run."""
    t = config.train
    if t.algorithm == "continual":
        s, c = config.sgd or SgdConfig(), config.continual
        return ContinualTrainer(config), (f"{c.method} continual learning over tasks {c.tasks}, pulse SGD ({s.rule} rule), "
                                          f"hidden {s.hidden}, {s.device.model} cells, {t.update} updates")
    if t.algorithm == "sgd":
        s = config.sgd or SgdConfig()
        return SGDTrainer(config), (f"pulse-based SGD ({s.rule} rule), hidden {s.hidden}, {s.device.model} cells, "
                                    f"{s.wires.r_row} ohm per wire segment, {t.update} updates")
    if t.algorithm == "forward_only":
        s = config.forward_only or ForwardOnlyConfig()
        return ForwardOnlyTrainer(config), (f"forward-only ({s.rule} rule), hidden {s.hidden}, {s.device.model} cells, "
                                            f"reset-only {t.update} updates ("
                                            + ", ".join(f"layer {k}: {s.reset_of(k).amplitude} V x {s.reset_of(k).width:g} s"
                                                        for k in range(2)) + ")")
    n = config.network
    return EPTrainer(config), (f"network {'-'.join(map(str, n.sizes))} of {n.device.model} cells, "
                               f"{n.wires.r_row} ohm per wire segment, backend {t.backend}, {t.update} updates")


def _cmd_train(args: argparse.Namespace) -> int:
    """Load the run config, check the outputs can be written, train (or resume) with the history written
    after every epoch, and a checkpoint (default ``<out>/checkpoint.npz``) after every epoch and on
    SIGINT / SIGTERM. Arrays over ``--max-cells`` cells are refused before they exist."""
    with max_cells(f.integer("--max-cells", args.max_cells, 1)):
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    config = load_run_config(args.config)
    out = writable_folder("--out", args.out)
    if args.checkpoint is not None:
        config.train.checkpoint = args.checkpoint
    if not config.train.checkpoint:
        config.train.checkpoint = str(out / "checkpoint.npz")
    writable_file("--checkpoint", config.train.checkpoint)
    if args.no_progress:
        config.train.progress = False
    t = config.train
    if t.algorithm == "meta":
        from memcosim.trainers.meta import run_meta  # torch: kept off the light entry points

        m = config.meta
        print(f"memcosim train: {t.dataset}, meta-learning ({m.ways}-way {m.shots}-shot, {m.updates} pulse updates "
              f"on chip, {m.test_tasks} held-out tasks over classes {m.test_classes}) -> {out}")
        summary = run_meta(config, out, progress=t.progress)
        for name in ("reptile", "pretrained"):
            if name in summary:
                r = summary[name]
                print(f"{name:>12}: query accuracy {100 * r['before']:.1f} % before, {100 * r['after']:.1f} % "
                      f"(+- {100 * r['after_stderr']:.1f}) after {m.updates} pulse updates in ngspice")
        print("twin (torch) after adaptation: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in summary["twin_after"].items()))
        print(f"wrote {out / 'tasks.csv'}, {out / 'summary.json'}")
        return 0
    trainer, what = _trainer(config)
    print(f"memcosim train: {t.dataset}, {what}")
    title = (f"EP on {t.dataset} ({t.backend}, {t.update} updates)" if t.algorithm == "ep"
             else f"{t.algorithm} on {t.dataset} ({t.update} updates)")

    def log(line: str) -> None:  # history, CSV and curve are rewritten after every epoch
        print(line, flush=True)
        save_training(trainer.history, out, t.algorithm, title, config)

    try:
        with trainer:
            history = trainer.fit(epochs=args.epochs, resume=args.resume, log=log)
    except Interrupted as exc:
        if exc.checkpoint is None:
            raise
        raise Interrupted(exc.signum, exc.epoch, exc.batch, exc.checkpoint,
                          f"memcosim train {args.config} --out {out} --resume {exc.checkpoint}") from None
    paths = save_training(history, out, t.algorithm, title, config)
    print("wrote " + ", ".join(str(p) for p in paths) + f"; checkpoint {t.checkpoint}")
    return 0


def save_training(history: list[dict], out: Path, algorithm: str, title: str, config=None) -> list[Path]:
    """history.json, history.csv and learning_curve.png of a run in folder ``out`` (EP: loss in V^2,
    log axis; the crossbar trainers: cross-entropy); a task sequence also forgetting_matrix.csv / .png."""
    if algorithm == "continual":
        c = config.continual
        a = forgetting_matrix(history, c.epochs_per_task, len(c.tasks))
        return save_run(history, out, title) + [save_forgetting_csv(a, c.tasks, out / "forgetting_matrix.csv"),
                                                save_forgetting_plot({c.method: a}, c.tasks, out / "forgetting_matrix.png")]
    if algorithm != "ep":
        return save_run(history, out, title)
    return [save_history(history, out / "history.json"), save_history_csv(history, out / "history.csv"),
            save_learning_curve(history, out / "learning_curve.png", title)]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` to the ``memcosim`` parser."""
    p = subparsers.add_parser("train", help="train with ngspice in the loop: EP, pulse SGD or forward-only (CONFIG.toml)")
    p.add_argument("config", help="run config: tables [train] (algorithm = ep | sgd | forward_only | "
                                  "continual | meta), [network] + [pulse] (ep), [sgd], [forward_only], [continual] or "
                                  "[meta] (+ [sgd])")
    p.add_argument("--epochs", type=int, default=None, help="train until this many epochs (default: train.epochs)")
    p.add_argument("--resume", default=None, help="checkpoint file to continue from")
    p.add_argument("--checkpoint", default=None, help="write a checkpoint here after every epoch and on Ctrl-C / "
                   "SIGTERM (default: train.checkpoint, else <out>/checkpoint.npz)")
    p.add_argument("--out", default="out/train", help="folder for history.json (.csv) and learning_curve.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--max-cells", type=int, default=MAX_CELLS,
                   help=f"largest crossbar (rows x columns) of a layer (default {MAX_CELLS:,}): raise it deliberately")
    p.set_defaults(func=_cmd_train)
