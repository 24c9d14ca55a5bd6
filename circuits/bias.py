"""Write biasing: the row and column voltages that program one cell under a half-select scheme.

A write of ``amplitude`` volts to cell (row, column) puts ``amplitude`` on the selected row and
0 V on the selected column. Unselected lines are biased so that cells sharing a line with the
selected cell (half-selected) and all other cells (unselected) see a reduced voltage:

=========  =============  ================  ===================  ===========================
scheme     unselected row unselected column half-selected cells  unselected cells
=========  =============  ================  ===================  ===========================
``V/2``    V/2            V/2               V/2                  0
``V/3``    V/3            2V/3              V/3                  -V/3
``ground`` 0              0                 V (selected row), 0  0
=========  =============  ================  ===================  ===========================
"""

from __future__ import annotations

import numpy as np

from memcosim import fields as f
from memcosim.config.periphery import SCHEMES


def line_voltages(
    scheme: str, amplitude: float, rows: int, columns: int, row: int, column: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column line voltages (volts) that write cell (``row``, ``column``) with ``amplitude``."""
    f.choice("scheme", scheme, SCHEMES)
    f.integer("row", row, 0, rows - 1)
    f.integer("column", column, 0, columns - 1)
    v = float(amplitude)
    unselected_row, unselected_column = {"V/2": (v / 2, v / 2), "V/3": (v / 3, 2 * v / 3), "ground": (0.0, 0.0)}[scheme]
    v_rows = np.full(rows, unselected_row)
    v_columns = np.full(columns, unselected_column)
    v_rows[row] = v
    v_columns[column] = 0.0
    return v_rows, v_columns


def cell_bias(v_rows: np.ndarray, v_columns: np.ndarray) -> np.ndarray:
    """Voltage across every cell (row minus column, volts) with ideal wires."""
    return np.asarray(v_rows, dtype=float)[:, None] - np.asarray(v_columns, dtype=float)[None, :]
