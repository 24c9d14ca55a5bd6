"""Conductance read-out in the array: one row at the read voltage, every column current, row by row.

A read of row ``i`` puts ``v_read`` volts on ``VROW<i>`` and 0 V on every other row; columns sit at
their ammeters (0 V, or the TIA's virtual ground). The read conductance of cell (i, j) is
``|I(VCOL<j>)| / v_read`` in siemens: with parasitic wires it is the *apparent* conductance the
periphery sees (IR drop included), exactly what a verify step measures. Operating points pin every
state, so a read never moves a device.

Also here: the read-conductance table G(state) of a model, from operating points of one device,
and its inverse (states for target conductances).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import numpy as np

from memcosim.errors import ConfigError, MemcosimError


def read_rows(session, xbar, rows: Iterable[int] | None = None, v_read: float | None = None) -> np.ndarray:
    """Read conductance (siemens) of every cell of ``rows`` (all rows if None): shape (len(rows), columns).

    Leaves every row source at 0 V afterwards.
    """
    v = _v_read(xbar, v_read)
    R = xbar.config.rows
    rows = list(range(R)) if rows is None else [int(r) for r in rows]
    for r in rows:
        if not 0 <= r < R:
            raise ConfigError("row", f"must be in 0..{R - 1}, got {r}")
    out = np.empty((len(rows), xbar.config.columns))
    zero = {name: 0.0 for name in xbar.row_sources}
    try:
        for k, r in enumerate(rows):
            session.set_sources({**zero, xbar.row_sources[r]: v})
            i = session.op(currents=xbar.column_sources).stack(xbar.column_sources)
            out[k] = np.abs(i) / abs(v)
    finally:
        session.set_sources(zero)
    return out


def read_array(session, xbar, v_read: float | None = None) -> np.ndarray:
    """Read conductance (siemens) of every cell, rows x columns (one operating point per row)."""
    return read_rows(session, xbar, None, v_read)


def read_cell(session, xbar, row: int, column: int, v_read: float | None = None) -> float:
    """Read conductance (siemens) of cell (row, column) in the array."""
    C = xbar.config.columns
    if not 0 <= int(column) < C:
        raise ConfigError("column", f"must be in 0..{C - 1}, got {column}")
    return float(read_rows(session, xbar, [row], v_read)[0, int(column)])


def _v_read(xbar, v_read: float | None) -> float:
    if v_read is None:
        from memcosim.devices.presets import get_preset

        return get_preset(xbar.config.model).v_read
    v = float(v_read)
    if not np.isfinite(v) or v == 0:
        raise ConfigError("v_read", f"must be a finite non-zero voltage, got {v_read!r}")
    return v


_KEYS: set = set()


def _cached(key: tuple) -> bool:
    return key in _KEYS


@lru_cache(maxsize=None)
def _table(model: str, v_read: float, points: int, params: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    from memcosim.circuits.crossbar import CrossbarConfig, build_crossbar
    from memcosim.devices.registry import get_model
    from memcosim.cosim.session import Session

    dev = get_model(model)
    lo, hi = dev.state_min, dev.state_max
    states = np.geomspace(lo, hi, points) if lo > 0 else np.linspace(lo, hi, points)
    xbar = build_crossbar(CrossbarConfig(1, 1, model=model, states=lo, device_params=dict(params)), check=False)
    g = np.empty(points)
    with Session(xbar.netlist) as s:
        for k, x in enumerate(states):
            s.set_states([x])
            g[k] = read_cell(s, xbar, 0, 0, v_read)
    _KEYS.add((model, v_read, points, params))
    return states, g


def conductance_table(model: str, v_read: float, points: int = 121,
                      params: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(states, read conductance in siemens) of one ``model`` device over its state range, from ngspice.

    Opens (and closes) its own session the first time (then cached): call it before opening the
    session you work in; with a session open and no cached table it raises MemcosimError.
    """
    key = (model, float(v_read), int(points), tuple(sorted((params or {}).items())))
    if not _cached(key):
        from memcosim.cosim.session import Session

        if Session._open is not None:
            raise MemcosimError(f"the {model} read table needs ngspice to itself for a moment: call "
                                "conductance_table / states_for_conductance before opening a session (it is cached)")
    s, g = _table(*key)
    if np.any(np.diff(g) <= 0):
        raise ConfigError("model", f"{model}: read conductance is not increasing with the state; no inverse")
    return s.copy(), g.copy()


def states_for_conductance(model: str, target: np.ndarray | float, v_read: float,
                           params: dict[str, float] | None = None) -> np.ndarray:
    """States (model units) whose read conductance is ``target`` (siemens), by log-log interpolation."""
    s, g = conductance_table(model, v_read, params=params)
    t = np.asarray(target, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < g[0] * (1 - 1e-9)) or np.any(t > g[-1] * (1 + 1e-9)):
        raise ConfigError("target", f"conductance outside the {model} range [{g[0]:.4g}, {g[-1]:.4g}] S")
    xs = np.log(s) if s[0] > 0 else s
    x = np.interp(np.log(t), np.log(g), xs)
    return np.exp(x) if s[0] > 0 else x
