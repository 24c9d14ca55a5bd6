"""``convert_to_circuit``: put a torch model's linear layers onto crossbar tiles (as aihwkit's ``convert_to_analog``).

The flow: train a torch model as usual, ``convert_to_circuit(model, arrays)`` (every ``torch.nn.Linear``
becomes a :class:`~memcosim.nn.linear.CircuitLinear` with its weights, numbered in the order of
``model.modules()``), :func:`calibrate` the converter ranges on training inputs, fine-tune in the
``hardware`` mode with the usual torch loop (re-calibrating now and then), then :func:`program` the
weights into the tiles and evaluate in the ``circuit`` mode (ngspice). :func:`set_mode` switches every
converted layer; :func:`close` releases the tiles' ngspice sessions.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from torch import nn

from memcosim.cosim.tiles import TileSettings
from memcosim.errors import ConfigError
from memcosim.hardware_aware.deploy import ArraySettings, hardware_for
from memcosim.hardware_aware.model import HardwareConfig
from memcosim.nn.linear import MODES, CircuitLinear
from memcosim.nn.tiles import LayerTiles


def circuit_layers(model: nn.Module) -> list[CircuitLinear]:
    """The CircuitLinear layers of ``model`` in the order of ``model.modules()``."""
    return [m for m in model.modules() if isinstance(m, CircuitLinear)]


def _linear_children(module: nn.Module) -> Iterator[tuple[nn.Module, str, nn.Linear]]:
    for name, child in module.named_children():
        if isinstance(child, nn.Linear):
            yield module, name, child
        else:
            yield from _linear_children(child)


def convert_to_circuit(model: nn.Module, arrays: ArraySettings, hardware: HardwareConfig | None = None,
                       inplace: bool = False) -> nn.Module:
    """``model`` (a copy unless ``inplace``) with every ``torch.nn.Linear`` replaced by a
    :class:`~memcosim.nn.linear.CircuitLinear` holding the same weights and bias, in ``float`` mode.

    ``arrays``: the tiles (``size`` x ``size`` arrays: ``size`` inputs and ``size / 2`` signed outputs per
    tile), their device window, wires and periphery. ``hardware``: the torch hardware model (conductance
    levels, noise, faults, seed); default :func:`~memcosim.hardware_aware.deploy.hardware_for` ``(arrays)``.
    Its window, converters and tile rows must be those of ``arrays``."""
    if not isinstance(model, nn.Module):
        raise ConfigError("model", f"must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(arrays, ArraySettings):
        raise ConfigError("arrays", f"must be an ArraySettings, got {type(arrays).__name__}")
    hw = hardware_for(arrays) if hardware is None else hardware
    if not isinstance(hw, HardwareConfig):
        raise ConfigError("hardware", f"must be a HardwareConfig, got {type(hw).__name__}")
    if hw.tile_rows != arrays.size:
        raise ConfigError("hardware.tile_rows", f"is {hw.tile_rows}, the arrays have {arrays.size} rows: "
                                                "build the hardware model with hardware_for(arrays, ...)")
    out = model if inplace else copy.deepcopy(model)
    if isinstance(out, nn.Linear):
        raise ConfigError("model", "is a bare nn.Linear: wrap it (nn.Sequential(linear)) so it can be replaced")
    found = list(_linear_children(out))
    if not found:
        raise ConfigError("model", "has no torch.nn.Linear layer to put on tiles")
    for k, (parent, name, linear) in enumerate(found):
        setattr(parent, name, CircuitLinear.from_linear(linear, hw, layer=k))
    out.circuit_arrays = arrays  # what program() builds the tiles from
    return out


def set_mode(model: nn.Module, mode: str) -> None:
    """Every CircuitLinear of ``model`` to ``mode`` (``float``, ``hardware`` or ``circuit``)."""
    layers = circuit_layers(model)
    if not layers:
        raise ConfigError("model", "has no CircuitLinear layer: convert it with convert_to_circuit first")
    if mode not in MODES:
        raise ConfigError("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    for layer in layers:
        layer.set_mode(mode)


@contextmanager
def _one_pass(model: nn.Module, layers: list[CircuitLinear], mode: str, flag: str) -> Iterator[None]:
    """The model in eval mode with every layer in ``mode`` and its boolean ``flag`` set, for one pass; the
    layers' modes, the flag and the model's training state are restored afterwards."""
    modes = [layer.mode for layer in layers]
    training = model.training
    model.eval()
    try:
        for layer in layers:
            layer.set_mode(mode)
            setattr(layer, flag, True)
        yield
    finally:
        for layer, old in zip(layers, modes):
            setattr(layer, flag, False)
            layer.set_mode(old)
        model.train(training)


@torch.no_grad()
def calibrate(model: nn.Module, x: torch.Tensor) -> None:
    """Input scales and ADC full scales of every CircuitLinear from one forward pass of the inputs ``x``
    (deterministic: no noise), layer by layer in the hardware mode, so that each layer is calibrated on
    what the converted layers before it output. The layers' modes are restored afterwards."""
    with _one_pass(model, circuit_layers(model), "hardware", "calibrating"):
        model(x)


def program(model: nn.Module, x_correction: torch.Tensor | None = None, tiles: TileSettings | None = None) -> dict:
    """Program every CircuitLinear's weights into its tiles (a :class:`~memcosim.cosim.tiles.TiledLayer` per
    layer; ideal writes of the target conductances, stuck devices at their stuck conductance, with the hardware
    model's seeded variation) and, with calibration inputs ``x_correction``, measure each layer's mapping-aware
    bias correction in the circuit (layer by layer, toward the hardware model's output; used in the circuit
    mode only). ``tiles``: where the tile sessions run (``workers``, ``scheduler``; rows and columns are the
    arrays' ``size``); default one local worker process per layer. Calling it again (after more training)
    closes the old tiles and programs new ones. Returns what it cost. Modes are left as they were."""
    layers = circuit_layers(model)
    if not layers:
        raise ConfigError("model", "has no CircuitLinear layer: convert it with convert_to_circuit first")
    arrays = getattr(model, "circuit_arrays", None)
    if not isinstance(arrays, ArraySettings):
        raise ConfigError("model", "was not made by convert_to_circuit (it holds no circuit_arrays)")
    if tiles is not None and not isinstance(tiles, TileSettings):
        raise ConfigError("tiles", f"must be a TileSettings, got {type(tiles).__name__}")
    close(model)
    rng = np.random.default_rng([layers[0].hw.seed, 17])
    for layer in layers:
        layer.circuit = LayerTiles(layer, arrays, tiles or TileSettings())
        layer.circuit.program(rng)
        layer.circuit_correction.zero_()
    if x_correction is not None:
        with _one_pass(model, layers, "circuit", "correcting"), torch.no_grad():
            model(x_correction)
    return cost(model)


def cost(model: nn.Module) -> dict:
    """The tiles' ngspice work so far, summed over layers: seconds (netlists, writes, reads), operating points."""
    total = {"tiles": 0, "build_seconds": 0.0, "program_seconds": 0.0, "read_seconds": 0.0, "operating_points": 0}
    for layer in circuit_layers(model):
        if layer.circuit is None:
            continue
        c = layer.circuit.cost
        total["tiles"] += len(layer.circuit.tiles)
        total["build_seconds"] += c.build_seconds
        total["program_seconds"] += c.program_seconds
        total["read_seconds"] += c.read_seconds
        total["operating_points"] += c.operating_points
    return total


def close(model: nn.Module) -> None:
    """Release every layer's tiles (their worker processes); the layers fall back to the hardware mode."""
    for layer in circuit_layers(model):
        if layer.circuit is not None:
            layer.circuit.close()
            layer.circuit = None
            if layer.mode == "circuit":
                layer.set_mode("hardware")
