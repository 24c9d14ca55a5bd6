"""Points of a torch model study (``[nn]``): one trained model, converted onto each point's tiles and read in ngspice.

:func:`trained_model` trains the study's model once (:func:`memcosim.nn.train.train_hardware_aware`: float, then
hardware-aware on the arrays of ``[defaults]``, seeded) and keeps it in a model file (``nn.model_file``, default
``model.pt`` in the result folder, written atomically; a file of other settings is trained again); the run
hands its bytes to every point. :func:`run_nn_point` loads the trained weights into the same MLP, converts it
with :func:`~memcosim.nn.convert.convert_to_circuit` onto the point's arrays (tile size, wires, DAC, ADC),
recalibrates the converter ranges for those tiles and ADC bits on the network's calibration inputs (one ADC
full scale per layer and row tile, fitted as ``nn.adc_fit`` says), evaluates the torch float and hardware
modes, programs the tiles (ideal writes; in the calling process, as every study point's ngspice) and reads the
first ``study.samples`` test inputs in ngspice, all of them in one batched call per tile.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits
import torch

from memcosim.cosim.tiles import TileSettings
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_bytes
from memcosim.hardware_aware.deploy import hardware_for
from memcosim.nn.convert import calibrate, close, convert_to_circuit, cost, program, set_mode
from memcosim.nn.train import mlp, train_hardware_aware
from memcosim.studies.config import Point, Study

MODEL_FILE = "model.pt"


def hardware(study: Study, point: Point):
    """The torch hardware model of a point's arrays (weight levels, variation, faults of the point; the study's
    ADC fit; the study seed, so every point draws the same devices)."""
    return hardware_for(point.arrays, weight_bits=point.weight_bits, variation=point.variation,
                        fault_rate=point.fault_rate, adc_fit=study.nn.adc_fit, seed=study.settings.seed)


def model_path(study: Study, out: str | Path) -> Path:
    """Where the study's trained model is kept."""
    return Path(study.nn.model_file) if study.nn.model_file else Path(out) / MODEL_FILE


def trained_model(study: Study, out: str | Path, log: Callable[[str], None] | None = None) -> bytes:
    """The study's trained model as bytes (a torch file: ``key``, ``sizes``, the Linear layers' ``weights``, the
    training ``seconds`` and the accuracies of the float and the hardware-aware model on the whole test split):
    read from the model file when it was trained with the same settings, else trained now and written."""
    path = model_path(study, out)
    key = study.model_key()
    if path.is_file():
        blob = path.read_bytes()
        try:
            saved = torch.load(io.BytesIO(blob))
        except Exception as exc:  # noqa: BLE001 - an unreadable cache is trained again, and said so
            saved = {"key": f"unreadable ({type(exc).__name__})"}
        if saved.get("key") == key:
            if log:
                log(f"trained model: {path} (trained in {saved['seconds']:.0f} s; float {saved['float_accuracy']:.4f}, "
                    f"hardware-aware {saved['hardware_accuracy']:.4f} on the whole test split)")
            return blob
        if log:
            log(f"{path} holds a model of other settings: training again")
    with threadpool_limits(limits=1):
        data = study.network.load()
        arrays = study.defaults.arrays
        trained = train_hardware_aware(study.network, arrays, data.x_train, data.y_train,
                                       hardware(study, study.defaults), log=log)
        x_test = torch.as_tensor(data.x_test, dtype=torch.float32)
        float_accuracy = _accuracy(trained.float_model, x_test, data.y_test)
        hardware_accuracy = _accuracy(trained.converted, x_test, data.y_test)
    weights = {k: v for k, v in trained.converted.state_dict().items() if k.endswith((".weight", ".bias"))}
    sizes = [data.n_features, *study.network.hidden, data.n_classes]
    buf = io.BytesIO()
    torch.save({"key": key, "sizes": sizes, "weights": weights, "seconds": trained.seconds,
                "float_accuracy": float_accuracy, "hardware_accuracy": hardware_accuracy,
                "settings": json.dumps({"network": dataclasses.asdict(study.network),
                                        "arrays": study.defaults.axes(), "adc_fit": study.nn.adc_fit}, default=str)},
               buf)
    atomic_write_bytes(path, buf.getvalue())
    if log:
        log(f"trained model written to {path} ({trained.seconds:.0f} s; float {float_accuracy:.4f}, hardware-aware "
            f"{hardware_accuracy:.4f} on the whole test split of {len(data.y_test)})")
    return buf.getvalue()


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: np.ndarray) -> float:
    return float(np.mean(_predict(model, x).argmax(axis=1) == y))


def _predict(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy()


def run_nn_point(study: Study, point: Point) -> dict:
    """Convert the study's trained model onto the point's tiles, recalibrate, and evaluate it in torch and in
    ngspice; returns ``{"row": ..., "timing": ...}`` (as :func:`memcosim.studies.run.run_point`, without weights)."""
    if not study.model:
        raise ConfigError("nn", "the study's trained model is missing: run the study with run_study (it trains or "
                                "loads the model before the points)")
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        return _run(study, point)


def _run(study: Study, point: Point) -> dict:
    t0 = time.perf_counter()
    saved = torch.load(io.BytesIO(study.model))
    model = mlp(saved["sizes"], 0)
    model.load_state_dict(saved["weights"])
    data = study.network.load()
    n = min(study.settings.samples, len(data.x_test))
    x, y = torch.as_tensor(data.x_test[:n], dtype=torch.float32), data.y_test[:n]
    software = _accuracy(model, x, y)
    converted = convert_to_circuit(model, point.arrays, hardware(study, point))
    set_mode(converted, "hardware")
    calibrate(converted, torch.as_tensor(data.x_train[: study.network.calibration_samples], dtype=torch.float32))
    hw_pred = _predict(converted, x).argmax(axis=1)
    s = study.settings
    x_correction = torch.as_tensor(data.x_train[: s.calibration], dtype=torch.float32) if s.calibration else None
    try:
        program(converted, x_correction, TileSettings(workers=0))
        set_mode(converted, "circuit")
        scores = _predict(converted, x)
        spent = cost(converted)
    finally:
        close(converted)
    pred = scores.argmax(axis=1)
    deployed = float(np.mean(pred == y))
    row = {**point.axes(), "software_accuracy": software, "hardware_model_accuracy": float(np.mean(hw_pred == y)),
           "deployed_accuracy": deployed, "deployed_standard_error": float(np.sqrt(deployed * (1 - deployed) / n)),
           "prediction_agreement": float(np.mean(pred == hw_pred)), "samples": n, "arrays": spent["tiles"],
           "operating_points": spent["operating_points"]}
    seconds = time.perf_counter() - t0
    timing = {"training_seconds": 0.0, "netlist_seconds": spent["build_seconds"],
              "programming_seconds": spent["program_seconds"], "simulation_seconds": spent["read_seconds"],
              "point_seconds": seconds}
    return {"row": row, "timing": timing}
