"""Hardware-aware torch layers: a linear layer as the crossbar computes it, for training and for deployment.

After Joksas et al. 2021 (non-ideality-aware training) and Diware et al. 2024 (mapping-aware
training). A :class:`HwLinear` weight matrix ``W`` (outputs x inputs) is seen by the hardware as:

* **mapping**: ``W / w_max`` (``w_max`` = the layer's largest ``|W|``) onto a differential column
  pair, the positive part on the plus device and the negative part on the minus device, the other
  device of the pair at ``g_min``. Conductances are handled in units of the window
  ``g_max - g_min`` above ``g_min``: ``u = (G - g_min) / (g_max - g_min)`` in [0, 1].
* **fake quantization** of ``u`` to the device's ``2**weight_bits`` equally spaced conductance levels
  (straight-through gradient), so a device takes exactly that many conductances.
* **stuck-at faults**: a fraction ``fault_rate`` of the devices, drawn from ``seed``, stuck at
  ``g_max`` (ON, share ``stuck_on_share``) or ``g_min`` (OFF); see :func:`fault_masks`.
* **conductance variation** (lognormal, sigma ``variation``, multiplicative on G) and **read noise**
  (normal, sigma ``read_noise`` relative to the column current), redrawn at each training forward.
* **DAC**: inputs clamped to [0, 1] (row voltage 0 .. v_read) and quantized to ``dac.bits``.
* **ADC**: each physical column's current, in units of ``v_read * (g_max - g_min)`` (a "column sum"),
  clamped to [0, ``adc_range``] and quantized to ``adc.bits``; the signed output is plus minus minus,
  as in a crossbar with one TIA and ADC per column (``memcosim.circuits.crossbar``, differential).
* **tiles**: inputs beyond ``tile_rows`` go to further arrays; each array's column sums are converted
  by its own ADCs and the partial results are added digitally.
* **bias**: digital, after the ADC; :meth:`HwLinear.correct_bias` folds the mean mapping error measured
  on calibration inputs (mapping-aware bias correction).

A network made of such layers trains plainly (``hardware=False``: float weights, no non-idealities)
or hardware-aware (``hardware=True``); both deploy the same way (:mod:`memcosim.hardware_aware.deploy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from memcosim import fields as f
from memcosim.config.array import RESISTOR, DeviceConfig
from memcosim.config.periphery import AdcConfig, DacConfig, refuse_range
from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError


def stuck_conductances(device: DeviceConfig, field: str = "device.model") -> tuple[float, float]:
    """(stuck OFF, stuck ON) conductance of a cell of ``device`` (siemens): a resistor cell's window ``g_min`` /
    ``g_max``; a device model's state bounds, its preset's ``g_min`` / ``g_max`` (outside the programming window).
    The stuck conductances of the circuit's fault injection are :class:`~memcosim.config.faults.FaultConfig`'s
    ``g_on`` / ``g_off``; the deployment sets them to these."""
    if device.resistor:
        return device.g_min, device.g_max
    try:
        preset = get_preset(device.model)
    except ConfigError as exc:
        raise ConfigError(field, exc.message) from None
    return preset.g_min, preset.g_max


@dataclass
class HardwareConfig:
    """What the hardware does to a layer (siemens, volts; relative spreads are fractions).

    ``device``: its ``g_min`` / ``g_max`` are the conductance window (S); ``weight_bits``: the device has
    ``2**weight_bits`` conductance levels in it; ``variation``: lognormal sigma of a programmed
    conductance; ``read_noise``: normal sigma of a column current relative to it; ``fault_rate``:
    fraction of stuck devices, ``stuck_on_share`` of them at ``g_max``; ``dac`` / ``adc``: the
    converters (their ``bits``); ``adc_quantile``: the ADC full scale is set to this quantile of the
    column sums seen on calibration (or training) data (``adc_fit = "quantile"``), or, with ``adc_fit =
    "mse"``, to the scale at or below it whose ``adc.bits`` codes reproduce the calibration column sums with
    the least mean squared error (:func:`fit_adc_full_scale`); ``tile_rows``: rows of one array; ``seed``: the
    fault map and every noise draw. A stuck device holds :func:`stuck_conductances` of ``device``
    (:attr:`g_stuck_on`, :attr:`g_stuck_off`), as in the deployed arrays.
    """

    device: DeviceConfig = field(default_factory=lambda: DeviceConfig(RESISTOR, g_min=1e-6, g_max=2e-5))
    weight_bits: int = 4
    variation: float = 0.0
    read_noise: float = 0.0
    fault_rate: float = 0.0
    stuck_on_share: float = 0.5
    dac: DacConfig = field(default_factory=lambda: DacConfig(bits=8))
    adc: AdcConfig = field(default_factory=lambda: AdcConfig(bits=6))
    adc_quantile: float = 0.999
    adc_fit: str = "quantile"
    tile_rows: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        for name, cls in (("device", DeviceConfig), ("dac", DacConfig), ("adc", AdcConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"hardware.{name}", f"must be a {cls.__name__}, got {getattr(self, name)!r}")
        refuse_range(self.dac, "hardware.dac", "the inputs (0 .. 1 is 0 V .. v_read)")
        refuse_range(self.adc, "hardware.adc", "hardware.adc_quantile of the calibration column sums")
        if not self.device.g_min > 0:
            raise ConfigError("hardware.device.g_min", f"must be > 0 S, got {self.device.g_min}")
        if not self.device.g_max > self.device.g_min:
            raise ConfigError("hardware.device.g_max", f"must be > g_min ({self.device.g_min} S), got {self.device.g_max}")
        self.weight_bits = f.integer("hardware.weight_bits", self.weight_bits, 1, 12)
        self.variation = f.number("hardware.variation", self.variation, low=0.0, high=2.0)
        self.read_noise = f.number("hardware.read_noise", self.read_noise, low=0.0, high=1.0)
        self.fault_rate = f.number("hardware.fault_rate", self.fault_rate, low=0.0, high=1.0)
        self.stuck_on_share = f.number("hardware.stuck_on_share", self.stuck_on_share, low=0.0, high=1.0)
        self.adc_quantile = f.number("hardware.adc_quantile", self.adc_quantile, low=0.5, high=1.0)
        self.adc_fit = f.choice("hardware.adc_fit", self.adc_fit, ADC_FITS)
        self.tile_rows = f.integer("hardware.tile_rows", self.tile_rows, 1)
        self.seed = f.integer("hardware.seed", self.seed, 0)

    @property
    def g_stuck_on(self) -> float:
        """Conductance of a device stuck ON (siemens): see :func:`stuck_conductances`."""
        return stuck_conductances(self.device, "hardware.device.model")[1]

    @property
    def g_stuck_off(self) -> float:
        """Conductance of a device stuck OFF (siemens): see :func:`stuck_conductances`."""
        return stuck_conductances(self.device, "hardware.device.model")[0]

    @property
    def levels(self) -> int:
        """Conductance levels of one device: 2**weight_bits."""
        return 1 << self.weight_bits

    def window_units(self, g: float) -> float:
        """Conductance ``g`` (S) in units of the window above g_min."""
        return (g - self.device.g_min) / (self.device.g_max - self.device.g_min)

    @property
    def g_offset(self) -> float:
        """``g_min`` in units of the window ``g_max - g_min``."""
        return self.device.g_min / (self.device.g_max - self.device.g_min)


# -- straight-through quantizers ---------------------------------------------------------------

class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.floor(x + 0.5)  # round half up, like the periphery's converters

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad


def fake_quantize(u: torch.Tensor, levels: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """``u`` clamped to [low, high] and rounded to ``levels`` equally spaced values (straight-through gradient
    inside the range, zero outside)."""
    if levels < 2:
        raise ConfigError("levels", f"a quantizer needs at least 2 levels, got {levels}")
    step = (high - low) / (levels - 1)
    c = torch.clamp(u, low, high)
    return low + _RoundSTE.apply((c - low) / step) * step


ADC_FITS = ("quantile", "mse")  # how a calibration sets an ADC full scale (HardwareConfig.adc_fit)
ADC_FIT_STEPS = 48  # candidate full scales of the "mse" fit, from 1/ADC_FIT_STEPS of the quantile up to it
ADC_HEADROOM = 0.02  # the ADC range reaches this fraction of full scale beyond zero current (cosim/layer.py)


def adc_quantize(s: torch.Tensor, full_scale: torch.Tensor | float, bits: int, headroom: float = ADC_HEADROOM) -> torch.Tensor:
    """Column sums ``s`` as a column ADC returns them: the TIA maps ``s = full_scale`` to -1 V, the ADC spans
    [-1 V, headroom V] in ``2**bits`` codes (round half up); clamped outside (straight-through inside)."""
    levels = 1 << bits
    lsb = (1.0 + headroom) / (levels - 1)
    v = torch.clamp(1.0 - s / full_scale, 0.0, 1.0 + headroom)  # (volts + 1) at the ADC input
    return full_scale * (1.0 - _RoundSTE.apply(v / lsb) * lsb)


@torch.no_grad()
def fit_adc_full_scale(sums: torch.Tensor, hw: HardwareConfig) -> torch.Tensor:
    """The ADC full scale (a column sum) of one tile from its calibration column sums ``sums`` (batch, 2,
    outputs; plus and minus column of every output): their ``hw.adc_quantile``, or with ``hw.adc_fit = "mse"``
    the one of :data:`ADC_FIT_STEPS` scales from ``quantile / ADC_FIT_STEPS`` to the quantile whose
    ``hw.adc.bits`` codes give the least mean squared error of the signed outputs (plus minus minus): few bits
    favour a smaller range (less rounding, some clipping), many bits the whole range."""
    top = torch.quantile(sums.flatten().float()[: 1 << 24], hw.adc_quantile).clamp_min(1e-6)
    if hw.adc_fit == "quantile":
        return top
    signed = sums[:, 0] - sums[:, 1]
    best, best_error = top, math.inf
    for k in range(ADC_FIT_STEPS, 0, -1):
        scale = top * k / ADC_FIT_STEPS
        q = adc_quantize(sums, scale, hw.adc.bits)
        error = float(((q[:, 0] - q[:, 1]) - signed).square().mean())
        if error < best_error:
            best, best_error = scale, error
    return best


def fault_masks(shape: tuple[int, ...], rate: float, on_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (stuck ON, stuck OFF) masks: each device is faulty with probability ``rate``, a faulty one ON
    with probability ``on_share``. Same seed, same masks."""
    rng = np.random.default_rng(seed)
    faulty = rng.random(shape) < rate
    on = rng.random(shape) < on_share
    return faulty & on, faulty & ~on


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


# -- the layer ----------------------------------------------------------------------------------

class HwLinear(nn.Module):
    """A linear layer mapped onto crossbar tiles (see the module text). ``layer`` indexes it in its network
    (its fault map is drawn from ``seed + layer``)."""

    def __init__(self, inputs: int, outputs: int, hw: HardwareConfig, layer: int = 0, init_seed: int = 0):
        super().__init__()
        self.inputs, self.outputs, self.hw, self.layer = int(inputs), int(outputs), hw, int(layer)
        g = _generator(init_seed * 1009 + layer)
        bound = 1.0 / math.sqrt(inputs)
        self.weight = nn.Parameter((torch.rand(outputs, inputs, generator=g) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(outputs, generator=g) * 2 - 1) * bound)
        self.register_buffer("adc_full_scale", torch.ones(self.tiles))  # column sums, per tile
        self.register_buffer("bias_correction", torch.zeros(outputs))
        self.hardware = False
        self.set_faults(hw.fault_rate, hw.seed)

    @property
    def tiles(self) -> int:
        return -(-self.inputs // self.hw.tile_rows)

    def tile_slices(self) -> list[slice]:
        """Input ranges of each tile (array)."""
        r = self.hw.tile_rows
        return [slice(k * r, min((k + 1) * r, self.inputs)) for k in range(self.tiles)]

    def set_faults(self, rate: float, seed: int) -> None:
        """Draw the stuck-at map (plus and minus device of every weight) at ``rate`` from ``seed``."""
        shape = (2, self.outputs, self.inputs)
        on, off = fault_masks(shape, rate, self.hw.stuck_on_share, seed * 7919 + self.layer)
        self.register_buffer("stuck_on", torch.from_numpy(on), persistent=False)
        self.register_buffer("stuck_off", torch.from_numpy(off), persistent=False)

    def draw_faults(self, noise: torch.Generator) -> None:
        """A fresh random stuck-at map at the configured rate (training: a new map every batch)."""
        shape = (2, self.outputs, self.inputs)
        faulty = torch.rand(shape, generator=noise) < self.hw.fault_rate
        on = torch.rand(shape, generator=noise) < self.hw.stuck_on_share
        self.stuck_on, self.stuck_off = faulty & on, faulty & ~on

    # -- mapping -----------------------------------------------------------------------------
    def w_max(self) -> torch.Tensor:
        """The weight that maps to a full window (g_max - g_min) on one device (detached)."""
        return self.weight.detach().abs().max().clamp_min(1e-12)

    def window_units(self, quantize: bool = True, faults: bool = True) -> torch.Tensor:
        """Device conductances above g_min in window units, shape (2, outputs, inputs): [plus, minus]."""
        wn = self.weight / self.w_max()
        u = torch.stack([torch.relu(wn), torch.relu(-wn)])
        if quantize:
            u = fake_quantize(u, self.hw.levels)
        if faults:
            u = torch.where(self.stuck_on, torch.full_like(u, self.hw.window_units(self.hw.g_stuck_on)), u)
            u = torch.where(self.stuck_off, torch.full_like(u, self.hw.window_units(self.hw.g_stuck_off)), u)
        return u

    def conductances(self, faults: bool = True) -> np.ndarray:
        """Target device conductances (siemens), shape (2, outputs, inputs): what deployment programs."""
        with torch.no_grad():
            u = self.window_units(True, faults).numpy().astype(float)
        return self.hw.device.g_min + u * (self.hw.device.g_max - self.hw.device.g_min)

    # -- forward -----------------------------------------------------------------------------
    def column_sums(self, x: torch.Tensor, noise: torch.Generator | None = None) -> list[torch.Tensor]:
        """Per tile, the physical column sums (batch, 2, outputs) before the ADC, DAC applied to ``x``."""
        hw = self.hw
        xq = fake_quantize(x, 1 << hw.dac.bits)
        g = self.window_units() + hw.g_offset
        if noise is not None and hw.variation > 0:
            g = g * torch.exp(torch.randn(g.shape, generator=noise) * hw.variation)
        sums = []
        for sl in self.tile_slices():
            s = torch.einsum("bi,koi->bko", xq[:, sl], g[:, :, sl])
            if noise is not None and hw.read_noise > 0:
                s = s * (1 + torch.randn(s.shape, generator=noise) * hw.read_noise)
            sums.append(s)
        return sums

    def forward(self, x: torch.Tensor, noise: torch.Generator | None = None, input_scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        """Float: ``x W^T + b``. Hardware: ``x`` are DAC inputs in [0, 1] standing for ``x * input_scale``."""
        if not self.hardware:
            return x @ self.weight.t() + self.bias
        return self.from_column_sums(self.column_sums(x, noise), input_scale)

    def digital(self, signed_sums: torch.Tensor, input_scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        """Signed column sums (plus minus minus, added over tiles) back to weight units, plus the digital bias."""
        return signed_sums * (self.w_max() * input_scale) + self.bias + self.bias_correction

    def from_column_sums(self, sums: list[torch.Tensor], input_scale: float | torch.Tensor = 1.0) -> torch.Tensor:
        """ADC conversion of each tile's column sums, plus minus minus, added over tiles, then :meth:`digital`."""
        out = 0.0
        for k, s in enumerate(sums):
            q = adc_quantize(s, self.adc_full_scale[k], self.hw.adc.bits)
            out = out + (q[:, 0] - q[:, 1])
        return self.digital(out, input_scale)

    @torch.no_grad()
    def calibrate_adc(self, x: torch.Tensor) -> None:
        """Set each tile's ADC full scale from the column sums over inputs ``x`` (:func:`fit_adc_full_scale`)."""
        for k, s in enumerate(self.column_sums(x)):
            self.adc_full_scale[k] = fit_adc_full_scale(s, self.hw)

    @torch.no_grad()
    def correct_bias(self, x: torch.Tensor, measured: torch.Tensor, input_scale: float | torch.Tensor = 1.0,
                     intended: torch.Tensor | None = None) -> torch.Tensor:
        """Mapping-aware bias correction: fold the mean of (``intended`` output - ``measured`` hardware output)
        over calibration DAC inputs ``x`` into the digital bias; returns the correction added. ``intended``
        defaults to the float layer's output."""
        ideal = (x * input_scale) @ self.weight.t() + self.bias if intended is None else intended
        delta = (ideal - measured).mean(dim=0)
        self.bias_correction += delta
        return delta


class HwNetwork(nn.Module):
    """A multilayer perceptron of :class:`HwLinear` layers with ReLU between them.

    Every layer's input is scaled into the DAC range [0, 1] by ``input_scale`` (features of the first
    layer are already in [0, 1]; hidden activations are divided by a calibrated full scale) and clamped.
    """

    def __init__(self, sizes: list[int], hw: HardwareConfig, init_seed: int = 0):
        super().__init__()
        if len(sizes) < 2:
            raise ConfigError("network.sizes", f"needs at least inputs and outputs, got {sizes}")
        self.sizes = list(sizes)
        self.hw = hw
        self.layers = nn.ModuleList(HwLinear(a, b, hw, k, init_seed) for k, (a, b) in enumerate(zip(sizes, sizes[1:])))
        self.register_buffer("input_scale", torch.ones(len(self.layers)))

    def set_hardware(self, on: bool) -> None:
        for layer in self.layers:
            layer.hardware = bool(on)

    @property
    def hardware(self) -> bool:
        return self.layers[0].hardware

    def layer_input(self, k: int, h: torch.Tensor) -> torch.Tensor:
        """Activation ``h`` entering layer ``k`` as DAC input in [0, 1] (hardware) or as is (float)."""
        if not self.hardware:
            return h
        return torch.clamp(h / self.input_scale[k], 0.0, 1.0)

    def forward(self, x: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        h = x
        for k, layer in enumerate(self.layers):
            h = layer(self.layer_input(k, h), noise, self.input_scale[k])
            if k < len(self.layers) - 1:
                h = torch.relu(h)
        return h

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor) -> None:
        """Hidden-activation full scales and ADC full scales from inputs ``x`` (deterministic: no noise).

        Layer by layer: the hardware forward up to layer k sets the activation scale of layer k and its
        ADC full scales, so later layers see the converted outputs of earlier ones."""
        was = self.hardware
        self.set_hardware(True)
        h = x
        for k, layer in enumerate(self.layers):
            if k > 0:
                self.input_scale[k] = torch.quantile(h.flatten(), self.hw.adc_quantile).clamp_min(1e-6)
                h = torch.clamp(h / self.input_scale[k], 0.0, 1.0)
            layer.calibrate_adc(h)
            h = layer(h, None, self.input_scale[k])
            if k < len(self.layers) - 1:
                h = torch.relu(h)
        self.set_hardware(was)

    def conductances(self) -> list[np.ndarray]:
        """Per layer, the target conductances (siemens) of (plus, minus) devices, (2, outputs, inputs)."""
        return [layer.conductances() for layer in self.layers]
