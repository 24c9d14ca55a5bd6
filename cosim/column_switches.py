"""The column switches' mode around a write: every analysis that drives the programming sources runs with
the switches joining the columns to their programming drivers, and the array is back in read mode
afterwards: set before an operating point (:func:`write_mode`), or as mode changes inside the write's
transient (:func:`mode_change_waveforms`, :func:`switched_write`), whose gate-drive energy the transient
then counts."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping

import numpy as np

from memcosim.circuits.crossbar import Crossbar
from memcosim.circuits.waveforms import Pwl
from memcosim.cosim.session import Session


@contextmanager
def write_mode(session: Session, xbar: Crossbar) -> Iterator[None]:
    """Inside the ``with`` block the array's column switches (if any) join every column to its programming
    driver and take the TIAs off the columns; they are back in read mode afterwards, also after an error."""
    write, read = xbar.switch_mode("write"), xbar.switch_mode("read")
    if not write:
        yield
        return
    session.set_sources(write)
    try:
        yield
    finally:
        session.set_sources(read)


MODE_RAMP = 0.2  # a mode change's control ramp, as a fraction of the switches' t_change


def mode_change_time(xbar: Crossbar) -> float:
    """Seconds given to each mode change of the array's column switches (``periphery.switches.t_change``);
    0 without switches."""
    return 0.0 if not xbar.switch_mode("write") else float(xbar.periphery.switches.t_change)


def mode_change_waveforms(xbar: Crossbar, start: float, end: float, edge: float | None = None) -> dict[str, Pwl]:
    """Waveforms (volts) of the column switches' control sources for a transient that writes between
    ``start`` and ``end`` seconds: read mode until ``start``, a ramp of ``edge`` seconds into write mode,
    write mode until ``end``, a ramp back to read mode; empty without switches. The gate drivers take
    the gates' charge of both mode changes from the switch rails (supply group ``switches``). ``edge``
    defaults to :data:`MODE_RAMP` times the switches' ``t_change``."""
    read, write = xbar.switch_mode("read"), xbar.switch_mode("write")
    if not write:
        return {}
    edge = MODE_RAMP * mode_change_time(xbar) if edge is None else edge
    if not (0.0 < edge and start >= 0.0 and end > start + edge):
        raise ValueError(f"mode changes need 0 < edge and start + edge < end, got {start!r}, {end!r}, {edge!r}")
    times = (0.0, start, start + edge, end, end + edge) if start > 0 else (0.0, edge, end, end + edge)
    out = {}
    for name, r in read.items():
        w = write[name]
        values = (r, r, w, w, r) if start > 0 else (r, w, w, r)
        out[name] = Pwl(times, values)
    return out


def switched_write(xbar: Crossbar, waves: Mapping[str, Pwl], duration: float) -> tuple[dict[str, Pwl], float, float]:
    """The waveforms of one transient that writes with ``waves`` (programming sources, volts, over
    ``duration`` seconds from 0) through the array's column switches, its write's start and its stop time
    (seconds). With switches the write begins after ``t_change`` s in which the switches go into write mode
    and is followed by ``t_change`` s in which they go back (:func:`mode_change_waveforms`; the lines are at
    0 V during both), so the transient counts the gate charge of both changes in group ``switches``.
    Without switches: ``waves``, 0 and ``duration``."""
    lead = mode_change_time(xbar)
    if lead == 0.0:
        return dict(waves), 0.0, duration
    out = {name: w.placed(lead, duration, MODE_RAMP * lead) for name, w in waves.items()}
    out.update(mode_change_waveforms(xbar, 0.0, lead + duration))
    return out, lead, duration + 2 * lead


def check_column_voltages(xbar: Crossbar, v_columns: np.ndarray, where: str = "pulse.amplitude") -> None:
    """A ConfigError naming ``where`` if a column voltage (volts) of a write lies outside the column
    switches' rails (nothing to check without switches)."""
    v = np.asarray(v_columns, dtype=float)
    if v.size:
        xbar.periphery.check_write_range(float(v.min()), where)
        xbar.periphery.check_write_range(float(v.max()), where)
