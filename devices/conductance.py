"""Read conductance of device models as a function of state, and its inverse.

Used to turn a target conductance matrix into device states. Only models whose read current
is linear in voltage have a closed form here: ``linear_ion_drift`` (R = Ron x + Roff (1 - x))
and ``vteam`` (linear or exponential I-V in the state w). Other models take ``states``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from memcosim.errors import ConfigError


def _params(model: str, overrides: Mapping[str, float]) -> dict[str, float]:
    from memcosim.devices.registry import get_model

    return {**get_model(model).parameters, **{k: float(v) for k, v in overrides.items()}}


def has_conductance_law(model: str) -> bool:
    """True when :func:`conductance` knows the model's read conductance."""
    return model in ("linear_ion_drift", "vteam")


def conductance(model: str, states: np.ndarray, params: Mapping[str, float] = {}) -> np.ndarray:
    """Read conductance (siemens) of ``model`` devices in ``states`` (model state units)."""
    p = _params(model, params)
    x = np.clip(np.asarray(states, dtype=float), p["xmin"], p["xmax"])
    if model == "linear_ion_drift":
        return 1.0 / (p["Ron"] * x + p["Roff"] * (1.0 - x))
    if model == "vteam":
        u = (x - p["won"]) / (p["woff"] - p["won"])
        if int(p.get("iv", 0)) == 1:
            return 1.0 / (p["Ron"] * np.exp(np.log(p["Roff"] / p["Ron"]) * u))
        return 1.0 / (p["Ron"] + (p["Roff"] - p["Ron"]) * u)
    raise ConfigError("conductance", f"model {model!r} has no closed-form read conductance here; give states")


def conductance_range(model: str, params: Mapping[str, float] = {}) -> tuple[float, float]:
    """(lowest, highest) read conductance in siemens over the model's state range."""
    p = _params(model, params)
    g = conductance(model, np.array([p["xmin"], p["xmax"]]), params)
    return float(g.min()), float(g.max())


def states_for(model: str, target: np.ndarray, params: Mapping[str, float] = {}) -> np.ndarray:
    """States giving read conductance ``target`` (siemens); ConfigError if any is out of range."""
    if not has_conductance_law(model):
        raise ConfigError("conductance", f"model {model!r} has no closed-form read conductance here; give states")
    g = np.asarray(target, dtype=float)
    lo, hi = conductance_range(model, params)
    bad = ~((g >= lo * (1 - 1e-12)) & (g <= hi * (1 + 1e-12)))
    if np.any(bad):
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ConfigError(
            "conductance", f"target {g[idx]!r} S of cell {idx} is outside the {model} range [{lo:.6g}, {hi:.6g}] S"
        )
    p = _params(model, params)
    r = 1.0 / g
    if model == "linear_ion_drift":
        x = (r - p["Roff"]) / (p["Ron"] - p["Roff"])
    elif int(p.get("iv", 0)) == 1:
        u = np.log(r / p["Ron"]) / np.log(p["Roff"] / p["Ron"])
        x = p["won"] + u * (p["woff"] - p["won"])
    else:
        u = (r - p["Ron"]) / (p["Roff"] - p["Ron"])
        x = p["won"] + u * (p["woff"] - p["won"])
    return np.clip(x, p["xmin"], p["xmax"])
