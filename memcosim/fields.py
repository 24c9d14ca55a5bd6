"""Checks for configuration values; each failure is a ConfigError naming the field."""

from __future__ import annotations

import math

import numpy as np

from memcosim.errors import ConfigError


def integer(field: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within [low, high] (booleans and floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"must be an integer, got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(field, f"must be in {span}, got {v}")
    return v


def number(
    field: str, value: object, *, low: float | None = None, high: float | None = None,
    low_open: bool = False, unit: str = "",
) -> float:
    """``value`` as a finite float, >= ``low`` (or > when ``low_open``) and <= ``high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(field, f"must be a number{_u(unit)}, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(field, f"must be finite, got {value!r}")
    if low is not None and (v <= low if low_open else v < low):
        raise ConfigError(field, f"must be {'>' if low_open else '>='} {low:g}{_u(unit)}, got {v!r}")
    if high is not None and v > high:
        raise ConfigError(field, f"must be <= {high:g}{_u(unit)}, got {v!r}")
    return v


def choice(field: str, value: object, options: tuple[str, ...]) -> str:
    """``value`` if it is one of ``options``."""
    if value not in options:
        raise ConfigError(field, f"must be one of {', '.join(repr(o) for o in options)}, got {value!r}")
    return str(value)


def boolean(field: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(field, f"must be true or false, got {value!r}")
    return bool(value)


def matrix(field: str, value: object, shape: tuple[int, int]) -> np.ndarray:
    """A scalar (broadcast) or an array of exactly ``shape``, finite, as floats."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(field, f"must be a number or a {shape[0]}x{shape[1]} matrix of numbers ({exc})") from None
    if a.ndim == 0:
        a = np.full(shape, float(a))
    if a.shape != shape:
        raise ConfigError(field, f"shape {a.shape} does not match rows x columns {shape}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(field, "every entry must be finite")
    return np.array(a, dtype=float)


def _u(unit: str) -> str:
    return f" {unit}" if unit else ""
