"""Pulse-based SGD with the crossbar in the loop: forward reads in ngspice, gradients in Python, pulse trains.

A two-layer network ``inputs (+ bias) -> hidden -> outputs`` of
:class:`~memcosim.cosim.layer.CrossbarLayer` s in one netlist/session. Per sample:

1. forward: layer 0 reads ``[x, 1]`` through DAC -> array -> TIA -> ADC (one operating point), the
   digital periphery applies ``a = clip(h, 0, 1)``, layer 1 reads ``[a, 1]`` (another operating point);
2. softmax cross-entropy on the outputs; output error ``delta = p - onehot`` and hidden error
   ``(W1 delta) * [0 < h < 1]`` in Python, with ``W1`` the weights the devices hold now;
3. update: ``ideal`` writes ``W - lr sum_batch x delta^T`` as device states; ``pulse`` turns every
   sample of the batch into half-select pulse slots (Manhattan or stochastic coincidence, see
   :class:`~memcosim.trainers.crossbar_config.SgdConfig`) and runs the whole batch, both
   layers, in ONE transient (:meth:`CrossbarCircuit.pulse_slots`; the session sends line waveforms
   of any length).

``step_decay`` anneals the step per epoch (``SgdConfig``): the learning rate of ``ideal`` and
``stochastic`` updates, and the probability that a selected column fires in a Manhattan update.

Pulse mode calibrates, in the circuit, the weight change of one coincidence up and down and the
*common-mode drift* of a pair: the relative change of ``G+ + G-`` per up-and-down cycle. A weight
that goes up and back down gives each device one SET and one RESET; if the device's RESET step is
larger than its SET step at the pair's conductance, both devices sink a little every cycle, the
window a weight can use shrinks (``|w| <= G+ / k``) and so does every later step. ``vteam``'s Biolek
window (``wtype = 2``) has a RESET step larger than its SET step at the mapping's middle. The ``[sgd]``
defaults use the VTEAM paper's own (Kvatinsky) window, ``wtype = 3``,
whose SET and RESET steps match inside the window; a drift beyond :data:`DRIFT_WARNING` per cycle
is reported with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np

from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError, MemcosimError
from memcosim.trainers import pulse_rule
from memcosim.trainers.base import Trainer
from memcosim.trainers.config import RunConfig, stored_run_config
from memcosim.cosim.layer import CrossbarCircuit, Slot, SlotResult, SlotTiming
from memcosim.trainers.crossbar_config import SgdConfig, layer_configs
from memcosim.trainers.datasets import Dataset, DatasetLike, dataset_for

DRIFT_WARNING = 2e-3  # relative common-mode change of a pair per up-and-down cycle worth a warning



def check_sizes(where: str, inputs: int, outputs: int, dataset: Dataset, outputs_field: str = "outputs") -> tuple[int, int]:
    """(inputs, outputs) of the network: the dataset's unless set; ConfigError naming the field on a mismatch."""
    if inputs and inputs != dataset.n_features:
        raise ConfigError(f"{where}.inputs", f"the network has {inputs} inputs but dataset {dataset.name!r} has "
                          f"{dataset.n_features} features")
    if outputs and outputs != dataset.n_classes:
        raise ConfigError(f"{where}.{outputs_field}", f"the network has {outputs} outputs but dataset "
                          f"{dataset.name!r} has {dataset.n_classes} classes")
    return dataset.n_features, dataset.n_classes


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample softmax cross-entropy (nats) of ``scores`` against labels ``y``."""
    p = softmax(np.atleast_2d(scores))
    return -np.log(np.maximum(p[np.arange(len(y)), np.asarray(y, dtype=int)], 1e-300))


def energy_counters(circuit: CrossbarCircuit) -> dict[str, float]:
    """Zeroed counters ``energy_<group>`` (joules) of every supply group of ``circuit``; ``energy`` is their sum."""
    return {f"energy_{g}": 0.0 for g in circuit.supply_groups}


def add_energy(counters: dict[str, float], result: SlotResult) -> None:
    """Add an update's energy to ``counters``: the total (``energy``) and each group's (``energy_<group>``)."""
    counters["energy"] += result.energy
    for group, joules in result.groups.items():
        counters[f"energy_{group}"] = counters.get(f"energy_{group}", 0.0) + joules


class CrossbarTrainerMixin:
    """Shared checkpoint pieces of the crossbar-layer trainers (device states + counters)."""

    circuit: CrossbarCircuit
    counters: dict[str, float]
    table: str

    def _check_compatible(self, toml_text: str, path) -> None:
        super()._check_compatible(toml_text, path)
        saved = stored_run_config(toml_text, f"{path} (config)")
        if getattr(saved, self.table) != getattr(self.config, self.table):
            raise MemcosimError(f"checkpoint: {path} was written for a different [{self.table}] configuration")

    def state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"device_states": self.circuit.states}
        arrays.update({f"count_{k}": np.array(v) for k, v in self.counters.items()})
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        states = arrays.get("device_states")
        if states is None:
            raise ConfigError("checkpoint", "device states missing")
        self.circuit.set_states(states)  # checked (size, finite) before anything is written
        for k in self.counters:
            if f"count_{k}" in arrays:
                self.counters[k] = arrays[f"count_{k}"].item()

    def close(self) -> None:
        self.circuit.close()

    def epoch_extras(self) -> dict:
        return dict(self.counters, reads=self.circuit.reads)


class SGDTrainer(CrossbarTrainerMixin, Trainer):
    """Two-layer SGD with forward reads in ngspice and ``ideal`` or ``pulse`` (Manhattan / stochastic) updates."""

    table = "sgd"

    def __init__(self, config: RunConfig, dataset: DatasetLike | None = None, options: SessionOptions | None = None):
        dataset = dataset_for(config, dataset)
        super().__init__(config, dataset)
        s = config.sgd or SgdConfig()
        config.sgd = s
        n_in, n_out = check_sizes("sgd", s.inputs, s.outputs, dataset)
        self.s = s
        layers = layer_configs(s, n_in + 1, n_out, config.train.seed, s.set,
                               dict(init_spread=s.init_scale * np.sqrt(3 / (n_in + 1))),
                               dict(init_spread=s.init_scale * np.sqrt(3 / (s.hidden + 1))))
        self.timing = SlotTiming(s.set.width, s.set.rise, s.gap)
        self.circuit = CrossbarCircuit(layers, options, title=f"memcosim SGD {n_in}-{s.hidden}-{n_out}")
        self.counters = {"cell_pulses": 0, "slots": 0, "transients": 0, "energy": 0.0, "updates": 0,
                         **energy_counters(self.circuit)}
        self.dw = (0.0, 0.0)
        self.drift = 0.0  # relative change of G+ + G- per up-and-down coincidence cycle (pulse mode)
        if config.train.update == "pulse":
            self.dw = self.calibrate()
            self.drift = self.common_mode_drift()
            if abs(self.drift) > DRIFT_WARNING:
                warnings.warn(f"sgd.device.params: one up-and-down cycle changes a pair's G+ + G- by "
                              f"{100 * self.drift:+.2f} % (SET and RESET steps differ): weights and steps will "
                              f"{'shrink' if self.drift < 0 else 'grow'} as training goes on; balance the set / "
                              f"reset amplitudes or choose a symmetric device window", stacklevel=2)

    # -- calibration ---------------------------------------------------------------------------
    def _coincidence(self, up: bool) -> list[Slot]:
        """The SET and RESET slot of one coincidence on pair (0, 0) of layer 0 (weight up or down)."""
        layer = self.circuit.layers[0]
        rows = np.zeros(layer.config.inputs, bool)
        rows[0] = True
        plus, minus = np.zeros(layer.config.columns, bool), np.zeros(layer.config.columns, bool)
        plus[0], minus[1] = True, True
        return [Slot(self.s.set.amplitude, {0: (rows, plus if up else minus)}),
                Slot(self.s.reset.amplitude, {0: (rows, minus if up else plus)})]

    def calibrate(self) -> tuple[float, float]:
        """Weight change of one coincidence (+ device SET with - device RESET, and the reverse), measured on
        pair (0, 0) of layer 0 with ``calibration_pulses`` slots each; the states are restored after."""
        layer = self.circuit.layers[0]
        saved = self.circuit.states
        n = self.s.calibration_pulses
        steps = []
        try:
            for up in (True, False):
                self.circuit.set_states(saved)
                w0 = layer.weights()[0, 0]
                self.run_slots(self._coincidence(up) * n)
                steps.append((layer.weights()[0, 0] - w0) / n)
        finally:
            self.circuit.set_states(saved)
        if not (steps[0] > 0 and steps[1] < 0):
            raise ConfigError("sgd.set.amplitude", f"calibration: a coincidence moved the weight by {steps[0]:.3g} (up) and "
                              f"{steps[1]:.3g} (down): raise the set / lower the reset amplitude or widen the pulse")
        return float(steps[0]), float(steps[1])

    def common_mode_drift(self) -> float:
        """Relative change of ``G+ + G-`` of pair (0, 0) of layer 0 per up-and-down cycle (one coincidence
        up, one down: each device gets one SET and one RESET pulse), over ``calibration_pulses`` cycles in
        the circuit; 0 for a device whose SET and RESET steps match. The states are restored after."""
        layer = self.circuit.layers[0]
        saved = self.circuit.states
        n = self.s.calibration_pulses
        try:
            g = layer.conductances()[0, :2]
            self.run_slots((self._coincidence(True) + self._coincidence(False)) * n)
            ratio = layer.conductances()[0, :2].sum() / g.sum()
        finally:
            self.circuit.set_states(saved)
        return float(ratio ** (1.0 / n) - 1.0)

    # -- forward -------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(inputs with bias, hidden pre-activation, hidden with bias, output scores) for a batch."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        ones = np.ones((len(x), 1))
        xa = np.hstack([x, ones])
        h = self.circuit.layers[0].forward(xa).outputs
        aa = np.hstack([np.clip(h, 0.0, 1.0), ones])
        z = self.circuit.layers[1].forward(aa).outputs
        return xa, h, aa, z

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)[3]

    def loss(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        return cross_entropy(scores, y)

    # -- training ------------------------------------------------------------------------------
    def step_scale(self) -> float:
        """Factor on this epoch's update step: ``step_decay ** epoch`` (epochs counted from 0)."""
        return float(self.s.step_decay ** self.epoch)

    def output_mask(self) -> np.ndarray | None:
        """Outputs that take part in the training softmax and the predictions (bool per output), or None for all."""
        return None

    def masked(self, scores: np.ndarray) -> np.ndarray:
        """``scores`` with the outputs outside :meth:`output_mask` at -inf (never predicted, softmax 0)."""
        mask = self.output_mask()
        return scores if mask is None else np.where(mask, scores, -np.inf)

    def errors(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Forward pass of a batch read from the crossbars and its errors: ``(xa, aa, z, d_hid, d_out)``
        (inputs and hidden activations with their bias entries, output scores, hidden and output errors)."""
        xa, h, aa, z = self._forward(x)
        y = np.asarray(y, dtype=int)
        d_out = softmax(self.masked(z))  # masked outputs: error 0, no pulses
        d_out[np.arange(len(y)), y] -= 1.0
        w1 = self.circuit.layers[1].weights()
        d_hid = (d_out @ w1[:-1].T) * ((h > 0) & (h < 1))
        return xa, aa, z, d_hid, d_out

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        y = np.asarray(y, dtype=int)
        xa, aa, z, d_hid, d_out = self.errors(x, y)
        if self.config.train.update == "ideal":
            self.ideal_update(xa, aa, d_hid, d_out)
        else:
            self._pulse(xa, aa, d_hid, d_out)
        z = self.masked(z)
        return float(np.sum(cross_entropy(z, y))), int(np.sum(np.argmax(z, axis=1) == y))

    def ideal_update(self, xa, aa, d_hid, d_out) -> None:
        """Write the SGD step ``-lr * step_scale * sum(input^T error)`` of a batch straight into both layers'
        weights (``ideal`` updates; arguments from :meth:`errors`), without the samples whose largest output
        error is below ``min_error``."""
        keep = np.abs(d_out).max(axis=1) >= self.s.min_error
        if not keep.any():
            return
        lr = self.s.lr * self.step_scale()
        for layer, inp, d in ((self.circuit.layers[0], xa, d_hid), (self.circuit.layers[1], aa, d_out)):
            grad = inp[keep].T @ d[keep]  # summed over the batch: lr is per sample, as in pulse mode
            layer.write_weights(np.clip(layer.weights() - lr * grad, -layer.config.w_max, layer.config.w_max))
        self.counters["updates"] += int(keep.sum())

    def batch_slots(self, xa, aa, d_hid, d_out) -> list[Slot]:
        """The pulse slots of a batch (both layers, the configured rule; see :meth:`errors`), without the
        samples whose largest output error is below ``min_error``; counts the samples written."""
        slots: list[Slot] = []
        for b in range(len(xa)):
            if np.abs(d_out[b]).max() < self.s.min_error:
                continue
            self.counters["updates"] += 1
            pairs = [(0, xa[b], d_hid[b]), (1, aa[b], d_out[b])]
            if self.s.rule == "manhattan":
                slots += self.manhattan_slots(pairs)
            else:
                slots += self._stochastic(pairs)
        return slots

    def _pulse(self, xa, aa, d_hid, d_out) -> None:
        slots = self.batch_slots(xa, aa, d_hid, d_out)
        if slots:
            r = self.run_slots(slots)
            self.counters["cell_pulses"] += r.cell_pulses
            self.counters["slots"] += r.slots
            add_energy(self.counters, r)
            self.counters["transients"] += 1

    def run_slots(self, slots: list[Slot]) -> SlotResult:
        """Run ``slots`` in order as one transient (with the energy of every supply group, joules)."""
        return self.circuit.pulse_slots(slots, self.timing)

    def manhattan_slots(self, pairs) -> list[Slot]:
        """The SET and RESET slots of one sample under the Manhattan rule (:func:`~memcosim.trainers.pulse_rule.manhattan`):
        ``pairs`` is ``[(layer, layer input, layer error)]``; rows with input above ``x_threshold`` and columns
        with error above ``d_threshold`` of the largest are pulsed (columns fire with probability ``step_scale``)."""
        s = self.s
        fire = self.step_scale()
        set_sel, reset_sel = {}, {}
        for k, x, d in pairs:
            c = pulse_rule.manhattan(x, d, s.x_threshold, s.d_threshold, fire, self.rng)
            if c is not None:
                set_sel[k], reset_sel[k] = (c.rows, c.set_columns), (c.rows, c.reset_columns)
        return [Slot(s.set.amplitude, set_sel), Slot(s.reset.amplitude, reset_sel)]

    def _stochastic(self, pairs) -> list[Slot]:
        s = self.s
        dw = 0.5 * (self.dw[0] - self.dw[1])
        slots = []
        layers = [k for k, _, _ in pairs]
        draws = pulse_rule.stochastic([(x, d) for _, x, d in pairs], s.lr * self.step_scale(), dw, s.bl, self.rng)
        for per_layer in draws:
            slots += [Slot(s.set.amplitude, {k: (c.rows, c.set_columns) for k, c in zip(layers, per_layer)}),
                      Slot(s.reset.amplitude, {k: (c.rows, c.reset_columns) for k, c in zip(layers, per_layer)})]
        return slots
