"""Training a torch multilayer perceptron and its hardware-aware fine-tuning after :func:`convert_to_circuit`.

The flow of :func:`train_hardware_aware`: a ``torch.nn.Sequential`` of ``Linear`` layers with ReLU between them
(:func:`mlp`, initialised from the seed) is trained in float with Adam and the softmax cross-entropy
(:func:`fit`), converted onto the tiles of ``arrays`` (:func:`~memcosim.nn.convert.convert_to_circuit`) and
fine-tuned in the ``hardware`` mode, its converter ranges recalibrated on the first ``calibration_samples``
training inputs before every epoch and after the last. Every draw (initial weights, batch order) comes from
``settings.seed``: the same settings give the same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from memcosim import fields as f
from memcosim.hardware_aware.deploy import ArraySettings
from memcosim.hardware_aware.model import HardwareConfig
from memcosim.hardware_aware.train import TrainSettings
from memcosim.nn.convert import calibrate, convert_to_circuit, set_mode


def mlp(sizes: list[int], seed: int) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]), ReLU, ..., Linear(sizes[-2], sizes[-1])``, initialised from ``seed``."""
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least inputs and outputs, got {sizes}")
    torch.manual_seed(f.integer("seed", seed, 0))
    parts: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        if k:
            parts.append(nn.ReLU())
        parts.append(nn.Linear(a, b))
    return nn.Sequential(*parts)


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, batch_size: int, seed: int,
        calibration: int = 0, log: Callable[[str], None] | None = None) -> None:
    """Adam (learning rate ``lr``) on the cross-entropy of ``model(x)`` against labels ``y``, ``epochs`` passes in
    batches of about ``batch_size`` (order drawn from ``seed``). ``calibration`` > 0: the model is converted
    (hardware mode) and its converter ranges are recalibrated on ``x[:calibration]`` before each epoch and after
    the last."""
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        if calibration:
            calibrate(model, x[:calibration])
        model.train()
        for b in np.array_split(rng.permutation(len(x)), max(1, len(x) // batch_size)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
        if log:
            log(f"{'hardware-aware' if calibration else 'float'} epoch {epoch + 1}/{epochs}")
    if calibration:
        calibrate(model, x[:calibration])


@dataclass
class HardwareAwareModel:
    """The float-trained model, the converted model after hardware-aware fine-tuning (``hardware`` mode,
    calibrated), and the seconds both trainings took."""

    float_model: nn.Sequential
    converted: nn.Module
    seconds: float


def train_hardware_aware(settings: TrainSettings, arrays: ArraySettings, x: np.ndarray, y: np.ndarray,
                         hardware: HardwareConfig | None = None,
                         log: Callable[[str], None] | None = None) -> HardwareAwareModel:
    """Train an MLP (inputs, ``settings.hidden``, classes) on ``x`` (samples, features) / ``y`` (labels 0..k-1):
    ``settings.epochs`` in float at ``settings.lr``, then ``settings.hw_epochs`` hardware-aware on ``arrays``
    (torch hardware model ``hardware``, default :func:`~memcosim.hardware_aware.deploy.hardware_for`) at
    ``settings.hw_lr``, converter ranges from ``settings.calibration_samples`` training inputs."""
    torch.set_num_threads(1)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    model = mlp([xt.shape[1], *settings.hidden, int(yt.max()) + 1], settings.seed)
    t0 = time.perf_counter()
    fit(model, xt, yt, settings.epochs, settings.lr, settings.batch_size, settings.seed, log=log)
    converted = convert_to_circuit(model, arrays, hardware)
    set_mode(converted, "hardware")
    fit(converted, xt, yt, settings.hw_epochs, settings.hw_lr, settings.batch_size, settings.seed,
        calibration=settings.calibration_samples, log=log)
    return HardwareAwareModel(model, converted, time.perf_counter() - t0)
