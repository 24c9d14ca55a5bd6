"""The pulse predictor (2-32-64-32-1 MLP), its input/output scaling, the noise-free baseline, and the
write-and-verify policies built on them.

Scaling (all roughly in [0, 1]), with ``u(G) = (ln G - ln g_low) / (ln g_high - ln g_low)``:

* input 1: ``u(G_start)``; input 2: ``(1 + u(G_target) - u(G_start)) / 2`` (the requested change);
* output: ``(1 + sign(t) ln(1 + |t|/step) / ln(1 + t_max/step)) / 2`` for the signed pulse time ``t``
  (seconds; SET > 0, RESET < 0), ``t_max = max_steps * step``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from memcosim import fields as f
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.cosim.device_table import conductance_table
from memcosim.cosim.engine import open_session
from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_bytes
from memcosim.programming.pulses import PulseSpec, apply_pulse, hold

LAYERS = (2, 32, 64, 32, 1)


@dataclass(frozen=True)
class Scaling:
    """Normalization of conductances (siemens) and signed pulse times (seconds)."""

    g_low: float
    g_high: float
    step: float
    t_max: float

    def u(self, g):
        return (torch.log(g) - math.log(self.g_low)) / math.log(self.g_high / self.g_low) if torch.is_tensor(g) \
            else (np.log(g) - math.log(self.g_low)) / math.log(self.g_high / self.g_low)

    def inputs(self, g_start, g_target) -> torch.Tensor:
        g0 = torch.as_tensor(np.asarray(g_start, dtype=np.float64)).float()
        gt = torch.as_tensor(np.asarray(g_target, dtype=np.float64)).float()
        u0 = self.u(g0)
        return torch.stack([u0, (1 + self.u(gt) - u0) / 2], dim=-1)

    def encode_time(self, t):
        lib = torch if torch.is_tensor(t) else np
        return (1 + lib.sign(t) * lib.log1p(lib.abs(t) / self.step) / math.log1p(self.t_max / self.step)) / 2

    def decode_time(self, y):
        lib = torch if torch.is_tensor(y) else np
        z = 2 * y - 1
        return lib.sign(z) * self.step * lib.expm1(lib.abs(z) * math.log1p(self.t_max / self.step))


class PulsePredictor(nn.Module):
    """Fully connected 2-32-64-32-1 network (ReLU) from (start, requested change) to the signed pulse time."""

    def __init__(self, scaling: Scaling, seed: int = 0):
        super().__init__()
        self.scaling = scaling
        gen = torch.Generator().manual_seed(seed)
        layers: list[nn.Module] = []
        for a, b in zip(LAYERS[:-1], LAYERS[1:]):
            lin = nn.Linear(a, b)
            bound = 1 / math.sqrt(a)
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.uniform_(-bound, bound, generator=gen)
            layers += [lin, nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled output (see the module docstring) for scaled inputs, shape (n, 2) -> (n,)."""
        return self.net(x).squeeze(-1)

    def time(self, x: torch.Tensor) -> torch.Tensor:
        """Signed pulse time (seconds) for scaled inputs, differentiable."""
        return self.scaling.decode_time(self.forward(x))

    @torch.no_grad()
    def predict(self, g_start, g_target) -> np.ndarray:
        """Signed pulse time (seconds) to go from ``g_start`` to ``g_target`` (siemens)."""
        x = self.scaling.inputs(np.atleast_1d(g_start), np.atleast_1d(g_target))
        return self.time(x).double().numpy()

    def save(self, path: str | Path, info: dict | None = None) -> Path:
        """Write weights, scaling and ``info`` to ``path`` atomically (torch format)."""
        buf = io.BytesIO()
        torch.save({"layers": LAYERS, "state": self.state_dict(), "scaling": asdict(self.scaling),
                    "info": json.dumps(info or {})}, buf)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "PulsePredictor":
        try:
            blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise ConfigError("predictor", f"no predictor file {path}") from None
        if tuple(blob.get("layers", ())) != LAYERS:
            raise ConfigError("predictor", f"{path}: layers {blob.get('layers')} differ from {LAYERS}")
        model = cls(Scaling(**blob["scaling"]))
        model.load_state_dict(blob["state"])
        model.info = json.loads(blob["info"])
        model.eval()
        return model


@dataclass
class NoiseFreeBaseline:
    """Pulse times from the noise-free device: G along a constant-SET trajectory and a constant-RESET one,
    so that ``t(G0 -> G1) = T(G1) - T(G0)`` on the trajectory of the right sign (seconds, signed).
    With ``up_from_top`` (writes up are a full SET pulse and then a RESET) the first trajectory is the
    RESET after that SET pulse, and a move up to G1 takes ``T(G1)`` on it, whatever G0."""

    set_time: np.ndarray
    set_g: np.ndarray
    reset_time: np.ndarray
    reset_g: np.ndarray
    up_from_top: bool = False

    def predict(self, g_start, g_target) -> np.ndarray:
        g0 = np.atleast_1d(np.asarray(g_start, dtype=float))
        g1 = np.atleast_1d(np.asarray(g_target, dtype=float))
        up = g1 > g0
        ls, lr = np.log(self.set_g), np.log(self.reset_g)
        if self.up_from_top:  # a falling trajectory from the SET pulse's end
            t_set = np.interp(-np.log(g1), -ls, self.set_time)
        else:
            t_set = np.interp(np.log(g1), ls, self.set_time) - np.interp(np.log(g0), ls, self.set_time)
        # the RESET trajectory has G falling: interpolate on the reversed arrays
        tr = np.interp(-np.log(g1), -lr, self.reset_time) - np.interp(-np.log(g0), -lr, self.reset_time)
        return np.where(up, t_set, -tr)

    def to_json(self) -> str:
        d = {k: getattr(self, k).tolist() for k in ("set_time", "set_g", "reset_time", "reset_g")}
        return json.dumps({**d, "up_from_top": self.up_from_top})

    @classmethod
    def from_json(cls, text: str) -> "NoiseFreeBaseline":
        d = json.loads(text)
        return cls(*(np.array(d[k]) for k in ("set_time", "set_g", "reset_time", "reset_g")),
                   bool(d.get("up_from_top", False)))


def noise_free_baseline(model: str, v_read: float, window: tuple[float, float], set_amplitude: float,
                        reset_amplitude: float, duration: float = 3e-6, sample: float = 2e-9, growth: float = 1.0,
                        set_pulse: PulseSpec | None = None) -> NoiseFreeBaseline:
    """Record the noise-free SET trajectory of ``model`` from just below ``window``'s low end and RESET from
    just above its high end (siemens; one device in ngspice, the state read after windows of ``sample`` s,
    each ``growth`` x the one before, for at most ``duration`` s; G from the model's read table at
    ``v_read`` volts); SET / RESET at the given volts. With ``set_pulse`` the first trajectory is the
    RESET after that SET pulse from the window's low end (:attr:`NoiseFreeBaseline.up_from_top`)."""
    g_low, g_high = window
    preset = get_preset(model)
    states, table = conductance_table(model, v_read)

    def g_of(x: float) -> float:
        return float(np.exp(np.interp(math.log(x), np.log(states), np.log(table))))

    def x_of(g: float) -> float:
        return float(np.exp(np.interp(math.log(g), np.log(table), np.log(states))))

    xbar = build_crossbar(ArrayConfig(1, 1, DeviceConfig(model), states=float(states[0]),
                                      periphery=PeripheryConfig(programming=ProgrammingConfig())))
    out = []
    falling = lambda g: g <= 0.98 * g_low  # noqa: E731
    first = (reset_amplitude, 0.9 * g_low, falling) if set_pulse else (set_amplitude, 0.9 * g_low,
                                                                        lambda g: g >= 1.02 * g_high)
    with open_session(xbar.netlist) as s:
        for k, (amp, g_first, done) in enumerate((first, (reset_amplitude, min(1.1 * g_high, preset.g_max), falling))):
            s.set_states([x_of(g_first)])
            if k == 0 and set_pulse is not None:
                apply_pulse(s, xbar, set_pulse, preset=preset)
            t, g = [0.0], [g_of(s.states[0])]
            elapsed, width = 0.0, sample
            while elapsed < duration and not done(g[-1]):
                hold(s, xbar, amp, width, preset=preset, window=width)
                elapsed += width
                width *= growth
                t.append(elapsed)
                g.append(g_of(s.states[0]))
            tt, gg = np.array(t), np.array(g)
            keep = np.r_[True, np.diff(gg) * np.sign(amp) > 0]  # strictly monotone for interpolation
            out += [tt[keep], gg[keep]]
    return NoiseFreeBaseline(*out, up_from_top=set_pulse is not None)


@dataclass
class PredictorPolicy:
    """Write-and-verify pulses from a predictor (anything with ``predict(g_start, g_target)`` in seconds):
    the preset SET / RESET amplitude by the sign of the requested change, width = |predicted time|
    (at least ``min_width``), ``edge`` s rise and fall. ``aim`` (relative, >= 0) moves the point the
    pulse aims at from the target towards the present conductance, ``G_target * (1 -+ aim)``: with a
    tolerance band of +-tol, an aim inside the band on the near side stops earlier (like a conventional
    write-and-verify, which enters the band from one side) and overshoots less; 0 aims at the target.
    With ``set_pulse`` a move up is that full SET pulse and then the RESET of the predicted width (two
    pulses, one read after them; the RESET then comes from above, so it aims at ``G_target * (1 + aim)``)."""

    predictor: object
    set_amplitude: float
    reset_amplitude: float
    min_width: float = 0.5e-9
    max_width: float = 5e-6
    edge: float = 0.2e-9
    aim: float = 0.0
    set_pulse: PulseSpec | None = None

    def __post_init__(self) -> None:
        self.aim = f.number("policy.aim", self.aim, low=0.0, high=0.5)

    def next_pulse(self, g_now: float, g_target: float, history) -> PulseSpec | tuple[PulseSpec, ...]:
        up = g_target > g_now
        falls = not up or self.set_pulse is not None
        t = float(self.predictor.predict(g_now, g_target * (1 + self.aim if falls else 1 - self.aim))[0])
        width = abs(t) if (t > 0) == up else self.min_width
        width = min(max(width, self.min_width), self.max_width)
        if up and self.set_pulse is not None:
            return self.set_pulse, PulseSpec(self.reset_amplitude, width, self.edge, self.edge)
        return PulseSpec(self.set_amplitude if up else self.reset_amplitude, width, self.edge, self.edge)
