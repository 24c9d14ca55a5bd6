"""On-chip training of a converted torch model with programming pulses (``PulseSGD``).

The weights live in the tiles. Per batch:

1. **forward in the circuit**: every :class:`~memcosim.nn.linear.CircuitLinear` reads its batch in ngspice on its
   tiles (``circuit`` mode), recording its DAC inputs ``x`` (batch, in, in [0, 1]) and its output;
2. **backward in torch**: the loss (``loss_fn``, summed over the batch) is differentiated through a
   straight-through path: each layer's output carries the circuit's value and the gradient of
   ``x W^T + b`` with ``W`` the weights the tiles hold now, so each layer gets its output error
   ``d = dL/dy`` (batch, out);
3. **update as pulses**: the digital biases take a plain SGD step (``bias_lr``); the weights change only by
   programming pulses: per sample the pulse-SGD rule of :mod:`memcosim.trainers.pulse_rule` (Manhattan: rows with
   ``x > x_threshold`` cross the columns with ``|d| > d_threshold max|d|``, one SET and one RESET slot) is cut
   into each tile's rows and column pairs (:class:`~memcosim.cosim.tile_map.TileMap`), and every tile runs the
   slots of the whole batch in one transient through its own programming drivers
   (:meth:`~memcosim.cosim.tiles.TiledLayer.pulse_slots`, all tiles of a layer in parallel across the workers);
   a sample whose largest output error is below ``min_error`` writes nothing;
4. the layers' torch weights are read back from the tiles' device states: ``W = (u+ - u-) w_scale`` with
   ``u = (G - g_min) / (g_max - g_min)`` and ``w_scale`` the layer's weight at a full window, frozen when the
   training starts (``weight_scale``: the programmed ``max |W|`` unless set).

:meth:`PulseSGD.save` writes one checkpoint (``.npz``, atomic): every tile's device state, the model's torch state
(biases, scales, ADC ranges), the step count and the settings; :meth:`PulseSGD.load` restores it, and training
goes on to the same result as without the interruption (the forward reads and the pulse transients are
deterministic; the rule draws nothing at ``fire = 1``).
"""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from memcosim import fields as f
from memcosim.config import renames, toml
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig
from memcosim.config.pulse import PulseConfig, check_slot_pair
from memcosim.cosim.layer import Slot, SlotTiming
from memcosim.cosim.tiles import TileSettings
from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_bytes
from memcosim.hardware_aware.deploy import ArraySettings
from memcosim.nn.convert import calibrate, circuit_layers, program, set_mode
from memcosim.nn.linear import CircuitLinear
from memcosim.trainers import pulse_rule

RULES = ("manhattan",)


@dataclass
class PulseSgdSettings:
    """Pulse SGD on the tiles (see the module text). ``set`` / ``reset``: the pulses at the selected cells
    (volts, seconds; both slots share one width and rise), ``gap`` seconds between slots;
    ``x_threshold`` (DAC units) / ``d_threshold`` (fraction of the sample's largest error): the Manhattan
    selection; ``fire``: probability that a selected column fires (1 = always); ``min_error``: samples whose
    largest output error is below it write nothing; ``bias_lr``: SGD step of the digital biases (per sample);
    ``weight_scale``: the weight at a full device window for every layer (0 = each layer's programmed
    ``max |W|``); ``logit_scale``: the default loss is the softmax cross-entropy of ``logit_scale * scores`` (a
    sharper softmax, so that wrong classes that score high get errors above ``d_threshold``); ``seed``: the
    rule's draws (``fire < 1``)."""

    rule: str = "manhattan"
    set: PulseConfig = field(default_factory=lambda: PulseConfig(0.59, 10e-9, 1e-9))
    reset: PulseConfig = field(default_factory=lambda: PulseConfig(-0.59, 10e-9, 1e-9))
    gap: float = 2e-9
    x_threshold: float = 0.5
    d_threshold: float = 0.3
    fire: float = 1.0
    min_error: float = 0.02
    bias_lr: float = 0.01
    weight_scale: float = 0.0
    logit_scale: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.rule = f.choice("pulse_sgd.rule", self.rule, RULES)
        check_slot_pair("pulse_sgd", self.set, self.reset)
        self.gap = f.number("pulse_sgd.gap", self.gap, low=0.0, unit="s")
        self.x_threshold = f.number("pulse_sgd.x_threshold", self.x_threshold, low=0.0, high=1.0)
        self.d_threshold = f.number("pulse_sgd.d_threshold", self.d_threshold, low=0.0, high=1.0)
        self.fire = f.number("pulse_sgd.fire", self.fire, low=0.0, high=1.0, low_open=True)
        self.min_error = f.number("pulse_sgd.min_error", self.min_error, low=0.0)
        self.bias_lr = f.number("pulse_sgd.bias_lr", self.bias_lr, low=0.0)
        self.weight_scale = f.number("pulse_sgd.weight_scale", self.weight_scale, low=0.0)
        self.logit_scale = f.number("pulse_sgd.logit_scale", self.logit_scale, low=0.0, low_open=True)
        self.seed = f.integer("pulse_sgd.seed", self.seed, 0)

    @property
    def timing(self) -> SlotTiming:
        """The slot shape of every pulse (width and rise of ``set``, ``gap``)."""
        return SlotTiming(self.set.width, self.set.rise, self.gap)


@dataclass
class StepResult:
    """One batch: summed loss (nats with the default loss), correct predictions of the circuit's forward, samples
    written, slots and cell pulses run (summed over tiles)."""

    loss: float
    correct: int
    written: int
    slots: int
    cell_pulses: int


def tile_slots(layer: CircuitLinear, coincidences: list[pulse_rule.Coincidence], settings: PulseSgdSettings
               ) -> dict[tuple[int, int], list[Slot]]:
    """The slots of ``coincidences`` (in order, each a SET and a RESET slot) cut into the layer's tiles: each tile
    gets the rows and physical columns it holds (padding unselected); slots that select nothing are left out."""
    tmap = layer.circuit.tiled.map
    out: dict[tuple[int, int], list[Slot]] = {}
    for spot in tmap.spots:
        rows_n, cols_n = tmap.rows, tmap.columns
        i0, i1 = spot.inputs.start, spot.inputs.stop
        c0, c1 = 2 * spot.outputs.start, 2 * spot.outputs.stop
        slots = []
        for c in coincidences:
            rows = np.zeros(rows_n, bool)
            rows[:i1 - i0] = c.rows[i0:i1]
            if not rows.any():
                continue
            for amplitude, columns in ((settings.set.amplitude, c.set_columns),
                                       (settings.reset.amplitude, c.reset_columns)):
                cols = np.zeros(cols_n, bool)
                cols[:c1 - c0] = columns[c0:c1]
                if cols.any():
                    slots.append(Slot(amplitude, {0: (rows, cols)}))
        if slots:
            out[spot.key] = slots
    return out


class PulseSGD:
    """Pulse SGD of a converted, programmed model (see the module text): ``step(x, y)`` per batch.

    ``model``: made by :func:`~memcosim.nn.convert.convert_to_circuit`, calibrated and programmed
    (:func:`~memcosim.nn.convert.program`) on tiles of a device model with programming drivers (resistor
    cells cannot be pulsed). ``loss_fn(scores, labels)``: summed over the batch (default softmax
    cross-entropy of ``settings.logit_scale * scores``)."""

    def __init__(self, model: nn.Module, settings: PulseSgdSettings | None = None,
                 loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None):
        self.model = model
        self.settings = settings or PulseSgdSettings()
        if not isinstance(self.settings, PulseSgdSettings):
            raise ConfigError("settings", f"must be a PulseSgdSettings, got {type(self.settings).__name__}")
        self.layers = circuit_layers(model)
        if not self.layers:
            raise ConfigError("model", "has no CircuitLinear layer: convert it with convert_to_circuit first")
        for layer in self.layers:
            if layer.circuit is None:
                raise ConfigError("model", f"layer {layer.layer} has no tiles: program the model first "
                                           "(memcosim.nn.program)")
            if not layer.circuit.tiled.device.has_state:
                raise ConfigError("arrays.device.model", "resistor cells cannot be pulsed: use a device model")
        scale = self.settings.logit_scale
        self.loss_fn = loss_fn or (lambda s, y: nn.functional.cross_entropy(scale * s, y, reduction="sum"))
        self.rng = np.random.default_rng(self.settings.seed)
        self.steps = 0
        self.counters = {"samples": 0, "written": 0, "slots": 0, "cell_pulses": 0}
        for layer in self.layers:
            if float(layer.weight_scale) == 0:
                scale = self.settings.weight_scale or float(layer.weight.detach().abs().max().clamp_min(1e-12))
                layer.weight_scale.fill_(scale)
        self.sync_weights()

    # -- weights -------------------------------------------------------------------------------
    @torch.no_grad()
    def sync_weights(self) -> None:
        """Every layer's torch weights from its tiles' device states: ``(u+ - u-) * weight_scale``."""
        for layer in self.layers:
            u = layer.circuit.tiled.weights()  # inputs x outputs: (G+ - G-) / (g_max - g_min)
            layer.weight.copy_(torch.as_tensor(u.T * float(layer.weight_scale), dtype=layer.weight.dtype))

    # -- one batch -----------------------------------------------------------------------------
    def step(self, x: torch.Tensor, y: torch.Tensor) -> StepResult:
        """Forward in the circuit, backward in torch, pulses in the tiles, for one batch ``x`` (batch, features)
        with labels ``y`` (batch,)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.long)
        if len(x) != len(y):
            raise ConfigError("y", f"{len(y)} labels for {len(x)} samples")
        s = self.settings
        set_mode(self.model, "circuit")
        training = self.model.training
        self.model.eval()
        for layer in self.layers:
            layer.recording, layer.recorded = True, None
            layer.zero_grad(set_to_none=True)
        try:
            scores = self.model(x)
            loss = self.loss_fn(scores, y)
            loss.backward()
        finally:
            for layer in self.layers:
                layer.recording = False
            self.model.train(training)
        errors = [(layer, layer.recorded[0].numpy().astype(float), layer.recorded[1].grad.numpy().astype(float))
                  for layer in self.layers]
        with torch.no_grad():
            for layer in self.layers:
                if layer.bias.requires_grad and layer.bias.grad is not None:
                    layer.bias -= s.bias_lr * layer.bias.grad
        d_out = errors[-1][2]
        keep = np.abs(d_out).max(axis=1) >= s.min_error
        slots = pulses = 0
        for layer, xs, ds in errors:
            coincidences = []
            for b in np.flatnonzero(keep):
                c = pulse_rule.manhattan(xs[b], ds[b], s.x_threshold, s.d_threshold, s.fire, self.rng)
                if c is not None:
                    coincidences.append(c)
            per_tile = tile_slots(layer, coincidences, s)
            if per_tile:
                results = layer.circuit.tiled.pulse_slots(per_tile, s.timing)
                slots += sum(r.slots for r in results.values())
                pulses += sum(r.cell_pulses for r in results.values())
        self.sync_weights()
        for layer in self.layers:
            layer.recorded = None
        self.steps += 1
        correct = int((scores.detach().argmax(dim=1) == y).sum())
        self.counters["samples"] += len(x)
        self.counters["written"] += int(keep.sum())
        self.counters["slots"] += slots
        self.counters["cell_pulses"] += pulses
        return StepResult(float(loss.detach()), correct, int(keep.sum()), slots, pulses)

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """One checkpoint (``.npz``, written atomically): every tile's device state, the model's torch state, the
        step count, counters, the rule's RNG, the settings and ``extra`` (JSON-able: e.g. the data position)."""
        arrays: dict[str, np.ndarray] = {}
        for k, layer in enumerate(self.layers):
            for (r, c), state in layer.circuit.tiled.states().items():
                arrays[f"layer{k}_tile_{r}_{c}"] = state
        buf = io.BytesIO()
        torch.save(self.model.state_dict(), buf)
        arrays["torch_state"] = np.frombuffer(buf.getvalue(), dtype=np.uint8)
        meta = {"steps": self.steps, "counters": self.counters, "rng": self.rng.bit_generator.state,
                "settings": dataclasses.asdict(self.settings), "extra": extra or {}}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        out = io.BytesIO()
        np.savez(out, **arrays)
        return atomic_write_bytes(path, out.getvalue())

    def load(self, path: str | Path) -> dict:
        """Restore a checkpoint of :meth:`save` (checked before anything changes); returns its ``extra``."""
        try:
            data = np.load(path)
            meta = json.loads(bytes(data["meta"]).decode())
            state = torch.load(io.BytesIO(bytes(data["torch_state"])), weights_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError("checkpoint", f"cannot read a pulse-SGD checkpoint from {path}: {exc}") from None
        if meta["settings"] != dataclasses.asdict(self.settings):
            raise ConfigError("checkpoint", f"{path} was written with other pulse-SGD settings")
        tiles = []
        for k, layer in enumerate(self.layers):
            keys = layer.circuit.tiled.specs
            tiles.append({key: data[f"layer{k}_tile_{key[0]}_{key[1]}"] for key in keys
                          if f"layer{k}_tile_{key[0]}_{key[1]}" in data})
            if len(tiles[-1]) != len(keys):
                raise ConfigError("checkpoint", f"{path}: layer {k} has {len(tiles[-1])} tiles, the model {len(keys)}")
        self.model.load_state_dict(state)
        for layer, states in zip(self.layers, tiles):
            layer.circuit.tiled.set_states(states, f"{path}: ")
        self.steps = int(meta["steps"])
        self.counters = dict(meta["counters"])
        self.rng.bit_generator.state = meta["rng"]
        self.sync_weights()
        return meta["extra"]


def default_device() -> DeviceConfig:
    """vteam with the Kvatinsky window and exponential R(state) (the ``[sgd]`` device: its SET and RESET steps
    are close in the upper part of its range), in a window from 5 % of the preset's range to its top (siemens):
    above the bottom, where a SET pulse barely moves the conductance."""
    p = get_preset("vteam")
    return DeviceConfig("vteam", {"iv": 1, "wtype": 3}, g_min=p.g_low + 0.05 * (p.g_high - p.g_low),
                        g_max=p.g_high)


@dataclass
class PulseRunConfig:
    """A pulse-SGD run of an MLP ``inputs - hidden - classes`` converted onto tiles (``configs/nn_pulse_*.toml``).

    ``dataset``: a built-in name or ``.npz`` file (see :func:`~memcosim.trainers.datasets.load_dataset`);
    ``hidden``: hidden units (ReLU); ``arrays``: the tiles (:class:`~memcosim.hardware_aware.deploy.ArraySettings`:
    ``size`` x ``size`` arrays of ``device``, a model with a state; ``wires``, ``dac``, ``adc``); ``weight_headroom``: each layer's weight at a full window is this many times its
    initial ``max |W|`` (room to grow); ``adc_headroom``: the calibrated ADC full scale times this (room for the
    column sums to grow); ``batch_size`` samples per update (their slots in one transient per tile),
    ``epochs``; ``seed``: data split, initial weights and the order of the samples; ``workers``: local ngspice
    worker processes per layer; ``pulse_sgd``: the rule and its pulses."""

    dataset: str = "mnist"
    hidden: int = 64
    arrays: ArraySettings = field(default_factory=lambda: ArraySettings(
        size=64, device=default_device(), wires=WireConfig.uniform(2.5), dac=DacConfig(bits=8, r_out=1.0),
        adc=AdcConfig(bits=6)))
    weight_headroom: float = 4.0
    adc_headroom: float = 2.0
    batch_size: int = 10
    epochs: int = 1
    seed: int = 0
    workers: int = 1
    pulse_sgd: PulseSgdSettings = field(default_factory=PulseSgdSettings)

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError("dataset", f"must be a dataset name or .npz path, got {self.dataset!r}")
        self.hidden = f.integer("hidden", self.hidden, 1)
        self.weight_headroom = f.number("weight_headroom", self.weight_headroom, low=1.0)
        self.adc_headroom = f.number("adc_headroom", self.adc_headroom, low=1.0)
        self.batch_size = f.integer("batch_size", self.batch_size, 1)
        self.epochs = f.integer("epochs", self.epochs, 1)
        self.seed = f.integer("seed", self.seed, 0)
        self.workers = f.integer("workers", self.workers, 0)
        for name, cls in (("arrays", ArraySettings), ("pulse_sgd", PulseSgdSettings)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(name, f"must be a {cls.__name__}, got {getattr(self, name)!r}")
        if self.arrays.device.resistor:
            raise ConfigError("arrays.device.model", "resistor cells cannot be pulsed: choose a device model")


def load_pulse_run(path: str | Path) -> PulseRunConfig:
    """Read a pulse-SGD run TOML file; errors name the file, the key and its line (old flat array keys are read
    into ``[arrays]`` with a warning)."""
    return toml.load(path, PulseRunConfig, renames.NN_PULSE)


def prepare(model: nn.Module, x_calibration: torch.Tensor, weight_headroom: float = 1.0, adc_headroom: float = 1.0,
            tiles: TileSettings | None = None) -> None:
    """Make a converted ``model`` ready for :class:`PulseSGD`: freeze each layer's weight at a full window at
    ``weight_headroom`` times its ``max |W|``, calibrate the converters on ``x_calibration`` (ADC full scale times
    ``adc_headroom``) and program the weights into the tiles (ideal writes)."""
    layers = circuit_layers(model)
    if not layers:
        raise ConfigError("model", "has no CircuitLinear layer: convert it with convert_to_circuit first")
    f.number("weight_headroom", weight_headroom, low=1.0)
    f.number("adc_headroom", adc_headroom, low=1.0)
    with torch.no_grad():
        for layer in layers:
            layer.weight_scale.fill_(weight_headroom * float(layer.weight.abs().max().clamp_min(1e-12)))
    calibrate(model, x_calibration)
    with torch.no_grad():
        for layer in layers:
            layer.adc_full_scale.mul_(adc_headroom)
    program(model, tiles=tiles)
