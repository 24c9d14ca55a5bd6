"""``memcosim predictor dataset|train|evaluate``: the neural pulse predictor, stage by stage.

Every stage reads the same TOML config (``--config FILE``; tables ``[dataset]``, ``[train]``,
``[evaluate]``, see ``programming/predictor/config.py``); without one the defaults apply. ``dataset``
resumes from the shards already on disk; ``train`` reads ``<dataset.out>/dataset.npz`` and writes
the predictors to ``train.out``; ``evaluate`` deploys them in ngspice and writes PNG, CSV and JSON
to ``evaluate.out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from memcosim.errors import ConfigError
from memcosim.fileio import writable_folder
from memcosim.programming.predictor.config import load_config
from memcosim.programming.predictor.dataset import PulseDataset, generate


def _config(args: argparse.Namespace):
    config = load_config(args.config)
    if getattr(args, "samples", None) is not None:
        config.dataset.samples = args.samples
        config.dataset.__post_init__()
    if getattr(args, "attempts", None) is not None:
        config.evaluate.attempts = args.attempts
        config.evaluate.__post_init__()
    if getattr(args, "workers", None) is not None:
        for part in (config.dataset, config.evaluate):
            part.workers = args.workers
            part.__post_init__()
    return config


def _cmd_dataset(args: argparse.Namespace) -> int:
    config = _config(args)
    writable_folder("dataset.out", config.dataset.out)
    generate(config.dataset)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from memcosim.programming.predictor.train import train  # loads torch: kept off `memcosim --help`

    config = _config(args)
    path = Path(config.dataset.out) / "dataset.npz"
    if not path.exists():
        raise ConfigError("dataset.out", f"no dataset at {path}: run `memcosim predictor dataset` first")
    writable_folder("train.out", config.train.out)
    data = PulseDataset.load(path)
    print(f"memcosim predictor train: {len(data)} samples from {path}")
    summary = train(data, config.dataset, config.train)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from memcosim.programming.predictor.evaluate import evaluate  # loads torch: kept off `memcosim --help`

    config = _config(args)
    for name in ("predictor_mse.pt", "predictor_finetuned.pt"):
        if not (Path(config.train.out) / name).exists():
            raise ConfigError("train.out", f"no {name} in {config.train.out}: run `memcosim predictor train` first")
    writable_folder("evaluate.out", config.evaluate.out)
    summary = evaluate(config.dataset, config.evaluate, config.train.out)
    print(json.dumps(summary, indent=2))
    print(f"wrote {config.evaluate.out}/attempts.csv, summary.json and the plots")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predictor`` (with ``dataset``, ``train``, ``evaluate``) to the ``memcosim`` parser."""
    p = subparsers.add_parser("predictor", help="neural pulse predictor: dataset, train, evaluate (TOML config)")
    stages = p.add_subparsers(dest="stage", required=True)
    for name, func, help_ in (("dataset", _cmd_dataset, "generate (or resume) the dataset in ngspice"),
                              ("train", _cmd_train, "MSE training, then fine-tuning through the G-t histories"),
                              ("evaluate", _cmd_evaluate, "deploy the predictors in ngspice; PNG, CSV, JSON")):
        s = stages.add_parser(name, help=help_)
        s.add_argument("--config", help="TOML file with [dataset], [train], [evaluate] tables")
        if name == "dataset":
            s.add_argument("--samples", type=int, help="override dataset.samples")
        if name == "evaluate":
            s.add_argument("--attempts", type=int, help="override evaluate.attempts")
        if name != "train":
            s.add_argument("--workers", type=int, help="processes (1 or 2)")
        s.set_defaults(func=func)
