"""The column switches' mode around a write: every analysis that drives the programming sources runs with
the switches joining the columns to their programming drivers, and the array is back in read mode
afterwards (:func:`write_mode`)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np

from memcosim.circuits.crossbar import Crossbar
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


def check_column_voltages(xbar: Crossbar, v_columns: np.ndarray, where: str = "pulse.amplitude") -> None:
    """A ConfigError naming ``where`` if a column voltage (volts) of a write lies outside the column
    switches' rails (nothing to check without switches)."""
    v = np.asarray(v_columns, dtype=float)
    if v.size:
        xbar.periphery.check_write_range(float(v.min()), where)
        xbar.periphery.check_write_range(float(v.max()), where)
