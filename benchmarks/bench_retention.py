"""Ageing an array by one month (``Session.age``) against simulating the same month by transient.

A 32x32 array (2.5 ohm wire segments, random states over the state range, seed 0) of each model with
a zero-bias retention law is aged by 30 days at 85 C three ways, in the same run:

* ``age``: ``Session.age(30 days, celsius=85)``, the closed-form zero-bias state equation (median of 5);
* ``transient, 1 ns steps``: a zero-bias ngspice transient at the time resolution the pulse trains use
  (1 ns maximum step), timed over ``SPAN`` seconds and extrapolated linearly to 30 days;
* ``transient, free steps``: the whole 30 days in one ngspice transient whose step control is left
  to ngspice (at most 1/200 of the span), with the model's ``T0`` at 85 C: feasible because nothing
  switches at zero bias. Its final states are compared with ``age``'s (largest relative difference).

Reported: seconds per call and the speed-up of ``age`` over each transient.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.common import median_time, report
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.cosim.engine import open_session
from memcosim.devices.registry import get_model
from memcosim.devices.retention import to_kelvin

N = int(os.environ.get("MEMCOSIM_BENCH_RETENTION_N", "32"))
SPAN = float(os.environ.get("MEMCOSIM_BENCH_RETENTION_SPAN", "2e-6"))  # seconds of 1 ns-step transient
MONTH = 30 * 86400.0
CELSIUS = 85.0
MODELS = ("stanford_pku", "jart_vcm")


def _array(model: str, kelvin: float | None = None):
    m = get_model(model)
    rng = np.random.default_rng(0)
    lo, hi = m.state_min, m.state_max
    states = (np.exp(rng.uniform(np.log(lo), np.log(hi), (N, N))) if lo > 0 else rng.uniform(lo, hi, (N, N)))
    params = {"T0": kelvin} if kelvin is not None else {}
    return build_crossbar(ArrayConfig(N, N, device=DeviceConfig(model, params),
                                      wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=2.5), states=states))


def _row(model: str) -> dict:
    kelvin = to_kelvin(celsius=CELSIUS)
    xbar = _array(model)
    with open_session(xbar.netlist) as s:
        start = s.states.copy()

        def age():
            s.set_states(start)
            return s.age(MONTH, celsius=CELSIUS)

        t_age = median_time(age, repeat=5)
        aged = s.states.copy()
        s.set_states(start)
        t = time.perf_counter()
        s.tran(SPAN, 1e-9, max_step=1e-9)
        t_fine = (time.perf_counter() - t) * MONTH / SPAN
    with open_session(_array(model, kelvin).netlist) as s:
        t = time.perf_counter()
        s.tran(MONTH, MONTH / 200)
        t_free = time.perf_counter() - t
        by_transient = s.states.copy()
    moved = np.abs(aged - start) > 1e-9 * np.abs(start)
    return {"model": model, "devices": N * N, "age_s": t_age, "transient_1ns_s (extrapolated)": t_fine,
            "speedup_vs_1ns": t_fine / t_age, "transient_free_s": t_free, "speedup_vs_free": t_free / t_age,
            "moved_fraction": float(moved.mean()),
            "max_rel_diff_age_vs_transient": float(np.max(np.abs(aged - by_transient) / np.abs(by_transient)))}


def main() -> None:
    rows = [_row(m) for m in MODELS]
    report("retention", rows, f"{N}x{N} arrays aged 30 days at {CELSIUS:g} C; the 1 ns-step transient ran {SPAN:g} s "
           "and is extrapolated linearly to 30 days; the free-step transient ran the whole month")


if __name__ == "__main__":
    main()
