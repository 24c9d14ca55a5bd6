"""Trainer benchmarks: equilibrium propagation with ngspice in the loop.

1. Iris (4 inputs, 3 classes), EP network 4-16-3 of ``vteam`` memristors, 1 ohm per wire segment,
   ideal updates, Adam steps on batches of 60 samples: time per training sample (free + nudged operating points, source writes, reads,
   update) against the bare ngspice ``op`` of the same netlist in the same session and run (the
   ``op`` command alone, same save list, plot dropped), and held-out accuracy on a test split never
   used in training; the numpy baseline of the same network next to it.
2. Digits (8x8, 10 classes), EP network 64-H-10, 1 ohm per wire segment, updates from the row and
   neuron voltages: software baseline and ngspice with ideal updates on the whole split; ngspice with
   pulse updates on ``vteam`` (exponential I-V) through the programming drivers as in
   ``configs/ep_digits_pulse.toml`` (0.9 V / 2 ns, V/2, mixed precision with per-cell steps, batches
   of 32), with ideal and software runs of the same split and batch size next to it: a pulse batch is
   ~9-25 s of transients on 2 shared cores, 10-22 min per epoch on the whole split, for the config's
   5 epochs (``MEMCOSIM_BENCH_PULSE_TRAIN``, ``..._PULSE_EPOCHS`` shorten it; others:
   ``MEMCOSIM_BENCH_DIGITS_EPOCHS``, ``..._TRAIN``, ``..._TEST``, ``..._HIDDEN``; 0 = the whole split).
3. Steps: time per training step and the epoch time it implies for 64-H-10 digits networks
   (``MEMCOSIM_BENCH_EP_HIDDEN_SIZES``, default 8,16,32), ideal and pulse updates; memory: resident
   memory over ``MEMCOSIM_BENCH_EP_MEMORY_TRAIN`` samples of pulse training.

``MEMCOSIM_BENCH_PARTS`` picks parts (default ``steps,memory,iris,digits``; the digits part takes hours).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import report
from memcosim.trainers.ep_circuit import ep_session_options
from memcosim.trainers.config import RunConfig, load_run_config
from memcosim.trainers.ep import EPTrainer

IRIS_EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_IRIS_EPOCHS", "150"))
DIGITS_EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_DIGITS_EPOCHS", "3"))
DIGITS_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_DIGITS_TRAIN", "0"))
DIGITS_HIDDEN = int(os.environ.get("MEMCOSIM_BENCH_DIGITS_HIDDEN", "16"))
DIGITS_TEST = int(os.environ.get("MEMCOSIM_BENCH_DIGITS_TEST", "0"))
PULSE_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_PULSE_TRAIN", "0"))
PULSE_EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_PULSE_EPOCHS", "0"))  # 0: train.epochs of configs/ep_digits_pulse.toml
STEP_SIZES = [int(h) for h in os.environ.get("MEMCOSIM_BENCH_EP_HIDDEN_SIZES", "8,16,32").split(",")]
MEMORY_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_EP_MEMORY_TRAIN", "192"))
PARTS = os.environ.get("MEMCOSIM_BENCH_PARTS", "steps,memory,iris,digits").split(",")

_NET = dict(device={"model": "vteam"}, wires={"r_row": 1.0, "r_column": 1.0}, gain=10.0, diode_bias=-0.2, v_input=0.5, v_bias=0.5, g_init=[1e-6, 1e-4])


def iris_config(backend: str = "ngspice", epochs: int = IRIS_EPOCHS) -> RunConfig:
    return RunConfig(train=dict(dataset="iris", epochs=epochs, optimizer="adam", lr=0.02, layer_lr=[3.0, 1.0],
                                beta=1e-6, batch_size=60, backend=backend, progress=False),
                     network=dict(_NET, sizes=[4, 16, 3]))


def bare_op_time(trainer: EPTrainer, repeat: int = 50) -> float:
    """Median seconds of ngspice's `op` alone on the trainer's netlist (same session, same save list)."""
    c = trainer.circuit
    c.free(trainer.dataset.x_test[0])  # sets the inputs and the save list the trainer uses
    lib = c.session.library
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        lib.command("op")
        times.append(time.perf_counter() - t)
        lib.command("destroy all")
    return statistics.median(times)


def iris_rows() -> list[dict]:
    rows = []
    with EPTrainer(iris_config(), options=ep_session_options(worker=False)) as tr:  # bare_op_time needs the library
        t_op = bare_op_time(tr)
        t0 = time.perf_counter()
        history = tr.fit(log=None)
        train_time = sum(r["seconds"] for r in history)
        n_train, n_test = len(tr.dataset.x_train), len(tr.dataset.x_test)
        # per training sample: the epoch time minus its test evaluation (one op per test sample)
        t_eval = time.perf_counter()
        tr.evaluate(tr.dataset.x_test, tr.dataset.y_test)
        t_eval = time.perf_counter() - t_eval
        t_sample = (train_time - len(history) * t_eval) / (len(history) * n_train)
        t_op_after = bare_op_time(tr)
        rows.append({"run": "iris ngspice ideal", "epochs": len(history), "train": n_train, "test": n_test,
                     "test_acc": history[-1]["test_acc"], "best_test_acc": max(r["test_acc"] for r in history),
                     "sample_ms": t_sample * 1e3, "bare_op_ms": 0.5 * (t_op + t_op_after) * 1e3,
                     "sample_over_2ops": t_sample / (t_op + t_op_after),
                     "wall_s": time.perf_counter() - t0, "target": "<=2x of 2 ops, >=96%"})
    with EPTrainer(iris_config("software")) as tr:
        t0 = time.perf_counter()
        history = tr.fit(log=None)
        rows.append({"run": "iris software EP", "epochs": len(history), "train": len(tr.dataset.x_train),
                     "test": len(tr.dataset.x_test), "test_acc": history[-1]["test_acc"],
                     "best_test_acc": max(r["test_acc"] for r in history), "wall_s": time.perf_counter() - t0})
    return rows


def stored_pulse_config() -> RunConfig:
    """``configs/ep_digits_pulse.toml``: the network, programming drivers, [pulse] table and epochs of the pulse run."""
    return load_run_config(Path(__file__).resolve().parent.parent / "configs" / "ep_digits_pulse.toml")


def digits_config(backend: str, update: str = "ideal", epochs: int = DIGITS_EPOCHS, train_limit: int = DIGITS_TRAIN,
                  test_limit: int = DIGITS_TEST, batch: int = 16, hidden: int = DIGITS_HIDDEN) -> RunConfig:
    """64-H-10 vteam network, updates from the row and neuron voltages, Adam (batches of ``batch``);
    pulse updates: the network, programming drivers and [pulse] table of configs/ep_digits_pulse.toml."""
    net = dict(_NET, sizes=[64, hidden, 10], sense="lines")
    pulse = {}
    if update == "pulse":
        stored = stored_pulse_config()
        net.update(device=dataclasses.asdict(stored.network.device),
                   programming=dataclasses.asdict(stored.network.programming))
        pulse = dataclasses.asdict(stored.pulse)
        batch = stored.train.batch_size
    return RunConfig(train=dict(dataset="digits", epochs=epochs, train_limit=train_limit, test_limit=test_limit,
                                optimizer="adam", lr=0.03, layer_lr=[3.0, 1.0], lr_decay=0.6, beta=1e-6,
                                batch_size=batch, backend=backend, update=update, progress=False),
                     network=net, pulse=pulse)


def pulse_epochs() -> int:
    """Epochs of the pulse run and the runs next to it: ``MEMCOSIM_BENCH_PULSE_EPOCHS``, else the config's."""
    return PULSE_EPOCHS or stored_pulse_config().train.epochs


def digits_rows() -> list[dict]:
    rows = []
    n = PULSE_TRAIN or "all"
    pulse_n = pulse_epochs()
    runs = [("software EP", digits_config("software")),
            ("ngspice ideal", digits_config("ngspice")),
            (f"software EP ({n} samples, batch 32)", digits_config("software", epochs=pulse_n, train_limit=PULSE_TRAIN,
                                                                    batch=32)),
            (f"ngspice ideal ({n} samples, batch 32)", digits_config("ngspice", epochs=pulse_n, train_limit=PULSE_TRAIN,
                                                                      batch=32)),
            (f"ngspice pulse ({n} samples)", digits_config("ngspice", "pulse", epochs=pulse_n,
                                                           train_limit=PULSE_TRAIN))]
    for name, config in runs:
        t0 = time.perf_counter()
        with EPTrainer(config) as tr:
            history = tr.fit(log=lambda line: print(f"  {name}: {line}", flush=True))
            rows.append({"run": f"digits {name}", "epochs": len(history), "train": len(tr.dataset.x_train),
                         "test": len(tr.dataset.x_test), "test_acc": history[-1]["test_acc"],
                         "acc_per_epoch": " ".join(f"{r['test_acc']:.3f}" for r in history),
                         "epoch_s": statistics.mean(r["seconds"] for r in history),
                         "pulses": history[-1].get("pulses", 0), "wall_s": time.perf_counter() - t0,
                         "target": ">=92% (pulse, 1 ohm)" if "pulse" in name else ""})
    return rows


def step_rows() -> list[dict]:
    """Time per training step (a batch: free + nudged operating point per sample, then the update) and the
    epoch time it implies, 64-H-10 on digits, ideal and pulse updates (pulse: configs/ep_digits_pulse.toml)."""
    from benchmarks.common import step_times

    rows = []
    for hidden in STEP_SIZES:
        for update in ("ideal", "pulse"):
            config = digits_config("ngspice", update, epochs=1, train_limit=128, test_limit=8, batch=32, hidden=hidden)
            t0 = time.perf_counter()
            with EPTrainer(config) as tr:
                setup = time.perf_counter() - t0
                step, read = step_times(tr)
                devices = tr.circuit.session.states.size
            rows.append({"part": "steps", "run": f"{update} 64-{hidden}-10", "devices": devices,
                         "batch": config.train.batch_size, "setup_s": setup, "step_s": step,
                         "sample_ms": step / config.train.batch_size * 1e3, "read_per_sample_ms": read * 1e3,
                         "epoch_s_est": step * np.ceil(1437 / config.train.batch_size) + 360 * read})
    return rows


def memory_rows() -> list[dict]:
    """Resident memory after the first batch and after MEMORY_TRAIN samples of EP with pulse updates
    (64-16-10, ngspice in this process so that its memory is counted)."""
    from benchmarks.common import memory_rows as rows_for

    config = digits_config("ngspice", "pulse", epochs=1, train_limit=MEMORY_TRAIN, test_limit=8)
    return rows_for(lambda: EPTrainer(config, options=ep_session_options(worker=False)),
                    f"pulse 64-{DIGITS_HIDDEN}-10 (ngspice in process)")


def main() -> None:
    if "steps" in PARTS:
        report("trainers_ep_steps", step_rows(),
               "step = one batch: free + nudged ngspice operating point per sample and the update (ideal: "
               "conductances written; pulse: the batch's pulse slots in one transient); epoch_s_est = step x 45 "
               "batches + 360 test reads; setup = netlist, session and (pulse) step calibration")
    if "memory" in PARTS:
        report("trainers_ep_memory", memory_rows(), "RSS of this process, ngspice in process")
    if "iris" in PARTS:
        report("trainers_ep_iris", iris_rows(),
               "sample = free + nudged op, source writes, node reads, EP update; bare op = ngspice `op` alone "
               "on the same netlist with the same save list, measured before and after training in the same run")
    if "digits" in PARTS:
        report("trainers_ep_digits", digits_rows(),
               f"64-{DIGITS_HIDDEN}-10 vteam network, 1 ohm per wire segment, Adam; {DIGITS_TRAIN or 'all'} training "
               f"samples for {DIGITS_EPOCHS} epochs; pulse (configs/ep_digits_pulse.toml) and the runs next to "
               f"it: {PULSE_TRAIN or 'all'} training samples for {pulse_epochs()} epochs, batches of 32; {DIGITS_TEST or 'all'} test samples "
               f"(2 shared cores)")


if __name__ == "__main__":
    main()
