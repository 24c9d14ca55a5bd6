"""``CircuitLinear``: a torch linear layer whose matrix product runs on crossbar tiles.

A :class:`CircuitLinear` is a :class:`~memcosim.hardware_aware.model.HwLinear` (its weights map onto
differential conductance pairs in the window ``g_min``..``g_max``, with the hardware model of that module:
conductance levels, stuck-at faults, variation, read noise, DAC and ADC quantization, tiles of
``tile_rows`` inputs) with three forward modes (:data:`MODES`):

* ``float``: ``x W^T + b``, as the ``torch.nn.Linear`` it replaces;
* ``hardware``: the hardware-aware forward in torch (differentiable with straight-through quantizers;
  variation and read noise drawn at every training forward from the layer's seeded generator), for
  hardware-aware training with any torch optimizer and loss;
* ``circuit``: the matrix product read in ngspice on the layer's tiles (:class:`~memcosim.nn.tiles.LayerTiles`, a
  :class:`~memcosim.cosim.tiles.TiledLayer`),
  after :meth:`CircuitLinear.program` has written the weights into them; no gradient.

Inputs of the circuit are row voltages from 0 to ``v_read``: a layer's input ``x`` (any shape ``(..., in)``)
is divided by the layer's calibrated ``input_scale`` and clamped to [0, 1] in the ``hardware`` and
``circuit`` modes, so inputs must be non-negative (pixels, or activations after a ReLU);
:func:`memcosim.nn.convert.calibrate` refuses negative ones. The outputs are digital: the ADC codes of
every tile, plus minus minus, added over tiles, scaled back to weight units, plus the digital bias (and, in
the circuit mode, the ``circuit_correction`` measured by :func:`memcosim.nn.convert.program` on calibration
inputs: the mean difference between the hardware model's and the circuit's outputs).
"""

from __future__ import annotations

import torch
from torch import nn

from memcosim import fields as f
from memcosim.errors import ConfigError
from memcosim.hardware_aware.model import HardwareConfig, HwLinear

MODES = ("float", "hardware", "circuit")


class CircuitLinear(HwLinear):
    """A linear layer ``in_features -> out_features`` on crossbar tiles (see the module text).

    ``hw``: the torch hardware model (window in siemens, converters, tile rows, noise, faults, seed);
    ``layer``: its index in the network (fault maps and noise are drawn from ``hw.seed`` and it);
    ``bias=False``: the digital bias stays zero and is not trained."""

    def __init__(self, in_features: int, out_features: int, hw: HardwareConfig, bias: bool = True, layer: int = 0,
                 init_seed: int = 0):
        super().__init__(f.integer("in_features", in_features, 1), f.integer("out_features", out_features, 1),
                         hw, layer, init_seed)
        if not bias:
            self.bias = nn.Parameter(torch.zeros(out_features), requires_grad=False)
        self.register_buffer("input_scale", torch.ones(()))
        self.register_buffer("circuit_correction", torch.zeros(out_features))  # circuit mode only
        self.register_buffer("weight_scale", torch.zeros(()))  # frozen w_max during on-chip training (0 = none)
        self.mode = "float"
        self.circuit = None  # the programmed tiles (memcosim.nn.convert.program)
        self.calibrating = False
        self.correcting = False
        self.recording = False  # on-chip training: keep the DAC inputs and a straight-through output
        self.recorded: tuple[torch.Tensor, torch.Tensor] | None = None
        self.noise = torch.Generator()
        self.noise.manual_seed(hw.seed * 7919 + 1 + self.layer)

    @classmethod
    def from_linear(cls, linear: nn.Linear, hw: HardwareConfig, layer: int = 0) -> "CircuitLinear":
        """A CircuitLinear with the weights and bias of ``linear`` (float mode)."""
        m = cls(linear.in_features, linear.out_features, hw, bias=linear.bias is not None, layer=layer)
        with torch.no_grad():
            m.weight.copy_(linear.weight.detach().float())
            if linear.bias is not None:
                m.bias.copy_(linear.bias.detach().float())
        return m

    @property
    def in_features(self) -> int:
        return self.inputs

    @property
    def out_features(self) -> int:
        return self.outputs

    def extra_repr(self) -> str:
        return (f"in_features={self.inputs}, out_features={self.outputs}, mode={self.mode}, "
                f"tile_rows={self.hw.tile_rows}")

    def set_mode(self, mode: str) -> None:
        """``float``, ``hardware`` or ``circuit`` (see the module text)."""
        mode = f.choice("mode", mode, MODES)
        if mode == "circuit" and self.circuit is None:
            raise ConfigError("mode", "the circuit forward needs programmed tiles: call memcosim.nn.program(model) "
                                      "(or CircuitLinear.program) first")
        self.mode = mode
        self.hardware = mode != "float"

    def w_max(self) -> torch.Tensor:
        """The weight at a full device window (g_max - g_min): the frozen ``weight_scale`` while the weights
        live in the tiles (on-chip training, :mod:`memcosim.nn.pulse`), else the largest ``|W|``."""
        if float(self.weight_scale) > 0:
            return self.weight_scale
        return super().w_max()

    # -- inputs in the DAC range ----------------------------------------------------------------
    def dac_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs ``x`` (batch, in) as DAC inputs in [0, 1]: divided by ``input_scale`` and clamped."""
        return torch.clamp(x / self.input_scale, 0.0, 1.0)

    @torch.no_grad()
    def calibrate_from(self, x: torch.Tensor) -> None:
        """Set ``input_scale`` to the ``adc_quantile`` of the inputs ``x`` (batch, in) and each row tile's ADC full
        scale from the column sums they give on that tile (``hw.adc_fit``: their ``adc_quantile``, or the range
        of least squared error at the ADC's bits); the tiles' TIA feedback follows each one's full scale
        (:class:`~memcosim.nn.tiles.LayerTiles`). ConfigError on negative inputs (the DAC spans 0 .. v_read)."""
        low = float(x.min())
        if low < 0:
            raise ConfigError(f"layer {self.layer} inputs", f"the smallest input is {low:.4g}: the row DACs span "
                                                           "0 .. v_read, so inputs must be >= 0 (put a ReLU before "
                                                           "the layer or shift the data)")
        self.input_scale.copy_(torch.quantile(x.flatten().float()[:1 << 24], self.hw.adc_quantile).clamp_min(1e-6))
        self.calibrate_adc(self.dac_inputs(x))

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if x.shape[-1] != self.inputs:
            raise ConfigError(f"layer {self.layer} input", f"has {x.shape[-1]} features, the layer {self.inputs}")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.inputs)
        if self.calibrating:
            self.calibrate_from(x2)
        if self.mode == "float":
            y = x2 @ self.weight.t() + self.bias
        elif self.mode == "hardware":
            noise = self.noise if self.training else None
            y = self.from_column_sums(self.column_sums(self.dac_inputs(x2), noise), self.input_scale)
        else:
            with torch.no_grad():
                xd = self.dac_inputs(x2)
                signed = self.circuit.read(xd.double().numpy())
                y = self.digital(torch.as_tensor(signed, dtype=torch.float32), self.input_scale) + self.circuit_correction
                if self.correcting:  # mapping-aware bias correction toward the hardware model, circuit mode only
                    delta = (self.from_column_sums(self.column_sums(xd), self.input_scale) - y).mean(dim=0)
                    self.circuit_correction += delta
                    y = y + delta
            if self.recording:  # value from the circuit, gradient of x W^T + b (the weights the tiles hold)
                xg = self.dac_inputs(x2)
                linear = (xg * self.input_scale) @ self.weight.t() + self.bias
                y = y + (linear - linear.detach())
                y.retain_grad()
                self.recorded = (xd.detach(), y)
        return y.reshape(*lead, self.outputs)
