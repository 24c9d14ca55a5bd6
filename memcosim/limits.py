"""Size limits: work whose estimated memory and time are out of proportion is refused before anything
is allocated, with an error that names the limit and how to raise it.

The limit is on the cells of one crossbar (``rows x columns``), checked when an array's configuration
is made. The estimates per cell are the measured costs of building a 256 x 256 array with its netlist
text: 1T1R cells of Verilog-A devices (the most expensive cell) and 1R resistor cells. ``with max_cells(n): ...`` raises the limit
for the code inside (the command line's ``--max-cells N``).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from memcosim.errors import ConfigError

MAX_CELLS = 1 << 20  # cells of one array by default (1024 x 1024)
BYTES_PER_CELL = 5.5e3  # bytes of memory per device cell while a netlist is built and rendered
SECONDS_PER_CELL = 50e-6  # seconds of CPU per device cell to build and render the netlist
RESISTOR_SHARE = 0.5  # a resistor cell costs about half as much memory and time

_limit: ContextVar[int] = ContextVar("memcosim_max_cells", default=MAX_CELLS)


@contextmanager
def max_cells(limit: int) -> Iterator[int]:
    """Allow arrays of up to ``limit`` cells inside the ``with`` block."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError("max_cells", f"must be an integer >= 1, got {limit!r}")
    token = _limit.set(limit)
    try:
        yield limit
    finally:
        _limit.reset(token)


def cell_limit() -> int:
    """The cell limit per array in force here (cells)."""
    return _limit.get()


def call_with_limit(limit: int, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` under a cell limit of ``limit``: carries a raised limit into another process (a Dask
    worker starts with the default)."""
    with max_cells(limit):
        return function(*args)


def estimate(cells: int, devices: bool = True) -> tuple[float, float]:
    """(bytes of memory, seconds of CPU) to build and render the netlist of an array of ``cells`` cells
    (``devices``: Verilog-A device cells, else resistors)."""
    share = 1.0 if devices else RESISTOR_SHARE
    return cells * BYTES_PER_CELL * share, cells * SECONDS_PER_CELL * share


def check_cells(rows: int, columns: int, field: str = "rows") -> None:
    """ConfigError naming ``field`` when a ``rows`` x ``columns`` array is over the cell limit."""
    cells = rows * columns
    limit = _limit.get()
    if cells <= limit:
        return
    memory, seconds = estimate(cells)
    raise ConfigError(field, f"{rows} x {columns} = {cells:,} cells is over the limit of {limit:,} cells per array: "
                             f"it would need about {memory / 2**30:,.1f} GiB of memory and {seconds / 60:,.0f} min to "
                             f"build ({BYTES_PER_CELL:g} bytes and {SECONDS_PER_CELL * 1e6:g} us per device cell); to go "
                             "ahead deliberately, raise the limit with --max-cells N (memcosim.limits.max_cells in Python)")
