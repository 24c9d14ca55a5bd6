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

Settings (environment): ``MEMCOSIM_BENCH_TILES_N`` (matrix size, default 1024), ``..._SIZES`` (tile sizes,
default ``64,128``), ``..._VECTORS`` (batch, default 64), ``..._WORKERS`` (default ``1,2``). Results:
``benchmarks/results/tiles.json`` (rewritten after every configuration). ``MEMCOSIM_BENCH_TILES_PART=dac``
instead measures the CPU time of one read of a 128x128 tile with a row DAC output resistance of 0 and of
1 ohm (``benchmarks/results/tiles_dac_output.json``).
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from benchmarks.common import report
from memcosim.circuits.nodal import solve_crossbar_batch
from memcosim.config.array import DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig
from memcosim.cosim.session import SessionOptions
from memcosim.cosim.tiles import TiledLayer, TileSettings

N = int(os.environ.get("MEMCOSIM_BENCH_TILES_N", "1024"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_TILES_SIZES", "64,128").split(",")]
VECTORS = int(os.environ.get("MEMCOSIM_BENCH_TILES_VECTORS", "64"))
WORKERS = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_TILES_WORKERS", "1,2").split(",")]
TOLERANCE = 1e-6


def layer_config(weights: np.ndarray) -> CrossbarLayerConfig:
    """The matrix's layer config (inputs x outputs of ``weights``): resistor cells, 2.5 ohm segments, 8-bit DAC
    (1 ohm out) and ADC."""
    return CrossbarLayerConfig(*weights.shape, DeviceConfig("resistor", g_min=1e-6, g_max=2e-5), WireConfig.uniform(2.5),
                               dac=DacConfig(bits=8, r_out=1.0), adc=AdcConfig(bits=8), initial=weights)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def dac_output_rows(size: int = 128, reads: int = 3) -> list[dict]:
    """CPU seconds of one read of a ``size`` x ``size`` tile (in this process) with the row DAC's output
    resistance at 0 ohm (the buffer drives the row line directly) and at 1 ohm."""
    rng = np.random.default_rng(1)
    weights = rng.uniform(-1.0, 1.0, (size, size // 2))
    x = rng.uniform(0.0, 1.0, (reads, size))
    rows = []
    for r_out in (0.0, 1.0):
        cfg = dataclasses.replace(layer_config(weights), dac=DacConfig(bits=8, r_out=r_out))
        with CrossbarCircuit([cfg], SessionOptions(worker=False)) as circuit:
            layer = circuit.layers[0]
            layer.forward(x[:1])
            t0 = time.process_time()
            layer.forward(x)
            cpu = (time.process_time() - t0) / reads
        rows.append({"tile": f"{size}x{size}", "dac_r_out_ohm": r_out, "read_cpu_s": cpu})
    return rows


def main() -> None:
    if os.environ.get("MEMCOSIM_BENCH_TILES_PART", "") == "dac":
        rows = dac_output_rows()
        report("tiles_dac_output", rows, notes=(
            f"one read (DAC, array, TIA, ADC) of a 128x128 tile in this process, CPU seconds, resistor cells, 2.5 ohm "
            f"segments; r_out = 0 is {rows[0]['read_cpu_s'] / rows[1]['read_cpu_s']:.1f}x slower than 1 ohm"))
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
                cpu0 = [cpu_seconds(p) for p in pids]
                t0 = time.perf_counter()
                read = layer.forward(x)
                seconds[workers] = time.perf_counter() - t0
                cpu[workers] = [cpu_seconds(p) - c for p, c in zip(pids, cpu0)]
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
