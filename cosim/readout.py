"""Conductance read-out in the array: one row at the read voltage, every column current, row by row.

A read of row ``i`` puts ``v_read`` volts on ``VROW<i>`` and 0 V on every other row; columns sit at
their ammeters (0 V, or the TIA's virtual ground). The read conductance of cell (i, j) is
``|I(VCOL<j>)| / v_read`` in siemens: with parasitic wires it is the *apparent* conductance the
periphery sees (IR drop included), exactly what a verify step measures. Operating points pin every
state, so a read never moves a device.

The read-conductance table G(state) of a model is :mod:`memcosim.cosim.device_table`.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from memcosim.devices.presets import get_preset
from memcosim.errors import ConfigError


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


def hold_energy(session, sources: Mapping[str, float], duration: float) -> dict[str, float]:
    """Joules per supply group (:attr:`memcosim.cosim.session.Result.energy`) that the circuit draws while the
    named ``sources`` are held at their volts for ``duration`` seconds (a read window: rows at their DAC
    voltages or the verify voltage). One transient; afterwards the sources are back at their previous
    values and every device state that moved during the window is restored, so a read never moves a
    device here either."""
    duration = float(duration)
    if not (np.isfinite(duration) and duration > 0):
        raise ConfigError("duration", f"a read window must last > 0 s, got {duration!r}")
    before = session.states.copy()
    session.set_sources({name: float(v) for name, v in sources.items()})
    try:
        r = session.tran(duration, duration / 10)
    finally:
        session.set_sources(dict.fromkeys(sources, 0.0))
        moved = np.nonzero(session.states != before)[0]
        if moved.size:
            session.set_states({session.devices[k].name: float(before[k]) for k in moved})
    return dict(r.energy)


def read_row_energy(session, xbar, row: int, duration: float, v_read: float | None = None) -> dict[str, float]:
    """Joules per supply group of one read of ``row`` (``v_read`` volts on it, every other row at 0 V) held for
    ``duration`` seconds: the energy of one verify read (:func:`read_cell` measures the same row)."""
    v = _v_read(xbar, v_read)
    R = xbar.config.rows
    if not 0 <= int(row) < R:
        raise ConfigError("row", f"must be in 0..{R - 1}, got {row}")
    return hold_energy(session, {name: (v if k == int(row) else 0.0) for k, name in enumerate(xbar.row_sources)},
                       duration)


def _v_read(xbar, v_read: float | None) -> float:
    if v_read is None:
        return get_preset(xbar.config.device.model).v_read
    v = float(v_read)
    if not np.isfinite(v) or v == 0:
        raise ConfigError("v_read", f"must be a finite non-zero voltage, got {v_read!r}")
    return v
