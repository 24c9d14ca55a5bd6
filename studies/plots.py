"""Plots of a study's table: accuracy versus wire resistance (one curve per array size), accuracy versus
ADC bits, and IR-drop heatmaps of chosen points (re-simulated in ngspice from the saved weights)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig
from memcosim.hardware_aware.deploy import (
    hardware_for, install_fault_maps, plan_tiles, session_options, tile_conductances, tile_faults,
)
from memcosim.hardware_aware.model import HwNetwork
from memcosim.fileio import atomic_write_text
from memcosim.studies.config import Point, Study
from memcosim.studies.run import ResultStore


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _others_fixed(table, x: str, group: list[str]):
    """Rows whose settings other than ``x`` and ``group`` take their most common value (one slice), and
    those values ({column: value})."""
    import pandas as pd

    t = table
    fixed: dict[str, object] = {}
    for col in ("dac_bits", "adc_bits", "weight_bits", "variation", "fault_rate", "model", "program", "r_wire", "size",
                "replicate"):
        if col in (x, *group) or col not in t or t[col].nunique() <= 1:
            continue
        fixed[col] = t[col].mode().iloc[0]
        t = t[t[col] == fixed[col]]
    return (t if isinstance(t, pd.DataFrame) else t.to_frame()), fixed


def _curves(table, x: str, group: list[str], path: Path, title: str, xlabel: str,
            log: Callable[[str], None] | None = None) -> Path | None:
    """The plot, or None after telling ``log`` why it cannot be drawn."""
    t, fixed = _others_fixed(table, x, group)
    if t.empty or t[x].nunique() < 2:
        if log:
            values = sorted(t[x].unique().tolist()) if not t.empty else []
            where = ", ".join(f"{k} = {_plain(v)}" for k, v in fixed.items()) or "all points"
            log(f"{path.name} not drawn: it needs at least two {x} values among the points with the other "
                f"settings at their most common values ({where}); those points have {x} = "
                f"{', '.join(str(_plain(v)) for v in values) or 'none'}. Put the {x} grid at those settings.")
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {"hw_aware": "-", "plain": "--"}
    for keys, part in t.groupby(group):
        keys = keys if isinstance(keys, tuple) else (keys,)
        label = ", ".join(f"{g} {k}" for g, k in zip(group, keys))
        part = part.groupby(x, as_index=False)["deployed_accuracy"].mean().sort_values(x)
        method = dict(zip(group, keys)).get("method", "hw_aware")
        ax.plot(part[x], 100 * part["deployed_accuracy"], styles.get(method, "-"), marker="o", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("deployed accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def accuracy_vs_wire(table, path: Path, log: Callable[[str], None] | None = None) -> Path | None:
    """Deployed accuracy versus ohm per wire segment, one curve per array size (and training method)."""
    group = ["size"] + (["method"] if table["method"].nunique() > 1 else [])
    return _curves(table, "r_wire", group, path, "accuracy vs wire resistance (ngspice, deployed)",
                   "wire resistance per segment (ohm)", log)


def accuracy_vs_adc(table, path: Path, log: Callable[[str], None] | None = None) -> Path | None:
    """Deployed accuracy versus ADC bits, one curve per training method (other settings at their most common value)."""
    group = ["method"]
    return _curves(table, "adc_bits", group, path, "accuracy vs ADC resolution (ngspice, deployed)", "ADC bits", log)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def ir_drop_map(study: Study, point: Point, weights_hex: str) -> np.ndarray:
    """IR drop per cell as a fraction of the read voltage (full DAC scale): (row voltage applied - voltage across
    the cell) / v_read, on the first array of layer 0 with the point's trained weights programmed (ideal set)
    and the mean test input applied."""
    seed = study.point_seed(point)
    arrays = dataclasses.replace(point.arrays, program="ideal")
    hw = hardware_for(arrays, weight_bits=point.weight_bits, variation=point.variation, fault_rate=point.fault_rate,
                      seed=seed % (2**31))
    data = study.network.load()
    net = HwNetwork([data.n_features, *study.network.hidden, data.n_classes], hw)
    net.load_state_dict(torch.load(io.BytesIO(bytes.fromhex(weights_hex))))
    tiles = plan_tiles(net.sizes, arrays.size, seed)
    install_fault_maps(net, tiles, arrays)
    t = tiles[0]
    g_min, g_max, _, _ = arrays.window()
    cfg = CrossbarLayerConfig(arrays.size, t.outputs.stop - t.outputs.start,
                              dataclasses.replace(arrays.device, g_min=g_min, g_max=g_max), arrays.wires,
                              dac=arrays.dac, adc=arrays.adc, tia=arrays.tia, faults=tile_faults(t, hw, arrays))
    x = np.zeros((1, arrays.size))
    mean = data.x_test.mean(axis=0)[t.inputs]
    x[0, : len(mean)] = mean
    with CrossbarCircuit([cfg], options=session_options(), title="ir drop") as circuit:
        layer = circuit.layers[0]
        layer.write_conductances(np.clip(tile_conductances(net, t, arrays.size, g_min), g_min, g_max))
        codes = layer.dac_codes(x)[0]
        v = layer.dac_voltages(codes)
        xb = layer.crossbar
        circuit.session.set_sources(dict(zip(xb.row_sources, v.tolist())))
        R, C = arrays.size, 2 * (t.outputs.stop - t.outputs.start)
        rows = [xb.row_node(i, j) for i in range(R) for j in range(C)]
        cols = [xb.column_node(i, j) for i in range(R) for j in range(C)]
        r = circuit.session.op(voltages=sorted(set(rows + cols)))
        vr = np.array([r[n] for n in rows]).reshape(R, C)
        vc = np.array([r[n] for n in cols]).reshape(R, C)
    applied = np.repeat(v[:, None], C, axis=1)
    return (applied - (vr - vc)) / cfg.device.v_read


def ir_drop_plot(drop: np.ndarray, point: Point, path: Path) -> Path:
    """Heatmap of an IR-drop map (percent of the read voltage)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    im = ax.imshow(100 * drop, cmap="magma", origin="upper")
    fig.colorbar(im, ax=ax, label="IR drop (% of the read voltage)")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    a = point.arrays
    ax.set_title(f"IR drop, {a.size}x{a.size} array, {a.wires.r_row:g} ohm/segment, {a.device.model}\n"
                 f"{point.method}, mean test input on the rows", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def study_plots(study: Study, out: str | Path, log=print) -> list[Path]:
    """Every plot of a finished (or partly finished) study, into ``out``; returns the files written."""
    import pandas as pd

    out = Path(out)
    table = pd.read_csv(out / "results.csv")
    written = []
    if table.empty:
        if log:
            log("no plots: no point has finished")
        return written
    if study.read is not None:
        return read_plots(table, out, log)
    if study.nn is not None:
        return nn_plots(table, out, log)
    for fn, name in ((accuracy_vs_wire, "accuracy_vs_wire.png"), (accuracy_vs_adc, "accuracy_vs_adc.png")):
        p = fn(table, out / name, log)
        if p is not None:
            written.append(p)
    store = ResultStore(study, out)
    for sel in study.ir_drop:
        for point, key in zip(study.points, store.keys):
            if study.matches(point, sel) and store.path(key).exists():
                drop = ir_drop_map(study, point, store.load(key)["weights"])
                name = "ir_drop_" + "_".join(f"{k}{v}" for k, v in sorted(sel.items())) + ".png"
                written.append(ir_drop_plot(drop, point, out / name))
                break
        else:
            if log:
                log(f"no finished point matches plots.ir_drop selection {sel}")
    return written


def nn_plots(table, out: Path, log: Callable[[str], None] | None = None) -> list[Path]:
    """The figures of a torch model study ([nn]), one panel per tile size: ``accuracy_vs_adc.png`` (deployed
    accuracy versus ADC bits, one line per wire resistance, the torch hardware mode dashed) and
    ``accuracy_vs_wire.png`` (versus ohm per segment, one line per ADC resolution); bars are the binomial standard
    error. Points whose other axes (DAC bits) are not at their most common value are left out."""
    written: list[Path] = []
    t, _ = _others_fixed(table, "adc_bits", ["size", "r_wire"])
    for x, line, name, xlabel in (("adc_bits", "r_wire", "accuracy_vs_adc.png", "ADC bits"),
                                  ("r_wire", "adc_bits", "accuracy_vs_wire.png", "wire resistance per segment (ohm)")):
        if t[x].nunique() < 2:
            if log:
                log(f"{name} not drawn: the points have fewer than two {x} values")
            continue
        written.append(_nn_figure(t, x, line, out / name, xlabel))
    return written


def _nn_figure(t, x: str, line: str, path: Path, xlabel: str) -> Path:
    plt = _plt()
    sizes = sorted(t["size"].unique().tolist())
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.6 * len(sizes) + 0.8, 3.8), sharey=True, squeeze=False)
    unit = {"r_wire": " ohm", "adc_bits": " bit ADC"}
    for ax, size in zip(axes[0], sizes):
        part = t[t["size"] == size]
        for value, rows in part.groupby(line):
            rows = rows.sort_values(x)
            ax.errorbar(rows[x], 100 * rows["deployed_accuracy"], yerr=100 * rows["deployed_standard_error"],
                        marker="o", capsize=3, label=f"ngspice, {_plain(value):g}{unit[line]}")
        if x == "adc_bits":
            ref = part.groupby(x, as_index=False)["hardware_model_accuracy"].mean().sort_values(x)
            ax.plot(ref[x], 100 * ref["hardware_model_accuracy"], "k--", lw=1, label="torch hardware mode")
        ax.set_title(f"{size}x{size} tiles", fontsize=10)
        ax.set_xticks(sorted(t[x].unique().tolist()))
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=7)
    n = int(t["samples"].iloc[0])
    fig.suptitle(f"converted torch model on tiles, {n} test samples per point (bars: standard error)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


READ_PLOT_AXES = ("corner", "temperature", "mismatch_seed", "size", "r_wire", "adc_bits")
CORNER_ORDER = ("ss", "sf", "tt", "fs", "ff")


def read_plots(table, out: Path, log: Callable[[str], None] | None = None) -> list[Path]:
    """Read error and energy per axis of a read study: for every axis with two or more values, among the
    points whose other axes sit at their most common values (all mismatch seeds kept, so each value
    shows the mismatch spread), ``read_vs_<axis>.csv`` (mean, std, min, max and points per value) and
    ``read_vs_<axis>.png`` (mean with the min .. max range)."""
    import pandas as pd

    written: list[Path] = []
    for axis in READ_PLOT_AXES:
        if axis not in table or table[axis].nunique() < 2:
            continue
        t = table
        for other in READ_PLOT_AXES:
            if other in (axis, "mismatch_seed") or t[other].nunique() <= 1:
                continue
            t = t[t[other] == t[other].mode().iloc[0]]
        if t[axis].nunique() < 2:
            if log:
                log(f"read_vs_{axis} not drawn: fewer than two {axis} values at the other axes' common values")
            continue
        summary = t.groupby(axis).agg(
            read_error_mean=("read_error", "mean"), read_error_std=("read_error", "std"),
            read_error_min=("read_error", "min"), read_error_max=("read_error", "max"),
            energy_mean=("energy", "mean"), energy_std=("energy", "std"), energy_min=("energy", "min"),
            energy_max=("energy", "max"), points=("read_error", "size")).reset_index()
        if axis == "corner":
            summary["order"] = [CORNER_ORDER.index(c) for c in summary["corner"]]
            summary = summary.sort_values("order").drop(columns="order")
        csv_path = out / f"read_vs_{axis}.csv"
        atomic_write_text(csv_path, summary.to_csv(index=False))
        written.append(csv_path)
        written.append(_read_figure(summary, axis, out / f"read_vs_{axis}.png"))
    if not written and log:
        log("no read plots: no axis has two or more values")
    return written


def _read_figure(summary, axis: str, path: Path) -> Path:
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 3.8))
    x = np.arange(len(summary)) if axis == "corner" else summary[axis].to_numpy(dtype=float)
    for ax, name, scale, label in ((a1, "read_error", 100.0, "read error (% of mean |ideal output|)"),
                                   (a2, "energy", 1e12, "energy per read (pJ, every supply)")):
        mean = summary[f"{name}_mean"].to_numpy() * scale
        low = mean - summary[f"{name}_min"].to_numpy() * scale
        high = summary[f"{name}_max"].to_numpy() * scale - mean
        ax.errorbar(x, mean, yerr=[low, high], marker="o", capsize=3)
        ax.set_xlabel(axis)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if axis == "corner":
            ax.set_xticks(x, summary["corner"].tolist())
    fig.suptitle(f"read error and energy vs {axis} (mean; bars: min .. max over the points)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
