"""Time steps of programming pulses: accuracy of the state change per pulse against cost, per device model.

For every shipped model, a 1x1 array (no wire resistance) gets a train of its preset SET pulses from
its OFF state and a train of its preset RESET pulses from its ON state (``PulseSpec(amplitude,
preset.step)``: 1 ns edges), each pulse through the programming path (``apply_pulse``). The
reference is the same train with a largest time step of 5 ps (or ``step / 20000`` where that is
longer: 50 ns for ``linear_ion_drift``'s 1 ms pulses). Then every pulse is repeated from the
reference's start state with ``pulse_steps`` time steps per pulse (largest step
``min(duration, step) / pulse_steps``) for each rung of a ladder at relative tolerance 1e-3 and
1e-4, and with the rule used before (largest step ``min(duration, 10 ns)``, tolerance 1e-3). The
reference runs at relative tolerance 1e-6: at 1e-3 the Newton tolerance of every time step
(``reltol * |x|``) adds up to errors of a few percent on small per-pulse changes.

Reported per model, polarity and rule: the largest relative error of a pulse's state change
against the reference (over the pulses whose reference change exceeds 1e-4 of the state range;
pulses at a saturated bound are counted in ``skipped``), the median number of time points ngspice
took per pulse (the cost that does not depend on the machine's load) and the median wall time per
pulse (noisy on a busy shared machine). ``chosen`` marks
the cheapest rule (fewest time points) from which on (this rung and the finer ones at the same
tolerance) the error stays below 1 % for both polarities; ``preset`` marks the preset's
``pulse_steps`` and ``pulse_reltol``.

``$MEMCOSIM_BENCH_PULSES`` pulses per train (default 10), ``$MEMCOSIM_BENCH_MODELS`` a comma list of
models (default all). Results are checkpointed per model and polarity in
``out/bench_pulse_steps/`` and resumed. Table on screen, JSON in ``benchmarks/results/pulse_steps.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import report
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.devices.catalog import get_device
from memcosim.devices.presets import PRESETS, ProgrammingPreset
from memcosim.fileio import atomic_write_text
from memcosim.programming.pulses import PulseSpec, apply_pulse

OUT = Path("out/bench_pulse_steps")
LADDER = (10, 20, 50, 100, 200, 500)
RELTOLS = (1e-3, 1e-4)
REFERENCE_STEP = 5e-12  # s
OLD_STEP = 10e-9  # s, the largest time step of every programming transient before the per-model rule
LIMIT = 0.01  # relative error of a pulse's state change
NEGLIGIBLE = 1e-4  # of the state range: smaller reference changes are not compared


def one_cell(model: str, state: float):
    """A 1x1 array of ``model`` with programming drivers and no wire resistance, at ``state``."""
    return build_crossbar(ArrayConfig(1, 1, device=DeviceConfig(model), wires=WireConfig(r_row=0.0, r_column=0.0),
                                      states=state, periphery=PeripheryConfig(programming=ProgrammingConfig())))


def steps_for(preset: ProgrammingPreset, max_step: float) -> int:
    """The ``pulse_steps`` that gives a largest time step of ``max_step`` seconds at the preset pulse."""
    return max(1, int(round(preset.step / max_step)))


def rules_for(preset: ProgrammingPreset) -> dict[str, ProgrammingPreset]:
    """The rules compared: the one before (largest step 10 ns, session tolerance 1e-3), then every ladder
    rung at relative tolerance 1e-3 and 1e-4."""
    rules = {"before": replace(preset, pulse_steps=steps_for(preset, OLD_STEP), pulse_reltol=1e-3)}
    for reltol in RELTOLS:
        for n in LADDER:
            rules[f"{n} steps, reltol {reltol:g}"] = replace(preset, pulse_steps=n, pulse_reltol=reltol)
    return rules


def train(model: str, amplitude: float, pulses: int, done: dict | None = None) -> dict:
    """Reference train and the error and cost of every rule for one polarity of ``model`` (``done``: a
    checkpoint whose reference and rules are kept)."""
    preset = PRESETS[model]
    device = get_device(model)
    lo, hi = device.bounds
    start = device.off_state if amplitude > 0 else device.on_state
    pulse = PulseSpec(amplitude, preset.step)
    reference = replace(preset, pulse_steps=steps_for(preset, max(REFERENCE_STEP, preset.step / 20000)),
                        pulse_reltol=1e-6)
    xbar = one_cell(model, start)
    with open_session(xbar.netlist, SessionOptions(worker=False)) as s:
        points: list[int] = []
        tran = s.tran

        def counted(*args, **kwargs):  # the time points ngspice took: a cost that a busy machine does not blur
            r = tran(*args, **kwargs)
            points.append(len(r.time))
            return r

        s.tran = counted
        if done is None:
            starts, deltas, ref_times = [], [], []
            for _ in range(pulses):
                t = time.perf_counter()
                r = apply_pulse(s, xbar, pulse, preset=reference)
                ref_times.append(time.perf_counter() - t)
                starts.append(float(r.before[0, 0]))
                deltas.append(float(r.delta[0, 0]))
            done = {"model": model, "amplitude": amplitude, "width": preset.step, "pulses": pulses,
                    "reference_max_step": reference.max_time_step(pulse.duration), "reference_reltol": 1e-6,
                    "starts": starts, "deltas": deltas, "reference_s_per_pulse": statistics.median(ref_times),
                    "reference_points": statistics.median(points), "rules": {}}
        deltas_arr = np.array(done["deltas"])
        compared = np.abs(deltas_arr) > NEGLIGIBLE * (hi - lo)
        done["skipped"] = int((~compared).sum())
        for name, rule in rules_for(preset).items():
            if name in done["rules"]:
                continue
            errors, times = [], []
            points.clear()
            for x0 in done["starts"]:
                s.set_states(np.array([x0]))
                t = time.perf_counter()
                r = apply_pulse(s, xbar, pulse, preset=rule)
                times.append(time.perf_counter() - t)
                errors.append(float(r.delta[0, 0]))
            err = np.abs(np.array(errors) - deltas_arr) / np.maximum(np.abs(deltas_arr), 1e-300)
            worst = float(err[compared].max()) if compared.any() else 0.0
            done["rules"][name] = {"pulse_steps": rule.pulse_steps, "reltol": rule.pulse_reltol,
                                   "max_step": rule.max_time_step(pulse.duration), "max_error": worst,
                                   "worst_pulse": int(np.argmax(np.where(compared, err, -1.0))),
                                   "s_per_pulse": statistics.median(times), "points": statistics.median(points)}
    return done


def measure(model: str, pulses: int) -> list[dict]:
    """Both polarities of ``model``, from the checkpoint when one exists."""
    OUT.mkdir(parents=True, exist_ok=True)
    done = []
    preset = PRESETS[model]
    for amplitude in (preset.set_amplitude, preset.reset_amplitude):
        path = OUT / f"{model}_{'set' if amplitude > 0 else 'reset'}_{pulses}.json"
        old = json.loads(path.read_text()) if path.exists() else None
        if old is not None and set(rules_for(preset)) <= set(old["rules"]):
            done.append(old)
            continue
        print(f"  {model} {amplitude:+g} V x {preset.step:g} s: {pulses} pulses ...", flush=True)
        result = train(model, amplitude, pulses, old)
        atomic_write_text(path, json.dumps(result, indent=1))
        done.append(result)
    return done


def cheapest(results: list[dict]) -> str:
    """The rule of fewest time points (summed over the trains; of equals, the one of smallest error) among the
    rungs from which on the error stays below LIMIT in every train at the rung's tolerance (the finer rungs
    too: at a loose tolerance the error does not fall steadily with the step, and a rung that passes by
    chance between failing ones is not taken)."""
    def ok(name: str) -> bool:
        return all(r["rules"][name]["max_error"] < LIMIT for r in results)

    good = []
    for reltol in RELTOLS:
        names = [f"{n} steps, reltol {reltol:g}" for n in LADDER]
        for k, name in enumerate(names):
            if all(ok(finer) for finer in names[k:]):
                good.append(name)
                break
    return min(good, key=lambda name: (sum(r["rules"][name]["points"] for r in results),
                                       max(r["rules"][name]["max_error"] for r in results))) if good else ""


def main() -> None:
    pulses = int(os.environ.get("MEMCOSIM_BENCH_PULSES", "10"))
    models = os.environ.get("MEMCOSIM_BENCH_MODELS", ",".join(sorted(PRESETS))).split(",")
    rows = []
    for model in models:
        results = measure(model, pulses)
        best = cheapest(results)
        for r in results:
            base = r["rules"]["before"]
            pulse = f"{r['amplitude']:+g} V x {r['width']:g} s"
            for name, rule in r["rules"].items():
                preset = PRESETS[model]
                rows.append({"model": model, "pulse": pulse, "rule": name, "max_step_s": f"{rule['max_step']:.3g}",
                             "reltol": rule["reltol"], "max_error_%": round(100 * rule["max_error"], 3),
                             "points_per_pulse": rule["points"], "ms_per_pulse": round(1e3 * rule["s_per_pulse"], 2),
                             "points_vs_before": round(rule["points"] / base["points"], 2),
                             "chosen": "cheapest" if name == best else "",
                             "preset": "yes" if name != "before" and (rule["pulse_steps"], rule["reltol"]) == (
                                 preset.pulse_steps, preset.pulse_reltol) else "",
                             "skipped": r["skipped"]})
            rows.append({"model": model, "pulse": pulse, "rule": "reference", "max_step_s": f"{r['reference_max_step']:.3g}",
                         "reltol": r["reference_reltol"], "max_error_%": 0.0, "points_per_pulse": r["reference_points"],
                         "ms_per_pulse": round(1e3 * r["reference_s_per_pulse"], 2),
                         "points_vs_before": round(r["reference_points"] / base["points"], 2), "chosen": "",
                         "preset": "", "skipped": r["skipped"]})
    report("pulse_steps", rows, notes=f"{pulses} preset pulses per train from the OFF (SET) / ON (RESET) state, 1x1 "
                                      f"array, error = largest |change - reference change| / |reference change| over "
                                      f"the pulses whose reference change exceeds {NEGLIGIBLE:g} of the state range; "
                                      f"times are medians per pulse on a shared 2-core machine.")


if __name__ == "__main__":
    main()
