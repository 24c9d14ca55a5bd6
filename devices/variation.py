"""Device-to-device and cycle-to-cycle variation of memristor instance parameters, from seeds.

Each varied instance parameter ``p`` of device ``d`` is ``nominal * (1 + o_d + w_d(k))``:

* ``o_d`` (device-to-device) is a fixed offset drawn once per device, normal with sigma ``d2d``;
* ``w_d(k)`` (cycle-to-cycle) is a mean-reverting random walk advanced once per ``interval``
  seconds of pulse time (default 10 ns), counted over all pulses applied (``elapsed``; see
  :meth:`Variation.walk_times`): ``w(k+1) = (1 - reversion) w(k) + c2c * eps``,
  ``eps ~ N(0, 1)``; its stationary spread is ``c2c / sqrt(reversion (2 - reversion))``.

Relative values are clipped to [-0.5, 0.5]. Bound parameters (``Device.bound_parameters``: ``jart_vcm``'s
``nmin`` / ``nmax``, whose nominal is the model's state bound) only move inwards: ``nmin`` up, ``nmax`` down. The
session owns the instance parameters; :meth:`Variation.apply` writes them with
``Session.set_device_params``. Draws come from ``numpy.random.default_rng(seed)`` only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from memcosim.config.variation import ParameterVariationConfig
from memcosim.devices.catalog import DEVICES, get_device
from memcosim.devices.device import VerilogADevice
from memcosim.errors import ConfigError

# bound parameters of the shipped models (Device.bound_parameters): the direction that narrows the
# state range, up for a lower bound and down for an upper one
_INWARD = {name: 1.0 if bound == "xmin" else -1.0
           for kind in DEVICES.values() for name, bound in kind.bound_parameters.items()}


class Variation:
    """Live variation state of a set of devices: their offsets, walks and current parameter values."""

    def __init__(self, config: ParameterVariationConfig, devices: Sequence[str], nominal: dict[str, float],
                 rng: np.random.Generator | None = None):
        """``devices``: memristor element names; ``nominal``: nominal value of every varied parameter."""
        if config.spreads is None and config.enabled:
            raise ConfigError("parameter_variation.spreads", "no spreads given: fill in the model's defaults "
                              "with ParameterVariationConfig.for_model(model)")
        self.config = config
        self.devices = [str(d) for d in devices]
        self.names = [n for n in (config.spreads or {}) if config.enabled]
        missing = [n for n in self.names if n not in nominal]
        if missing:
            raise ConfigError("parameter_variation.spreads", f"no nominal value for parameters {missing}")
        self.nominal = np.array([float(nominal[n]) for n in self.names])
        self.rng = rng if rng is not None else np.random.default_rng(config.seed)
        shape = (len(self.devices), len(self.names))
        d2d = np.array([config.spreads[n].d2d for n in self.names])
        self._c2c = np.array([config.spreads[n].c2c for n in self.names])
        self.offset = self.rng.normal(0.0, 1.0, shape) * d2d if self.names else np.zeros(shape)
        self.walk = np.zeros(shape)
        self.steps = 0
        self.elapsed = 0.0  # seconds of pulse time applied so far (see walk_times)

    @property
    def active(self) -> bool:
        return bool(self.names) and bool(self.devices)

    def values(self) -> np.ndarray:
        """Current parameter values, devices x parameters (model units)."""
        rel = np.clip(self.offset + self.walk, -0.5, 0.5)
        for k, n in enumerate(self.names):
            if n in _INWARD:
                rel[:, k] = _INWARD[n] * np.abs(rel[:, k])
        return self.nominal * (1.0 + rel)

    def advance(self, steps: int = 1) -> None:
        """Advance every device's cycle-to-cycle walk by ``steps`` intervals."""
        if not self.active:
            return
        theta = self.config.reversion
        for _ in range(int(steps)):
            self.walk = (1.0 - theta) * self.walk + self._c2c * self.rng.normal(0.0, 1.0, self.walk.shape)
        self.steps += int(steps)

    def walk_times(self, duration: float) -> list[float]:
        """Seconds from the start of the next pulse (``duration`` s long) at which the walk advances: every
        multiple of ``interval`` of the pulse time applied so far (``elapsed``) that falls in that pulse,
        so short pulses in a row share one step and a long one gets one per ``interval``."""
        every = self.config.interval
        eps = 1e-6 * every
        first = int(np.ceil((self.elapsed - eps) / every))
        out = []
        while first * every - self.elapsed < duration - eps:
            out.append(max(0.0, first * every - self.elapsed))
            first += 1
        return out

    def pass_time(self, duration: float) -> None:
        """Count ``duration`` seconds of pulse time as applied."""
        self.elapsed += float(duration)

    def apply(self, session, devices: Sequence[int] | None = None) -> None:
        """Write the current values of ``devices`` (indices into ``self.devices``; all if None) to the session."""
        if not self.active:
            return
        vals = self.values()
        for k in range(len(self.devices)) if devices is None else devices:
            session.set_device_params(self.devices[k], **dict(zip(self.names, (float(v) for v in vals[k]))))


def nominal_parameters(model: str, names: Sequence[str], overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Nominal values of instance parameters ``names`` of ``model`` (:meth:`VerilogADevice.nominal`: bound
    parameters equal to 0 mean the state bound)."""
    device = get_device(model, overrides)
    if not isinstance(device, VerilogADevice):
        raise ConfigError("parameter_variation.spreads", f"{model} cells have no instance parameters to vary")
    return device.nominal(names)
