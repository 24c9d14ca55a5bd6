"""A large weight matrix on crossbar tiles: one batched read on 1 and on 2 local ngspice workers, every tile
checked against scipy.

An ``N x N`` signed weight matrix (seeded uniform in [-1, 1]; ``N`` inputs, ``N`` outputs on differential column
pairs, so ``2N`` physical columns) is put on tiles of ``T x T`` cells (``T / 2`` outputs per tile) of
resistor cells (1 uS .. 20 uS), 2.5 ohm row and column segments, 8-bit row DACs (1 ohm output), automatic TIA
feedback and 8-bit ADCs. One batched read of ``B`` input vectors (seeded uniform in [0, 1]) runs on a
:class:`~memcosim.cosim.tiles.TiledLayer` with 1 and then with 2 local worker processes; the time (after the workers
have started) counts building each tile's netlist, loading it into its worker's ngspice and the ``B`` operating points per tile (tiles are
built on their first call). Every tile's column currents are then compared with a scipy solve of the same tile
network (:func:`memcosim.circuits.nodal.solve_crossbar_batch`: wires, DAC output and driver resistance, the TIA's
input resistance Rf / (1 + A)): the error is max |I_ngspice - I_scipy| / max |I_scipy| per tile, and a tile
passes below 1e-6. Reported: seconds of each read, the CPU seconds of each worker during it, the speedup of 2
workers over 1 (same matrix, same inputs, same run) and the bound on it from the CPU times, the tiles passing, the largest error, whether the 1- and 2-worker outputs agree, and the load
average of the machine (the cores are shared).

Settings (environment, or ``KEY=VALUE`` arguments after the benchmark name, e.g. ``./run bench tiles N=1024
SIZES=64 WORKERS=2``): ``MEMCOSIM_BENCH_TILES_N`` (matrix size, default 1024), ``..._SIZES`` (tile sizes,
default ``64,128``), ``..._VECTORS`` (batch, default 64), ``..._WORKERS`` (default ``1,2``). Results:
``benchmarks/results/tiles.json`` (rewritten after every configuration); progress (tiles read so far) is
logged while a read runs.

Other parts (``MEMCOSIM_BENCH_TILES_PART``):

* ``second``: the CPU seconds of the worker for a first and a second read of the same batch, with the worker
  keeping every tile loaded (``TileSettings.loaded_mb`` default) and keeping one only (each call on a tile
  builds and loads it again: how tiles worked before several circuits per worker); ``N`` defaults to 128 here
  (8 tiles of 64x64), one worker (``benchmarks/results/tiles_second_call.json``);
* ``profile``: where one tile's read goes, in this process (CPU seconds): building the netlist, loading it
  into ngspice, the first (cold) and every further operating point of a batch, and ngspice's own counts
  (Newton iterations per operating point, share of the analysis spent factoring the matrix), for tiles of
  ``SIZES`` (``benchmarks/results/tiles_profile.json``);
* ``dac``: the CPU time of one read of a tile of each of ``SIZES`` (in this process) with a row DAC output
  resistance of each of ``..._R_OUT`` ohm (default ``0,0.1,1,10``), its ratio to the first, and what the
  resistance does to the read: the largest change of the outputs (weight units) and the fraction of ADC codes
  that differ from those of the first resistance on the same inputs (``benchmarks/results/tiles_dac_output.json``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import numpy as np
import scipy.sparse.linalg as spla

from benchmarks.common import argv_settings, process_cpu_seconds, report
from memcosim.circuits.nodal import crossbar_network, solve_crossbar_batch
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig
from memcosim.cosim.session import SessionOptions
from memcosim.cosim.tiles import TiledLayer, TileSettings
from memcosim.cosim.tile_map import TileMap

argv_settings("MEMCOSIM_BENCH_TILES_")  # `./run bench tiles N=1024 SIZES=64 WORKERS=2`: the same as the environment variables
PART = os.environ.get("MEMCOSIM_BENCH_TILES_PART", "")
N = int(os.environ.get("MEMCOSIM_BENCH_TILES_N", "128" if PART == "second" else "1024"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_TILES_SIZES", "64" if PART == "second" else "64,128").split(",")]
VECTORS = int(os.environ.get("MEMCOSIM_BENCH_TILES_VECTORS", "64"))
WORKERS = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_TILES_WORKERS", "1" if PART == "second" else "1,2").split(",")]
TOLERANCE = 1e-6


def layer_config(weights: np.ndarray) -> CrossbarLayerConfig:
    """The matrix's layer config (inputs x outputs of ``weights``): resistor cells, 2.5 ohm segments, 8-bit DAC
    (1 ohm out) and ADC."""
    return CrossbarLayerConfig(*weights.shape, DeviceConfig("resistor", g_min=1e-6, g_max=2e-5), WireConfig.uniform(2.5),
                               dac=DacConfig(bits=8, r_out=1.0), adc=AdcConfig(bits=8), initial=weights)


def check_tiles(layer: TiledLayer, read) -> tuple[int, float, float]:
    """(tiles within TOLERANCE, largest error, seconds of the scipy solves) against scipy, per tile."""
    c = layer.tile_config
    r_sense = c.feedback / (1.0 + c.tia.gain)
    passed, worst, t0 = 0, 0.0, time.perf_counter()
    for key, g in layer.tile_conductances().items():
        r = read.tiles[key]
        ref = solve_crossbar_batch(g, layer.dac_voltages(r.dac_codes), c.wires.r_row, c.wires.r_column,
                                   c.wires.r_driver + c.dac.r_out, r_sense)
        err = float(np.abs(r.currents - ref).max() / np.abs(ref).max())
        passed += err <= TOLERANCE
        worst = max(worst, err)
    return passed, worst, time.perf_counter() - t0


def dac_output_rows(size: int = 128, reads: int = 3, resistances: tuple[float, ...] = (0.0, 1.0)) -> list[dict]:
    """CPU seconds of one read of a ``size`` x ``size`` tile (in this process) with the row DAC's output
    resistance at each of ``resistances`` ohm (0: the buffer drives the row line directly), and the change of
    the outputs and ADC codes against the first resistance (same weights, same inputs)."""
    rng = np.random.default_rng(1)
    weights = rng.uniform(-1.0, 1.0, (size, size // 2))
    x = rng.uniform(0.0, 1.0, (reads, size))
    rows, first = [], None
    for r_out in resistances:
        cfg = dataclasses.replace(layer_config(weights), dac=DacConfig(bits=8, r_out=r_out))
        with CrossbarCircuit([cfg], SessionOptions(worker=False)) as circuit:
            layer = circuit.layers[0]
            layer.forward(x[:1])
            t0 = time.process_time()
            read = layer.forward(x)
            cpu = (time.process_time() - t0) / reads
        first = first or (cpu, read)
        rows.append({"tile": f"{size}x{size}", "dac_r_out_ohm": r_out, "read_cpu_s": cpu,
                     "cpu_over_first": cpu / first[0],
                     "max_output_change": float(np.abs(read.outputs - first[1].outputs).max()),
                     "adc_codes_changed": float(np.mean(read.adc_codes != first[1].adc_codes))})
    return rows


def second_call_rows(weights: np.ndarray, x: np.ndarray, size: int) -> list[dict]:
    """CPU seconds of one worker for a first and a second read of batch ``x``, keeping every tile loaded and
    keeping one (each call on a tile rebuilds it: the behaviour before several circuits per worker)."""
    rows = []
    outputs = []
    for kept, loaded_mb in (("every tile", TileSettings.loaded_mb), ("one tile", 1e-6)):
        with TiledLayer(layer_config(weights), TileSettings(size, size, workers=1, loaded_mb=loaded_mb)) as layer:
            pid = layer.pool.workers[0].pid
            for call in ("first", "second"):
                c0, t0 = process_cpu_seconds(pid), time.perf_counter()
                read = layer.forward(x)
                cpu, wall = process_cpu_seconds(pid) - c0, time.perf_counter() - t0
                outputs.append(read.outputs)
                rows.append({"matrix": f"{N}x{N}", "tile": f"{size}x{size}", "tiles": layer.map.count,
                             "vectors": len(x), "worker_keeps": kept, "call": call, "worker_cpu_s": cpu,
                             "cpu_per_tile_s": cpu / layer.map.count, "read_s": wall,
                             "load": os.getloadavg()[0]})
                print(rows[-1], flush=True)
    assert all(np.array_equal(o, outputs[0]) for o in outputs), "the reads differ"
    return rows


def profile_rows(size: int, vectors: int) -> list[dict]:
    """Where one ``size`` x ``size`` tile's batched read goes, in this process (CPU seconds; resistor cells,
    2.5 ohm segments, 1 ohm DAC output): netlist build, load, cold and warm operating points, and ngspice's counts."""
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.cosim.layer import merge_crossbars

    rng = np.random.default_rng(2)
    weights = rng.uniform(-1.0, 1.0, (size, size // 2))
    x = rng.uniform(0.0, 1.0, (vectors, size))
    cfg = layer_config(weights)
    clock = time.process_time
    t0 = clock()
    g = np.full((cfg.inputs, cfg.columns), cfg.device.g_min)  # the netlist's cost does not depend on the values
    net, _ = merge_crossbars([build_crossbar(cfg.array(conductance=g), check=False)], "profile")
    net.render()
    build = clock() - t0
    t0 = clock()
    circuit = CrossbarCircuit([cfg], SessionOptions(worker=False))
    build_and_load = clock() - t0
    try:
        layer = circuit.layers[0]
        ops = []
        for b in range(vectors):
            t0 = clock()
            layer.forward(x[b:b + 1])
            ops.append(clock() - t0)
        stats = circuit.session.library.command("rusage all").stdout
    finally:
        circuit.close()
    facts = {}
    for line in stats:
        if "=" in line:
            key, _, value = line.partition("=")
            facts[key.strip()] = value.strip()
    warm = np.array(ops[1:])
    analysis = float(facts.get("Total analysis time (seconds)", "nan"))
    # the same wires and cells as a bare nodal network (row and column nodes only), factored by scipy with its
    # best fill-reducing ordering for this structure: the fill any ordering of the tile's matrix can hope for
    c = cfg
    network = crossbar_network(np.full((size, size), c.device.g_min), np.zeros(size), c.wires.r_row,
                               c.wires.r_column, c.wires.r_driver + c.dac.r_out, c.feedback / (1.0 + c.tia.gain))
    lu = spla.splu(network.matrix()[0].tocsc(), permc_spec="MMD_AT_PLUS_A")
    return [{"tile": f"{size}x{size}", "unknowns": int(facts.get("Circuit Equations", 0)),
             "lu_nonzeros": int(facts.get("Circuit total non-zeroes", 0)),
             "scipy_nodal_lu_nonzeros": int(lu.L.nnz + lu.U.nnz), "build_s": build,
             "load_s": build_and_load - build, "first_op_s": ops[0], "op_median_s": float(np.median(warm)),
             "op_min_s": float(warm.min()), "op_max_s": float(warm.max()), "batch_s": build_and_load + sum(ops),
             "newton_per_op": int(facts.get("Total iterations", 0)) / vectors,
             "factor_share": float(facts.get("Matrix factor time", "nan")) / analysis,
             "load": os.getloadavg()[0]}]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("memcosim.cosim.tiles").setLevel(logging.INFO)  # progress of the reads
    if PART == "second":
        rng = np.random.default_rng(0)
        weights = rng.uniform(-1.0, 1.0, (N, N))
        x = rng.uniform(0.0, 1.0, (VECTORS, N))
        rows = [r for size in SIZES for r in second_call_rows(weights, x, size)]
        report("tiles_second_call", rows, notes=(
            f"CPU seconds of the one worker for a batched read of {VECTORS} vectors on a {N}x{N} matrix, the first "
            f"call (builds and loads every tile) and the second, with the worker keeping every tile loaded (several "
            f"ngspice circuits, switched with setcirc) and keeping one (every call on a tile builds it again); the "
            f"outputs of all reads are identical"))
        return
    if PART == "profile":
        rows = [r for size in SIZES for r in profile_rows(size, VECTORS)]
        report("tiles_profile", rows, notes=(
            "one tile in this process, CPU seconds: build = netlist made in Python, load = parsed by ngspice (and "
            "session set-up), first_op = the first (cold) operating point, op_* = each further one (DAC codes set, "
            "warm DC point, TIA outputs and column currents read); newton_per_op = ngspice iterations per "
            "operating point (2 is the least ngspice takes: each refactors the matrix), factor_share = ngspice's "
            "matrix factor time / its analysis time (wall clock); lu_nonzeros = ngspice's KLU factors of the tile's "
            "matrix, scipy_nodal_lu_nonzeros = scipy's LU (MMD on A+A^T) of the bare nodal network of the same "
            "cells and wires"))
        return
    if PART == "dac":
        resistances = tuple(float(r) for r in os.environ.get("MEMCOSIM_BENCH_TILES_R_OUT", "0,0.1,1,10").split(","))
        rows = [r for size in SIZES for r in dac_output_rows(size, 5, resistances)]
        report("tiles_dac_output", rows, notes=(
            "one read (DAC, array, TIA, ADC) of a tile in this process, CPU seconds (mean of 5 single-vector reads "
            "after a warm-up), resistor cells 1-20 uS, 2.5 ohm segments, 8-bit DAC and ADC; ratios and changes "
            f"against the first r_out of the same tile, same run; load average {os.getloadavg()[0]:.1f}"))
        return
    rng = np.random.default_rng(0)
    weights = rng.uniform(-1.0, 1.0, (N, N))
    x = rng.uniform(0.0, 1.0, (VECTORS, N))
    cfg = layer_config(weights)
    rows: list[dict] = []
    for size in SIZES:
        outputs: dict[int, np.ndarray] = {}
        seconds: dict[int, float] = {}
        cpu: dict[int, list[float]] = {}
        for workers in sorted(WORKERS, reverse=True):
            load0 = os.getloadavg()[0]
            with TiledLayer(cfg, TileSettings(size, size, workers=workers)) as layer:  # workers started, ngspice loaded
                pids = [w.pid for w in layer.pool.workers]
                cpu0 = [process_cpu_seconds(p) for p in pids]
                t0 = time.perf_counter()
                read = layer.forward(x)
                seconds[workers] = time.perf_counter() - t0
                cpu[workers] = [process_cpu_seconds(p) - c for p, c in zip(pids, cpu0)]
                outputs[workers] = read.outputs
                passed, worst, t_check = check_tiles(layer, read)
                count = layer.map.count
            row = {"matrix": f"{N}x{N}", "tile": f"{size}x{size}", "tiles": count, "vectors": VECTORS,
                   "workers": workers, "read_s": seconds[workers], "per_tile_vector_ms": 1e3 * seconds[workers] / count / VECTORS * workers,
                   "worker_cpu_s": "/".join(f"{c:.1f}" for c in cpu[workers]),
                   "tiles_ok": f"{passed}/{count}", "max_rel_err": worst, "scipy_s": t_check,
                   "load_before": load0, "load_after": os.getloadavg()[0]}
            rows.append(row)
            print(row, flush=True)
            report("tiles", rows, notes="partial")
        if 1 in seconds and 2 in seconds:
            rows[-1]["speedup_2_over_1"] = seconds[1] / seconds[2]
            # on an idle 2-core machine the read would take about its busiest worker's CPU time
            rows[-1]["cpu_bound_2_over_1"] = sum(cpu[1]) / max(cpu[2])
            rows[-1]["outputs_agree"] = bool(np.allclose(outputs[1], outputs[2], atol=1e-9))
    speedups = {r["tile"]: r["speedup_2_over_1"] for r in rows if "speedup_2_over_1" in r}
    report("tiles", rows, notes=(
        f"{N}x{N} signed matrix, resistor cells, 2.5 ohm segments, 8-bit DAC/ADC; one batched read of {VECTORS} "
        f"vectors; read_s includes building and loading every tile; per_tile_vector_ms = read_s x workers / tiles "
        f"/ vectors; tile error vs scipy: max|dI| / max|I| (pass <= {TOLERANCE:g}); speedup of 2 workers over 1: "
        f"{speedups} (target >= 1.8); load = 1-min load average of the shared 2-core machine; worker_cpu_s = CPU "
        f"seconds of each worker during the read; cpu_bound_2_over_1 = CPU seconds of the 1-worker read / those of "
        f"the busiest of the 2 workers: the speedup an idle 2-core machine would allow (a bound, not a wall time)."))
