"""Equilibrium propagation (Scellier & Bengio 2017) on the analog network of Kendall et al. (2020).

Each training sample takes two operating points of the same circuit:

1. free phase: inputs on the input sources, nudge currents 0; outputs ``o`` (volts) and the voltage
   ``dV0`` across every cell are read;
2. nudged phase: nudge currents ``beta (t - o)`` amperes into the outputs (``t`` the target volts);
   the cell voltages ``dVb`` are read again.

The EP estimate of the loss gradient is ``dL/dG = (dVb^2 - dV0^2) / (2 beta)`` per cell (V^2/S; loss
``L = |o - t|^2 / 2`` in V^2); it is averaged over the batch and the update ``-lr w^2/v_input^2 dL/dG``
siemens (or Adam's normalized step, :mod:`memcosim.trainers.ep_optimizer`) is realized by the update
mode (:mod:`memcosim.trainers.ep_updates`). With ``backend =
"software"`` the same network is solved in numpy (:mod:`memcosim.trainers.ep_software`).
"""

from __future__ import annotations

import copy

import numpy as np

from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError
from memcosim.trainers.base import Trainer
from memcosim.trainers.config import RunConfig
from memcosim.trainers.datasets import Dataset, DatasetLike, dataset_for
from memcosim.trainers.ep_circuit import CircuitNetwork
from memcosim.trainers.ep_optimizer import make_rule
from memcosim.trainers.ep_software import SoftwareNetwork, ep_gradient
from memcosim.trainers.ep_updates import make_updater



class EPTrainer(Trainer):
    """Equilibrium propagation with ngspice in the loop (or the numpy baseline of the same network)."""

    def __init__(self, config: RunConfig, dataset: DatasetLike | None = None, options: SessionOptions | None = None):
        dataset = dataset_for(config, dataset)
        super().__init__(config, dataset)
        net = config.network
        if dataset.n_features != net.sizes[0]:
            raise ConfigError("network.sizes[0]", f"the network has {net.sizes[0]} inputs but dataset "
                              f"{dataset.name!r} has {dataset.n_features} features")
        if dataset.n_classes != net.sizes[-1]:
            raise ConfigError("network.sizes[-1]", f"the network has {net.sizes[-1]} outputs but dataset "
                              f"{dataset.name!r} has {dataset.n_classes} classes")
        lo, hi = net.window
        self.layer_weights = net.energy_weights()
        self.layer_lr = list(config.train.layer_lr) or [1.0] * len(self.layer_weights)
        if len(self.layer_lr) != len(self.layer_weights):
            raise ConfigError("train.layer_lr", f"needs one factor per weight layer ({len(self.layer_weights)}), "
                              f"got {len(self.layer_lr)}")
        t = config.train
        self.rule = make_rule(t.optimizer, t.lr, (lo, hi), net.v_input, self.layer_lr, net.layer_shapes, t.lr_decay)
        g0 = net.initial_conductances()
        self.circuit = None
        self.software = None
        if config.train.backend == "ngspice":
            self.circuit = CircuitNetwork(net, g0, options)
            if self.circuit.device.has_state:
                g0 = self.circuit.conductances_from_states()
        else:
            self.software = SoftwareNetwork(net)
        self.updater = make_updater(config.train.update, g0, (lo, hi), self.circuit, config.pulse)

    @property
    def conductances(self) -> list[np.ndarray]:
        """Current conductance of every cell (siemens), one rows x columns array per layer."""
        return self.updater.g

    def close(self) -> None:
        if self.circuit is not None:
            self.circuit.close()

    # -- EP ------------------------------------------------------------------------------
    def targets(self, y: np.ndarray) -> np.ndarray:
        """Target output volts: ``target_high`` on the label's output, ``target_low`` elsewhere."""
        t = self.config.train
        out = np.full((len(y), self.config.network.sizes[-1]), t.target_low)
        out[np.arange(len(y)), np.asarray(y, dtype=int)] = t.target_high
        return out

    def gradient(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Free-phase outputs (volts, batch x outputs) and the batch-mean EP gradient dL/dG (V^2/S per cell)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        beta = self.config.train.beta
        t = self.targets(y)
        if self.software is not None:
            xv = x * self.config.network.v_input
            free = self.software.solve(self.updater.g, xv)
            nudged = self.software.solve(self.updater.g, xv, nudge=beta * (t - free.outputs), start=free.neurons)
            return free.outputs, ep_gradient(free.cell_volts, nudged.cell_volts, beta, self.layer_weights)
        outputs = np.empty_like(t)
        grad = [np.zeros_like(g) for g in self.updater.g]
        for k in range(len(x)):
            outputs[k], v0 = self.circuit.free(x[k])
            _, vb = self.circuit.nudged(beta * (t[k] - outputs[k]))
            for acc, a, b in zip(grad, v0, vb):
                acc += (b * b - a * a)
        c = self.layer_weights
        return outputs, [g * (cl / (c[-1] * 2.0 * beta * len(x))) for g, cl in zip(grad, c)]

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        outputs, grad = self.gradient(x, y)
        self.updater.apply(self.rule.step(grad, self.epoch), self.rng)
        return float(np.sum(self.loss(outputs, y))), int(np.sum(np.argmax(outputs, axis=1) == y))

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.software is not None:
            return self.software.solve(self.updater.g, x * self.config.network.v_input).outputs
        return np.array([self.circuit.outputs(xi) for xi in x])

    def loss(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 0.5 * np.sum((scores - self.targets(y)) ** 2, axis=1)

    def epoch_extras(self) -> dict:
        extra = {"pulses": self.updater.pulses}
        if self.updater.mode == "pulse":  # joules of the pulse transients: every supply group and the sum
            extra["energy"] = float(sum(self.updater.energy.values()))
            extra.update({f"energy_{g}": j for g, j in self.updater.energy.items()})
        if self.circuit is not None:
            extra["operating_points"] = self.circuit.ops
        return extra

    # -- state ---------------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {f"g{l}": g.copy() for l, g in enumerate(self.updater.g)}
        arrays["pulses"] = np.array(self.updater.pulses)
        arrays.update({f"energy_{g}": np.array(j) for g, j in self.updater.energy.items()})
        arrays.update(self.rule.state_arrays())
        arrays.update(self.updater.state_arrays())
        if self.circuit is not None:
            arrays["device_states"] = self.circuit.session.states.copy()
            arrays["operating_points"] = np.array(self.circuit.ops)
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        g = []
        for l, cur in enumerate(self.updater.g):
            a = arrays.get(f"g{l}")
            if a is None or a.shape != cur.shape or not np.all(np.isfinite(a)):
                raise ConfigError("checkpoint", f"layer {l} conductances missing or of the wrong shape")
            g.append(np.array(a, dtype=float))
        rule = copy.deepcopy(self.rule)  # checked before the circuit or the trainer changes
        rule.load_state_arrays(arrays)
        updater = copy.copy(self.updater)  # its own arrays (the digital copy) checked the same way
        updater.load_state_arrays(arrays)
        if self.circuit is not None:
            if not self.circuit.device.has_state:
                self.circuit.write_conductances(g)
            else:
                states = arrays.get("device_states")
                if states is None or states.shape != self.circuit.session.states.shape:
                    raise ConfigError("checkpoint", "device states missing or of the wrong size")
                self.circuit.session.set_states(states)
            self.circuit.ops = int(arrays.get("operating_points", 0))
        updater.g = g
        updater.pulses = int(arrays.get("pulses", 0))
        updater.energy = {k[len("energy_"):]: float(v) for k, v in arrays.items() if k.startswith("energy_")}
        self.updater = updater
        self.rule = rule
