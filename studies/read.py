"""Read points of a study (``[read]``): a known conductance pattern read on one PDK array per point.

Each point builds a ``size`` x ``size`` array of resistor cells (:class:`~memcosim.studies.config.ReadSettings`:
pattern and inputs from the study seed, the point's wire resistance) on sky130
(:func:`memcosim.circuits.sky130.pdk_array`: 1T1R access transistors, transistor-level TIAs at the
point's ``corner``), turns on the devices' mismatch when the point has a ``mismatch_seed`` >= 0
(:func:`memcosim.circuits.sky130.apply_mismatch`), and runs ngspice at the point's ``temperature``:
an operating point for the read error, a transient of ``t_read`` seconds for the energy of every supply.
"""

from __future__ import annotations

import time

import numpy as np

from memcosim.circuits import sky130
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.studies.config import ENERGY_GROUPS, Point, ReadSettings, Study


def read_pattern(read: ReadSettings, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The conductances (siemens, size x size) and row voltages (volts, size) every point of a study reads."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(read.device.g_min, read.device.g_max, (size, size))
    v = read.device.v_read * rng.uniform(0.25, 1.0, size)
    return g, v


def read_array(study: Study, point: Point) -> ArrayConfig:
    """The point's array: the read pattern, the point's wires and ADC bits, on the study's PDK at the point's corner."""
    read = study.read
    size = point.arrays.size
    g, _ = read_pattern(read, size, study.settings.seed)
    w = point.arrays.wires
    per = PeripheryConfig(dac=DacConfig(bits=point.arrays.dac.bits, v_max=read.device.v_read, r_out=0.0), tia=read.tia,
                          adc=AdcConfig(bits=point.arrays.adc.bits))
    config = ArrayConfig(size, size, conductance=g, wires=WireConfig(r_row=w.r_row, r_column=w.r_column), periphery=per)
    return sky130.pdk_array(config, point.corner)


def run_read_point(study: Study, point: Point) -> dict:
    """Read the study's pattern on the point's array; returns ``{"row": ..., "timing": ...}`` (as
    :func:`memcosim.studies.run.run_point`, without weights)."""
    t0 = time.perf_counter()
    read = study.read
    xbar = build_crossbar(read_array(study, point))
    if point.mismatch_seed >= 0:
        sky130.apply_mismatch(xbar.netlist, point.mismatch_seed)
    t_netlist = time.perf_counter() - t0
    g, v = read_pattern(read, point.arrays.size, study.settings.seed)
    options = SessionOptions(temperature=point.temperature, worker=False)
    with open_session(xbar.netlist, options) as s:
        codes = xbar.blocks.dac.code(v)
        s.set_sources(xbar.dac_values(codes))
        applied = np.asarray(xbar.blocks.dac.voltage(codes), dtype=float)
        r = s.op(voltages=xbar.tia_outputs)
        out = r.stack(xbar.tia_outputs)
        tran = s.tran(read.t_read, read.t_read / 50)
    ideal = -read.tia.r_feedback * (g.T @ applied)
    scale = float(np.mean(np.abs(ideal)))
    error = np.abs(out - ideal)
    energy = tran.energy
    row = {**point.axes(), "read_error": float(np.mean(error) / scale), "read_error_max": float(np.max(error) / scale),
           "energy": tran.total_energy, **{f"energy_{grp}": float(energy.get(grp, 0.0)) for grp in ENERGY_GROUPS},
           "power": tran.total_energy / read.t_read, "operating_points": 2}
    seconds = time.perf_counter() - t0
    timing = {"training_seconds": 0.0, "netlist_seconds": t_netlist, "programming_seconds": 0.0,
              "simulation_seconds": seconds - t_netlist, "point_seconds": seconds}
    return {"row": row, "timing": timing}
