"""Why a study's ``hardware_model_accuracy`` can lie far below ``deployed_accuracy``.

Takes the plainly trained point of ``studies/example.toml`` with stuck cells (32-row arrays, 5 ohm wire
segments, 4-bit ADC, 10 % variation, 5 % stuck cells) and measures, on the same network and samples,
the torch hardware model and the ngspice deployment, each with and without the mapping-aware bias
correction (calibration inputs from the training split). Prints a table, writes
``benchmarks/results/study_gap.json``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from benchmarks.common import report
from memcosim.hardware_aware.deploy import deploy_network, hardware_for, install_fault_maps, plan_tiles
from memcosim.hardware_aware.train import accuracy, train_network
from memcosim.studies.config import load_study

STUDY = "studies/example.toml"


def torch_corrected(net, x_cal: np.ndarray) -> None:
    """Fold the mean (float - hardware) output over ``x_cal`` into each layer's digital bias, layer by layer."""
    was = net.hardware
    net.set_hardware(True)
    with torch.no_grad():
        h = torch.as_tensor(x_cal, dtype=torch.float32)
        for k, layer in enumerate(net.layers):
            hin = net.layer_input(k, h)
            layer.correct_bias(hin, layer(hin, None, net.input_scale[k]), net.input_scale[k])
            h = layer(hin, None, net.input_scale[k])
            if k < len(net.layers) - 1:
                h = torch.relu(h)
    net.set_hardware(was)


def main() -> None:
    study = load_study(STUDY)
    point = next(p for p in study.points if p.method == "plain" and p.fault_rate > 0 and p.arrays.adc.bits == 4)
    seed = study.point_seed(point)
    hw = hardware_for(point.arrays, weight_bits=point.weight_bits, variation=point.variation,
                      fault_rate=point.fault_rate, seed=seed % (2**31))
    data = study.network.load()
    trained = train_network(study.network, hw, point.method, data, fault_setup=lambda net: install_fault_maps(
        net, plan_tiles(net.sizes, point.arrays.size, seed), point.arrays))
    net = trained.network
    n, n_cal = study.settings.samples, study.settings.calibration
    x, y, x_cal = data.x_test[:n], data.y_test[:n], data.x_train[:n_cal]
    rows = [{"model": "torch hardware model", "bias_correction_samples": 0, "samples": n,
             "accuracy": accuracy(net, x, y, True)}]
    corrected = copy.deepcopy(net)
    torch_corrected(corrected, x_cal)
    rows.append({"model": "torch hardware model", "bias_correction_samples": n_cal, "samples": n,
                 "accuracy": accuracy(corrected, x, y, True)})
    for cal in (0, n_cal):  # deployment folds its correction into the network it is given: one copy each
        dep = deploy_network(copy.deepcopy(net), point.arrays, x, x_cal if cal else None, seed=seed, reference="float")
        rows.append({"model": "ngspice deployment", "bias_correction_samples": cal, "samples": n,
                     "accuracy": float(np.mean(dep.scores.argmax(axis=1) == y))})
    report("study_gap", rows, notes=f"point: {point}; software accuracy {trained.software_accuracy:.3f}")


if __name__ == "__main__":
    main()
