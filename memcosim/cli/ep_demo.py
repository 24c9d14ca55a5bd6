"""A short equilibrium-propagation run on 8x8 digits with ngspice in the loop (``memcosim demo``).

:func:`run_ep_demo` trains a 64-``hidden``-10 EP network of ``vteam`` memristors (1 ohm per wire
segment) on a stratified subset of scikit-learn's bundled digits for a few epochs, printing the
accuracy per epoch, and writes the history (JSON) and the learning curve (PNG) into ``out_dir``.
The same run in numpy (the software baseline) is printed next to it when ``baseline`` is set.
"""

from __future__ import annotations

from pathlib import Path

from memcosim.fileio import writable_folder
from memcosim.trainers.config import RunConfig
from memcosim.trainers.ep import EPTrainer
from memcosim.trainers.report import save_history, save_learning_curve


def demo_config(epochs: int = 2, hidden: int = 12, train_limit: int = 0, test_limit: int = 0,
                seed: int = 0, backend: str = "ngspice") -> RunConfig:
    """The demo's run: digits (``train_limit``/``test_limit`` 0 = the whole split), 64-hidden-10 vteam
    network, 1 ohm wires, ideal updates computed from the row and neuron voltages (``sense = "lines"``),
    Adam steps of at most 9 % (hidden layer) / 3 % (outputs) of the conductance window on batches of 16,
    times 0.6 per epoch."""
    return RunConfig(
        train=dict(dataset="digits", epochs=epochs, train_limit=train_limit, test_limit=test_limit,
                   optimizer="adam", lr=0.03, layer_lr=[3.0, 1.0], lr_decay=0.6, beta=1e-6, batch_size=16,
                   seed=seed, backend=backend),
        network=dict(sizes=[64, hidden, 10], device={"model": "vteam"}, wires={"r_row": 1.0, "r_column": 1.0}, gain=10.0, diode_bias=-0.2,
                     v_input=0.5, v_bias=0.5, g_init=[1e-6, 1e-4], sense="lines", seed=seed),
    )


def run_ep_demo(out_dir: str | Path = "out/ep_demo", epochs: int = 2, hidden: int = 12, train_limit: int = 0,
                test_limit: int = 0, seed: int = 0, baseline: bool = True, resume: str | Path | None = None) -> list[dict]:
    """Train (ngspice in the loop), print accuracy per epoch, save history.json and learning_curve.png.

    A checkpoint goes to ``<out_dir>/checkpoint.npz`` after every epoch and on Ctrl-C / SIGTERM;
    ``resume`` continues from one (the same settings)."""
    config = demo_config(epochs, hidden, train_limit, test_limit, seed)
    out = writable_folder("--out", out_dir)
    config.train.checkpoint = str(out / "checkpoint.npz")
    print(f"memcosim EP demo: digits ({train_limit or 'all'} training / {test_limit or 'all'} test samples), network 64-{hidden}-10 "
          f"of vteam memristors with 1 ohm per wire segment; two ngspice operating points per sample")
    with EPTrainer(config) as trainer:
        def log(line: str) -> None:  # the history is on disk after every epoch
            print(line, flush=True)
            save_history(trainer.history, out / "history.json")

        history = trainer.fit(log=log, resume=resume)
    save_history(history, out / "history.json")
    png = save_learning_curve(history, out / "learning_curve.png", "EP on digits, ngspice in the loop")
    print(f"wrote {out / 'history.json'} and {png}")
    if baseline:
        soft = demo_config(epochs, hidden, train_limit, test_limit, seed, backend="software")
        soft.train.progress = False
        with EPTrainer(soft) as trainer:
            base = trainer.fit(log=None)
        print("software EP baseline (same network in numpy), test accuracy per epoch: "
              + ", ".join(f"{r['test_acc']:.3f}" for r in base))
    return history
