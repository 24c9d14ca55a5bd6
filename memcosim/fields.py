"""Checks for configuration values; each failure is a ConfigError naming the field."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from memcosim.errors import ConfigError


class Default(float):
    """A float field's default value that nobody set: it computes and compares as that float and :func:`number`
    keeps it as it is, so a check can tell a value the user set (even one equal to the default) from the default
    (e.g. :func:`memcosim.config.periphery.refuse_range`); :func:`unset` tells a TOML writer to leave it out."""

    __slots__ = ()


def unset(obj: object, name: str) -> bool:
    """True when field ``name`` of ``obj`` holds a :class:`Default` (a ``skip`` for :func:`memcosim.config.toml.dumps`
    where a written value would read back as one the user set)."""
    return isinstance(getattr(obj, name, None), Default)


def integer(field: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within [low, high] (booleans and floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"must be an integer, got {plain(value)!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        span = f"in {low}..{high}" if high is not None else f">= {low}" if low is not None else f"<= {high}"
        raise ConfigError(field, f"must be {span}, got {v}")
    return v


class OversubscribedWarning(UserWarning):
    """More worker processes than CPU cores: they take turns and the run gets slower, not faster."""


def workers(field: str, value: object, low: int = 1) -> int:
    """A worker-process count: an integer >= ``low``; warns (OversubscribedWarning) above the core count."""
    n = integer(field, value, low)
    cores = os.cpu_count() or 1
    if n > cores:
        warnings.warn(f"{field} = {n} worker processes on {cores} CPU cores: they will take turns "
                      f"(use at most {cores})", OversubscribedWarning, stacklevel=2)
    return n


def number(
    field: str, value: object, *, low: float | None = None, high: float | None = None,
    low_open: bool = False, unit: str = "",
) -> float:
    """``value`` as a finite float, >= ``low`` (or > when ``low_open``) and <= ``high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(field, f"must be a number{_u(unit)}, got {plain(value)!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(field, f"must be finite, got {plain(value)!r}")
    if low is not None and (v <= low if low_open else v < low):
        raise ConfigError(field, f"must be {'>' if low_open else '>='} {low:g}{_u(unit)}, got {v!r}")
    if high is not None and v > high:
        raise ConfigError(field, f"must be <= {high:g}{_u(unit)}, got {v!r}")
    return value if isinstance(value, Default) else v


def choice(field: str, value: object, options: tuple[str, ...]) -> str:
    """The option of ``options`` that ``value`` names, ignoring case (``"v/2"`` gives ``"V/2"``)."""
    if isinstance(value, str):
        for option in options:
            if value.casefold() == option.casefold():
                return option
    raise ConfigError(field, f"must be one of {', '.join(repr(o) for o in options)}, got {plain(value)!r}")


def plain(value: object) -> object:
    """``value`` with numpy scalars (and arrays of them) as Python numbers, for error texts."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def boolean(field: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(field, f"must be true or false, got {plain(value)!r}")
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
