"""Training loop for :class:`~memcosim.hardware_aware.model.HwNetwork`: plain or hardware-aware.

``plain``: float weights, cross-entropy, Adam, for ``epochs`` epochs. ``hw_aware``: the same plain
training, then ``hw_epochs`` epochs of fine-tuning with the hardware forward pass (quantized
conductances, stuck-at faults redrawn every epoch, conductance variation and read noise redrawn every
batch, DAC/ADC quantization and clamping), the converter ranges re-calibrated at the start of every
epoch. Both end with a calibration of the converter ranges on training data, so they deploy the same
way. Everything is seeded (``seed``) and runs on one thread: same settings, same weights, in any process.
"""

from __future__ import annotations

import time
from typing import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from memcosim import fields as f
from memcosim.errors import ConfigError
from memcosim.trainers.datasets import Dataset, DatasetLike, as_dataset, check_dataset_name, load_dataset
from memcosim.hardware_aware.model import HardwareConfig, HwNetwork

METHODS = ("plain", "hw_aware")
FAULT_MAPS = ("known", "random")


@dataclass
class TrainSettings:
    """Data and schedule: ``dataset`` (a built-in name or an ``.npz`` path, :mod:`memcosim.trainers.datasets`),
    ``hidden`` layer widths, Adam learning rates ``lr`` (plain) and ``hw_lr``
    (fine-tuning), ``calibration_samples`` training samples for the converter ranges."""

    dataset: str = "digits"
    hidden: list[int] = field(default_factory=lambda: [32])
    epochs: int = 30
    hw_epochs: int = 15
    batch_size: int = 32
    lr: float = 3e-3
    hw_lr: float = 2e-4
    test_fraction: float = 0.2
    train_limit: int = 0
    test_limit: int = 0
    calibration_samples: int = 256
    fault_map: str = "known"
    seed: int = 0

    def __post_init__(self) -> None:
        self.dataset = check_dataset_name("network.dataset", self.dataset)
        if not isinstance(self.hidden, (list, tuple)):
            raise ConfigError("network.hidden", f"must be a list of layer widths, got {self.hidden!r}")
        self.hidden = [f.integer(f"network.hidden[{k}]", h, 1) for k, h in enumerate(self.hidden)]
        self.epochs = f.integer("network.epochs", self.epochs, 1)
        self.hw_epochs = f.integer("network.hw_epochs", self.hw_epochs, 0)
        self.batch_size = f.integer("network.batch_size", self.batch_size, 1)
        self.lr = f.number("network.lr", self.lr, low=0.0, low_open=True)
        self.hw_lr = f.number("network.hw_lr", self.hw_lr, low=0.0, low_open=True)
        self.test_fraction = f.number("network.test_fraction", self.test_fraction, low=0.0, high=0.9, low_open=True)
        self.train_limit = f.integer("network.train_limit", self.train_limit, 0)
        self.test_limit = f.integer("network.test_limit", self.test_limit, 0)
        self.calibration_samples = f.integer("network.calibration_samples", self.calibration_samples, 1)
        self.fault_map = f.choice("network.fault_map", self.fault_map, FAULT_MAPS)
        self.seed = f.integer("network.seed", self.seed, 0)

    def load(self, data: DatasetLike | None = None) -> Dataset:
        """``data`` (anything :func:`~memcosim.trainers.datasets.as_dataset` takes) or the named dataset, split
        with ``test_fraction`` and ``seed``."""
        options = dict(test_fraction=self.test_fraction, seed=self.seed, train_limit=self.train_limit,
                       test_limit=self.test_limit)
        return load_dataset(self.dataset, **options) if data is None else as_dataset(data, **options)


@dataclass
class TrainResult:
    """A trained network and its accuracies (fractions): float weights (``software``) and the torch
    hardware model without noise (``hardware_model``); ``seconds`` of training."""

    network: HwNetwork
    method: str
    software_accuracy: float
    hardware_model_accuracy: float
    seconds: float
    history: list[dict]


def accuracy(net: HwNetwork, x: np.ndarray, y: np.ndarray, hardware: bool) -> float:
    """Fraction of ``x`` classified as ``y``, float or hardware forward (no noise)."""
    was = net.hardware
    net.set_hardware(hardware)
    with torch.no_grad():
        scores = net(torch.as_tensor(x, dtype=torch.float32))
    net.set_hardware(was)
    return float((scores.argmax(dim=1).numpy() == y).mean())


def _epochs(net: HwNetwork, data: Dataset, epochs: int, lr: float, batch: int, rng: np.random.Generator,
            noise: torch.Generator | None, settings: TrainSettings, history: list[dict], phase: str) -> None:
    x = torch.as_tensor(data.x_train, dtype=torch.float32)
    y = torch.as_tensor(data.y_train, dtype=torch.long)
    cal = x[: settings.calibration_samples]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        if noise is not None:
            net.calibrate(cal)
        order = torch.as_tensor(rng.permutation(len(x)))
        total = 0.0
        for k in range(0, len(order), batch):
            b = order[k:k + batch]
            opt.zero_grad()
            if noise is not None and settings.fault_map == "random" and net.hw.fault_rate > 0:
                for layer in net.layers:
                    layer.draw_faults(noise)
            loss = loss_fn(net(x[b], noise), y[b])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        history.append({"phase": phase, "epoch": epoch + 1, "train_loss": total / len(x)})


def train_network(settings: TrainSettings, hw: HardwareConfig, method: str, data: DatasetLike | None = None,
                  fault_setup: Callable[[HwNetwork], object] | None = None) -> TrainResult:
    """Train a network ``features - hidden... - classes`` plainly or hardware-aware (``method``) on ``data``
    (a Dataset, arrays, an ``.npz`` path or a torch Dataset; default: ``settings.dataset``).

    ``fault_setup(net)`` installs the deployed stuck-at map in the layers (e.g. the arrays' circuit faults,
    :func:`memcosim.hardware_aware.deploy.install_fault_maps`); default: each layer's map drawn from ``hw.seed``.
    With ``fault_map = "known"`` hardware-aware training sees that map; with ``"random"`` a fresh one per batch.
    """
    method = f.choice("method", method, METHODS)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    data = settings.load(data)
    sizes = [data.n_features, *settings.hidden, data.n_classes]
    torch.manual_seed(settings.seed)
    net = HwNetwork(sizes, hw, init_seed=settings.seed)
    install = fault_setup or (lambda n: [layer.set_faults(hw.fault_rate, hw.seed) for layer in n.layers])
    install(net)
    rng = np.random.default_rng(settings.seed)
    history: list[dict] = []
    net.set_hardware(False)
    _epochs(net, data, settings.epochs, settings.lr, settings.batch_size, rng, None, settings, history, "plain")
    if method == "hw_aware" and settings.hw_epochs:
        net.set_hardware(True)  # "known": the deployed fault map (drawn from hw.seed) is in place already
        noise = torch.Generator()
        noise.manual_seed(settings.seed + 1)
        _epochs(net, data, settings.hw_epochs, settings.hw_lr, settings.batch_size, rng, noise, settings, history, "hw_aware")
    install(net)  # the deployed fault map
    net.calibrate(torch.as_tensor(data.x_train[: settings.calibration_samples], dtype=torch.float32))
    net.set_hardware(False)
    return TrainResult(net, method, accuracy(net, data.x_test, data.y_test, False),
                       accuracy(net, data.x_test, data.y_test, True), time.perf_counter() - t0, history)
