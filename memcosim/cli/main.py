"""The ``memcosim`` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings

from memcosim import __version__
from memcosim.cli.circuits import register as register_circuits
from memcosim.cli.ep_demo import run_ep_demo
from memcosim.cli.model_tables import register as register_model_tables
from memcosim.cli.predictor import register as register_predictor
from memcosim.cli.read_demo import DemoConfig, print_read_demo, run_read_demo
from memcosim.cli.retention import register as register_retention
from memcosim.cli.sweep import register as register_sweep
from memcosim.cli.train import register as register_train
from memcosim.config.array import WireConfig
from memcosim.cosim.ngspice import NgspiceLibrary
from memcosim.cosim.toolchain import require_ngspice
from memcosim.devices.registry import available_models, get_model
from memcosim.errors import Interrupted, MemcosimError, signal_number
from memcosim.fileio import writable_folder
from memcosim.signals import clear_pending_interrupts, interrupt_handler


def _cmd_check(args: argparse.Namespace) -> int:
    """Check ngspice (OSDI, KLU) and compile every device model."""
    report = require_ngspice(NgspiceLibrary.get())
    compiled = {name: get_model(name).compile() for name in available_models()}
    if not args.quiet:
        print(f"ngspice-{report.version} at {report.library_path}: OSDI yes, KLU yes")
        for name, path in compiled.items():
            print(f"model {name}: {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """The main job: a short equilibrium-propagation run on digits with ngspice in the loop."""
    run_ep_demo(out_dir=args.out, epochs=args.epochs, hidden=args.hidden, train_limit=args.train_limit,
                test_limit=args.test_limit, seed=args.seed, baseline=not args.no_baseline, resume=args.resume)
    return 0


def _cmd_read_demo(args: argparse.Namespace) -> int:
    wires = WireConfig(r_row=args.r_wire, r_column=args.r_wire, r_driver=10.0)
    config = DemoConfig(rows=args.rows, columns=args.columns, wires=wires, seed=args.seed,
                        out_dir=str(writable_folder("--out", args.out)))
    print(f"memcosim read-demo: {config.rows}x{config.columns} linear_ion_drift crossbar, "
          f"{wires.r_row} ohm per wire segment, read in ngspice (in-process, KLU) vs scipy nodal analysis")
    print_read_demo(run_read_demo(config))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memcosim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"memcosim {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="check ngspice (OSDI, KLU) and compile the device models")
    p.add_argument("--quiet", action="store_true", help="print nothing when everything is fine (exit code only)")
    p.set_defaults(func=_cmd_check)
    p = sub.add_parser("demo", help="main job: equilibrium propagation on digits with ngspice in the loop")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    p.add_argument("--hidden", type=int, default=12, help="hidden neurons")
    p.add_argument("--train-limit", type=int, default=0, help="training samples (stratified subset; 0 = all)")
    p.add_argument("--test-limit", type=int, default=0, help="test samples (0 = all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data split, initial conductances and batches")
    p.add_argument("--no-baseline", action="store_true", help="skip the numpy EP baseline of the same network")
    p.add_argument("--out", default="out/ep_demo", help="folder for history.json, learning_curve.png and "
                   "checkpoint.npz (written after every epoch and on Ctrl-C)")
    p.add_argument("--resume", default=None, help="continue from this checkpoint (the same other options)")
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("read-demo", help="a crossbar with parasitic wires read in ngspice, checked against scipy")
    p.add_argument("--rows", type=int, default=16, help="array rows (default 16)")
    p.add_argument("--columns", type=int, default=16, help="array columns (default 16)")
    p.add_argument("--r-wire", type=float, default=2.5, help="ohm per wire segment")
    p.add_argument("--seed", type=int, default=0, help="seed of the device states and row voltages")
    p.add_argument("--out", default="out/demo", help="folder for the PNG and CSV")
    p.set_defaults(func=_cmd_read_demo)
    register_circuits(sub)  # netlist, validate-periphery
    register_train(sub)  # train
    register_predictor(sub)  # predictor
    register_sweep(sub)  # sweep
    register_model_tables(sub)  # model-tables
    register_retention(sub)  # retention
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"memcosim: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit code 0, 2 for a configuration error, 130 / 143 after SIGINT / SIGTERM."""
    args = build_parser().parse_args(argv)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        clear_pending_interrupts()
        previous = {signum: signal.signal(signum, interrupt_handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except Interrupted as exc:
        print(f"memcosim {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except MemcosimError as exc:
        print(f"memcosim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = signal_number(exc)
        folder = getattr(args, "out_dir", None) or getattr(args, "out", None)
        where = f" in {folder}" if folder else ""
        print(f"memcosim {args.command}: interrupted by {signal.Signals(signum).name}; the files written so far "
              f"are kept{where}", file=sys.stderr)
        return 128 + signum
    finally:
        clear_pending_interrupts()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
