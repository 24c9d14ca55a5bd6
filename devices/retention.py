"""Zero-bias retention of the device models: the state equation each Verilog-A model integrates at
zero bias, its closed-form solution over any time span, and the temperature it runs at.

Each law is the zero-bias limit of the model's own state equation (``verilog_a/*.va``, where the
form and its sources are cited), so ageing an array by ``t`` seconds here and running a transient of
``t`` seconds at zero bias with the model's ``T0`` at the same temperature give the same states:

* ``stanford_pku`` (gap ``g`` in nm): diffusion-limited gap growth ``dg/dt = D/g``,
  ``D = kret * a0 * Vel0 * exp(-Ea_ret / kT)`` (nm^2/s), so ``g(t) = sqrt(g0^2 + 2 D t)``.
* ``jart_vcm`` / ``jart_v1b`` (disc concentration ``N`` in 1e26 m^-3): disc/plug diffusion
  ``dN/dt = k (Nplug - N)``, ``k = kret * a * nu / l_disc * exp(-dWa / kT)`` (1/s), so
  ``N(t) = Nplug + (N0 - Nplug) exp(-k t)``.
* ``vteam`` and ``linear_ion_drift``: their state does not move at zero bias (threshold / no current),
  so ageing leaves them unchanged.

Both laws stop where the model's bound clamp stops a state (two clamp widths inside a bound).
Temperatures are in kelvin; :func:`to_kelvin` also takes degrees Celsius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from memcosim.errors import ConfigError

BOLTZMANN_EV = 1.380649e-23 / 1.602176634e-19  # eV/K
ZERO_CELSIUS = 273.15  # K

Params = Mapping[str, ArrayLike]  # parameter name -> value, or one value per device


def to_kelvin(kelvin: float | None = None, celsius: float | None = None) -> float:
    """The temperature in kelvin from exactly one of ``kelvin`` (K) or ``celsius`` (degrees C); ConfigError otherwise."""
    if (kelvin is None) == (celsius is None):
        raise ConfigError("temperature", "give the temperature either in kelvin or in celsius (exactly one)")
    t = float(kelvin) if kelvin is not None else float(celsius) + ZERO_CELSIUS
    if not (math.isfinite(t) and t > 0):
        raise ConfigError("temperature", f"temperature must be above 0 K, got {t!r} K")
    return t


def _p(params: Params, name: str) -> np.ndarray:
    return np.asarray(params[name], dtype=float)


def _bounds(model: str, params: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lower bound, upper bound, clamp width at the lower, at the upper bound) of each device, model units."""
    if model == "jart_vcm":
        lo = np.where(_p(params, "nmin") > 0, _p(params, "nmin"), _p(params, "xmin"))
        hi = np.where(_p(params, "nmax") > 0, _p(params, "nmax"), _p(params, "xmax"))
        d = _p(params, "beps") * (hi - lo)
        return lo, hi, d, d
    if model == "jart_v1b":
        lo = np.where(_p(params, "Ndiscmin") > 0, _p(params, "Ndiscmin"), _p(params, "xmin"))
        hi = np.where(_p(params, "Ndiscmax") > 0, _p(params, "Ndiscmax"), _p(params, "xmax"))
        return lo, hi, _p(params, "beps") * lo, _p(params, "beps") * hi
    lo, hi = _p(params, "xmin"), _p(params, "xmax")
    d = _p(params, "beps") * (hi - lo)
    return lo, hi, d, d


def _clamp(model: str, rate: np.ndarray, x: np.ndarray, params: Params) -> np.ndarray:
    """The model's bound clamp on a rate: zero two clamp widths inside a bound, restoring beyond it."""
    lo, hi, dlo, dhi = _bounds(model, params)
    up = rate * np.minimum(1.0, (hi - x) / dhi - 2.0)
    down = rate * np.minimum(1.0, (x - lo) / dlo - 2.0)
    return np.where(rate > 0, up, down)


def gap_diffusion(params: Params, kelvin: float) -> np.ndarray:
    """``stanford_pku``: the gap's diffusion coefficient D (nm^2/s) at ``kelvin``."""
    kt = BOLTZMANN_EV * kelvin
    return _p(params, "kret") * _p(params, "a0") * _p(params, "Vel0") * 1e9 * np.exp(-_p(params, "Ea_ret") / kt)


def disc_relaxation(model: str, params: Params, kelvin: float) -> np.ndarray:
    """``jart_vcm`` / ``jart_v1b``: the disc's relaxation rate k (1/s) toward the plug at ``kelvin``."""
    kt = BOLTZMANN_EV * kelvin
    if model == "jart_vcm":
        ld = np.minimum(_p(params, "ldisc"), 0.99 * _p(params, "lcell"))  # m
        nu = _p(params, "nu0")
    else:
        ld = np.minimum(_p(params, "lnew"), 0.99 * _p(params, "lcell")) * 1e-9  # nm -> m
        nu = _p(params, "nyo")
    return _p(params, "kret") * _p(params, "a") * nu / ld * np.exp(-_p(params, "dWa") / kt)


def _rate_stanford(x: np.ndarray, params: Params, kelvin: float) -> np.ndarray:
    lo, hi, _, _ = _bounds("stanford_pku", params)
    return gap_diffusion(params, kelvin) / np.clip(x, lo, hi)


def _rate_jart(model: str) -> Callable[[np.ndarray, Params, float], np.ndarray]:
    def rate(x: np.ndarray, params: Params, kelvin: float) -> np.ndarray:
        lo, hi, _, _ = _bounds(model, params)
        return disc_relaxation(model, params, kelvin) * (_p(params, "Nplug") - np.clip(x, lo, hi))
    return rate


def _age_stanford(x: np.ndarray, seconds: float, params: Params, kelvin: float) -> np.ndarray:
    _, hi, _, dhi = _bounds("stanford_pku", params)
    g = np.sqrt(x * x + 2.0 * gap_diffusion(params, kelvin) * seconds)
    return np.where(x < hi - 2 * dhi, np.minimum(g, hi - 2 * dhi), x)


def _age_jart(model: str) -> Callable[[np.ndarray, float, Params, float], np.ndarray]:
    def age(x: np.ndarray, seconds: float, params: Params, kelvin: float) -> np.ndarray:
        lo, hi, dlo, dhi = _bounds(model, params)
        plug = _p(params, "Nplug")
        n = plug + (x - plug) * np.exp(-disc_relaxation(model, params, kelvin) * seconds)
        up = np.where(x < hi - 2 * dhi, np.minimum(n, hi - 2 * dhi), x)  # rising: stops at the upper clamp
        down = np.where(x > lo + 2 * dlo, np.maximum(n, lo + 2 * dlo), x)
        return np.where(n >= x, up, down)
    return age


def _still(x: np.ndarray, *_: object) -> np.ndarray:
    return np.array(x, dtype=float, copy=True)


def _no_rate(x: np.ndarray, *_: object) -> np.ndarray:
    return np.zeros_like(np.asarray(x, dtype=float))


@dataclass(frozen=True)
class RetentionLaw:
    """The zero-bias state equation of one device model: ``rate`` (state units per second, clamped at the
    bounds as the model clamps it) and its solution ``age`` after ``seconds``, both at ``kelvin``.

    ``params`` maps each parameter the law reads (:attr:`parameters`) to a value or one value per device.
    """

    model: str
    parameters: tuple[str, ...]
    _rate: Callable[..., np.ndarray]
    _age: Callable[..., np.ndarray]

    def rate(self, states: ArrayLike, kelvin: float, params: Params) -> np.ndarray:
        """dx/dt at zero bias (model state units per second) of devices at ``states``."""
        x = np.asarray(states, dtype=float)
        return _clamp(self.model, self._rate(x, params, kelvin), x, params) if self.parameters else _no_rate(x)

    def age(self, states: ArrayLike, seconds: float, kelvin: float, params: Params) -> np.ndarray:
        """States after ``seconds`` at zero bias and ``kelvin`` (closed form), from ``states``."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ConfigError("seconds", f"ageing time must be >= 0 s, got {seconds!r}")
        return self._age(np.asarray(states, dtype=float), float(seconds), params, float(kelvin))


_BOUNDS = ("xmin", "xmax", "beps")
LAWS: dict[str, RetentionLaw] = {
    "stanford_pku": RetentionLaw("stanford_pku", ("kret", "a0", "Vel0", "Ea_ret") + _BOUNDS,
                                 _rate_stanford, _age_stanford),
    "jart_vcm": RetentionLaw("jart_vcm", ("kret", "a", "nu0", "dWa", "ldisc", "lcell", "Nplug", "nmin", "nmax")
                             + _BOUNDS, _rate_jart("jart_vcm"), _age_jart("jart_vcm")),
    "jart_v1b": RetentionLaw("jart_v1b", ("kret", "a", "nyo", "dWa", "lnew", "lcell", "Nplug", "Ndiscmin",
                                          "Ndiscmax") + _BOUNDS, _rate_jart("jart_v1b"), _age_jart("jart_v1b")),
    "vteam": RetentionLaw("vteam", (), _no_rate, _still),
    "linear_ion_drift": RetentionLaw("linear_ion_drift", (), _no_rate, _still),
}


def retention_law(model: str) -> RetentionLaw:
    """The zero-bias law of ``model`` (a shipped model's name); ConfigError for a model without one."""
    law = LAWS.get(str(model))
    if law is None:
        raise ConfigError("model", f"{model!r} has no zero-bias retention law (known: {', '.join(LAWS)}); "
                          "ageing needs the state equation at zero bias")
    return law
