"""The end-to-end demo: a memristor crossbar with parasitic wires, read in ngspice, checked by scipy.

It builds an R x C array of ``linear_ion_drift`` devices (whose read conductance has a closed form,
so an independent scipy nodal solution of the same network exists), programs a random pattern of
states, drives the rows, reads the column currents through the co-simulation session, prints
them next to the scipy solution and saves an IR-drop heatmap (PNG) and the table (CSV).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.circuits.nodal import solve_crossbar
from memcosim.devices.registry import get_model
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_text, save_png


@dataclass
class DemoConfig:
    """Settings of the read demo: array size in cells, its ``wires``, the largest row read voltage
    ``v_read_max`` volts, the seed of the random states and row voltages, the output folder."""

    rows: int = 16
    columns: int = 16
    wires: WireConfig = field(default_factory=lambda: WireConfig(r_row=2.5, r_column=2.5, r_driver=10.0))
    v_read_max: float = 0.2
    seed: int = 0
    out_dir: str = "out/demo"

    def __post_init__(self) -> None:
        if self.v_read_max <= 0 or self.v_read_max > 0.5:
            raise ConfigError("v_read_max", f"must be in (0, 0.5] V to stay a read, got {self.v_read_max}")


def linear_drift_conductance(states: np.ndarray) -> np.ndarray:
    """Read conductance (siemens) of ``linear_ion_drift`` devices: 1 / (Ron x + Roff (1 - x))."""
    p = get_model("linear_ion_drift").parameters
    return 1.0 / (p["Ron"] * states + p["Roff"] * (1.0 - states))


def run_read_demo(config: DemoConfig) -> dict:
    """Run the demo; returns the column currents, the scipy reference and the output paths."""
    rng = np.random.default_rng(config.seed)
    states = rng.uniform(0.05, 0.95, size=(config.rows, config.columns))
    xbar = build_crossbar(
        ArrayConfig(config.rows, config.columns, DeviceConfig("linear_ion_drift"), config.wires, states=states)
    )
    v_rows = rng.uniform(0.0, config.v_read_max, size=config.rows)
    row_nodes = [xbar.row_node(i, j) for i in range(config.rows) for j in range(config.columns)]
    col_nodes = [xbar.column_node(i, j) for i in range(config.rows) for j in range(config.columns)]
    with open_session(xbar.netlist) as session:
        session.set_sources(dict(zip(xbar.row_sources, v_rows)))
        reading = session.op(voltages=sorted(set(row_nodes + col_nodes)), currents=xbar.column_sources)
        currents = reading.stack(xbar.column_sources)
        v_cell = np.array([reading[a] - reading[b] for a, b in zip(row_nodes, col_nodes)]).reshape(states.shape)
        states_after = session.states.reshape(states.shape)
    ref = solve_crossbar(linear_drift_conductance(states), v_rows, config.wires.r_row, config.wires.r_column,
                         config.wires.r_driver)
    ideal = v_rows @ linear_drift_conductance(states)
    out = Path(config.out_dir)
    table = io.StringIO()
    w = csv.writer(table)
    w.writerow(["column", "ngspice_A", "scipy_A", "ideal_no_wires_A", "rel_diff_ngspice_scipy"])
    rel = np.abs(currents - ref.column_currents) / np.abs(ref.column_currents)
    for j in range(config.columns):
        w.writerow([j, f"{currents[j]:.9e}", f"{ref.column_currents[j]:.9e}", f"{ideal[j]:.9e}", f"{rel[j]:.3e}"])
    csv_path = atomic_write_text(out / "column_currents.csv", table.getvalue())
    png_path = save_ir_drop_heatmap(v_cell, v_rows, out / "ir_drop.png")
    return {
        "currents": currents, "scipy": ref.column_currents, "ideal": ideal, "max_rel_diff": float(rel.max()),
        "cell_voltage": v_cell, "v_rows": v_rows, "csv": csv_path, "png": png_path,
        "states_unchanged": bool(np.array_equal(states_after, states)),
    }


def ir_drop_millivolts(v_cell: np.ndarray, v_rows: np.ndarray) -> np.ndarray:
    """The IR drop of every cell in millivolts: applied row voltage minus the voltage across the cell
    (lost on wires and drivers). A share of the row voltage would blow up on a row driven near 0 V."""
    return 1e3 * (np.asarray(v_rows, dtype=float)[:, None] - np.asarray(v_cell, dtype=float))


def save_ir_drop_heatmap(v_cell: np.ndarray, v_rows: np.ndarray, path: Path) -> Path:
    """Heatmap of the IR drop of every cell in millivolts (:func:`ir_drop_millivolts`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drop = ir_drop_millivolts(v_cell, v_rows)
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    im = ax.imshow(drop, cmap="viridis", origin="upper")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title("IR drop: V_row - V_cell")
    fig.colorbar(im, ax=ax, label="drop on wires and driver (mV)")
    fig.tight_layout()
    return save_png(fig, path, dpi=100)


def print_read_demo(result: dict) -> None:
    print(f"{'col':>4} {'ngspice (uA)':>14} {'scipy (uA)':>14} {'no wires (uA)':>14} {'rel diff':>10}")
    for j, (a, b, c) in enumerate(zip(result["currents"], result["scipy"], result["ideal"])):
        print(f"{j:>4} {a * 1e6:>14.6f} {b * 1e6:>14.6f} {c * 1e6:>14.6f} {abs(a - b) / abs(b):>10.2e}")
    print(f"max relative difference ngspice vs scipy: {result['max_rel_diff']:.2e}")
    print(f"device states unchanged by the read: {result['states_unchanged']}")
    print(f"wrote {result['csv']} and {result['png']}")
