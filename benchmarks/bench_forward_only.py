"""Forward-only (reset-only) benchmarks on ``stanford_pku`` arrays, digits classes 0-3.

The runs use the tuned run files ``configs/forward_only_ff.toml`` and
``configs/forward_only_competitive.toml`` (hidden 16, goodness-margin gate).

1. Time per training step (a batch of the config's ``batch_size`` samples: 4 operating points per
   sample for ``ff``, 2 for ``competitive``, plus one RESET transient per batch, both layers of a pass
   in one slot) for hidden sizes ``MEMCOSIM_BENCH_FO_SIZES``, and the implied epoch time on the
   4-class training split (first batches: every sample is still pulsed, the slowest part of a run).
2. Memory over an epoch (resident set size after the first batch and at the end).
3. Accuracy (test split never trained on) of ``ff`` and ``competitive`` with RESET pulses (and ideal
   decreases) next to the backprop baseline of the same hidden size; seconds per epoch; update
   energy integrated from the simulated pulse waveforms (sum of -V I dt of the programming drivers)
   per RESET pulse, and the energy of programming the same weight changes with SET/RESET (measured
   on every ``compare_every``-th update, then undone). ``MEMCOSIM_BENCH_FO_EPOCHS`` /
   ``MEMCOSIM_BENCH_FO_TRAIN`` (0 = the config's epochs / the whole training split),
   ``MEMCOSIM_BENCH_FO_RULES``, ``MEMCOSIM_BENCH_FO_MODES``; one table per rule
   (``forward_only_accuracy_<rule>``), learning curves (PNG + CSV) in
   ``benchmarks/results/forward_only_<rule>_<mode>/``. The full accuracy part takes about an hour
   (ff) and 25 min (competitive) per mode on 2 cores; the two rules can run in two processes.
4. Energy per update (part ``energy``, a few minutes): one epoch of each rule with RESET pulses on the first
   ``MEMCOSIM_BENCH_FO_ENERGY_TRAIN`` training samples (default 48); joules per update (one transient per
   batch) and per RESET pulse of every supply group of the circuit (programming drivers, row DACs, TIAs,
   row and array sources), their sum, the programming drivers alone (what was reported before the
   session integrated every supply), and the SET/RESET comparison on every ``compare_every``-th update.
5. Periphery (part ``periphery``, ~5 min): one ``ff`` epoch on the first ``MEMCOSIM_BENCH_FO_PERIPHERY_TRAIN``
   training samples (default 16; evaluated on the first ``MEMCOSIM_BENCH_FO_PERIPHERY_TEST`` test samples,
   default 16; no SET/RESET comparison), hidden ``MEMCOSIM_BENCH_FO_PERIPHERY_HIDDEN`` (0 = the config's),
   three times in the same run: the behavioural TIA left on the columns during writes (as part 4), the
   behavioural TIA with column switches, and the transistor-level sky130 TIA with column switches (gate
   drive of every mode change in group ``switches``); joules per update and per RESET pulse of every supply
   group. The runs pulse different cells (the reads differ), so compare per update and per pulse.
6. Layer writes (part ``layer_write``, ~1 min): a RESET (-0.9 V) and a SET (1.2 V) slot on two 4x4 layers (V/2
   and V/3) in one circuit, sky130 TIA + switches, behavioural TIA + switches, behavioural TIA without
   switches: how far TIA and switch pins come to leaving their rails, the largest TIA output, joules per
   group of the update (both layers; ``switches``: the gate drive of the two mode changes of 8 columns).
7. SAR read cost (part ``sar_read``): seconds per read of a small layer's array (``MEMCOSIM_BENCH_FO_SAR_SIZE``
   inputs,outputs; default 8,4) with the behavioural ADC and with the sky130 SAR ADC, same run: why crossbar
   layers refuse ``adc.circuit = "sky130"``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, memory_rows, report_parts, step_times

EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_FO_EPOCHS", "0"))
TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_TRAIN", "0"))
MEMORY_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_MEMORY_TRAIN", "120"))
SIZES = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_FO_SIZES", "8,16,32,64").split(",")]
PARTS = os.environ.get("MEMCOSIM_BENCH_FO_PARTS", "steps,memory,accuracy,energy,periphery,layer_write,sar_read").split(",")
ENERGY_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_ENERGY_TRAIN", "48"))
RULES = os.environ.get("MEMCOSIM_BENCH_FO_RULES", "ff,competitive").split(",")
MODES = os.environ.get("MEMCOSIM_BENCH_FO_MODES", "pulse,ideal").split(",")
PERIPHERY_TRAIN = int(os.environ.get("MEMCOSIM_BENCH_FO_PERIPHERY_TRAIN", "16"))
PERIPHERY_HIDDEN = int(os.environ.get("MEMCOSIM_BENCH_FO_PERIPHERY_HIDDEN", "0"))
PERIPHERY_TEST = int(os.environ.get("MEMCOSIM_BENCH_FO_PERIPHERY_TEST", "16"))
SAR_SIZE = [int(s) for s in os.environ.get("MEMCOSIM_BENCH_FO_SAR_SIZE", "8,4").split(",")]
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
NOTES = ("RESET-only: every update one sub-1 V RESET pulse per selected cell; energy = integral of -V I dt of every "
         "supply of the circuit (programming drivers, row DACs, TIAs, row and array sources) over the simulated pulse "
         "transients.")


def fo_config(rule: str, update: str, hidden: int | None = None, epochs: int = 0, train: int = 0):
    """The tuned run file of ``rule`` with the update mode, and hidden size / epochs / training samples if given."""
    from memcosim.trainers.config import load_run_config

    cfg = load_run_config(CONFIGS / f"forward_only_{rule}.toml")
    cfg.train.update = update
    cfg.train.progress = False
    if epochs:
        cfg.train.epochs = epochs
    if train:
        cfg.train.train_limit = train
    if hidden:
        cfg.forward_only.hidden = hidden
    return cfg


def energy_rows() -> list[dict]:
    """Joules per update and per RESET pulse, by supply group, of one short epoch of each rule (pulse mode)."""
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    rows = []
    for rule in RULES:
        cfg = fo_config(rule, "pulse", None, 1, ENERGY_TRAIN)
        t = time.perf_counter()
        with ForwardOnlyTrainer(cfg) as tr:
            tr.fit(log=None)
            c = dict(tr.counters)
        print(f"  energy {rule}: {ENERGY_TRAIN} samples, {c['transients']} updates in {time.perf_counter() - t:.0f} s",
              flush=True)
        updates, pulses = max(c["transients"], 1), max(c["reset_pulses"], 1)
        groups = {k[len("energy_"):]: v for k, v in c.items() if k.startswith("energy_")}
        for name, joules in [("all supplies", c["energy"])] + sorted(groups.items()):
            rows.append({"part": "energy", "run": f"{rule} H={cfg.forward_only.hidden}", "group": name,
                         "updates": c["transients"], "reset_pulses": c["reset_pulses"], "J_per_update": joules / updates,
                         "J_per_reset_pulse": joules / pulses, "share": joules / c["energy"] if c["energy"] else 0.0})
        if c["compared_pulses"]:
            rows.append({"part": "energy", "run": f"{rule} H={cfg.forward_only.hidden}",
                         "group": "SET/RESET over RESET-only (all supplies)", "updates": c["transients"],
                         "reset_pulses": c["compared_pulses"],
                         "J_per_reset_pulse": c["compared_energy_set_reset"] / c["compared_pulses"],
                         "share": c["compared_energy_set_reset"] / c["compared_energy_reset_only"]})
    return rows


def periphery_rows() -> list[dict]:
    """Joules per update and per RESET pulse by supply group of one short ``ff`` epoch (pulse mode) with three
    peripheries in the same run: the behavioural TIA left on the columns (the earlier figure), the behavioural
    TIA with column switches, and the transistor-level sky130 TIA with column switches."""
    from memcosim.config.periphery import SwitchConfig, TiaConfig
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    rows = []
    for name, circuit, switches in (("behavioural TIA on the columns", "behavioural", None),
                                    ("behavioural TIA + switches", "behavioural", SwitchConfig()),
                                    ("sky130 TIA + switches", "sky130", SwitchConfig())):
        cfg = fo_config("ff", "pulse", PERIPHERY_HIDDEN or None, 1, PERIPHERY_TRAIN)
        cfg.forward_only.tia = TiaConfig(gain=1e5, r_feedback=0.0, circuit=circuit)
        cfg.forward_only.switches = switches
        cfg.forward_only.energy_compare = False
        cfg.train.test_limit = PERIPHERY_TEST
        t = time.perf_counter()
        with ForwardOnlyTrainer(cfg) as tr:
            opened = time.perf_counter() - t
            hist = tr.fit(log=None)
            c = dict(tr.counters)
        seconds = time.perf_counter() - t
        print(f"  periphery {name}: {PERIPHERY_TRAIN} samples, {c['transients']} updates, {c['reset_pulses']} RESET "
              f"pulses in {seconds:.0f} s (open {opened:.0f} s)", flush=True)
        updates, pulses = max(c["transients"], 1), max(c["reset_pulses"], 1)
        groups = {k[len("energy_"):]: v for k, v in c.items() if k.startswith("energy_")}
        for group, joules in [("all supplies", c["energy"])] + sorted(groups.items()):
            rows.append({"part": "periphery", "periphery": name, "run": f"ff H={cfg.forward_only.hidden}",
                         "group": group, "updates": c["transients"], "reset_pulses": c["reset_pulses"],
                         "J_per_update": joules / updates, "J_per_reset_pulse": joules / pulses,
                         "share": joules / c["energy"] if c["energy"] else 0.0, "run_s": seconds,
                         "test_acc": hist[-1]["test_acc"]})
    return rows


def sar_read_rows() -> list[dict]:
    """Seconds per read of a small crossbar layer's array (``SAR_SIZE`` inputs x outputs, the layer's periphery
    and 8-bit ADCs) with the behavioural ADC (one operating point) and with the sky130 SAR ADC (one transient
    of its conversion time, :func:`memcosim.cosim.conversion.convert`), same run, 5 random input vectors."""
    import dataclasses

    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.config.array import DeviceConfig
    from memcosim.config.periphery import AdcConfig
    from memcosim.cosim.conversion import convert
    from memcosim.cosim.engine import open_session
    from memcosim.cosim.layer import CrossbarLayerConfig

    inputs, outputs = SAR_SIZE
    c = CrossbarLayerConfig(inputs, outputs, DeviceConfig("resistor", g_min=1e-6, g_max=1e-5), adc=AdcConfig(bits=8))
    rng = np.random.default_rng(0)
    base = c.array(conductance=rng.uniform(1e-6, 1e-5, (inputs, c.columns)))
    rows, per_read = [], {}
    for circuit in ("behavioural", "sky130"):
        per = dataclasses.replace(base.periphery, adc=dataclasses.replace(base.periphery.adc, circuit=circuit))
        xb = build_crossbar(dataclasses.replace(base, periphery=per))
        t = time.perf_counter()
        with open_session(xb.netlist) as s:
            opened = time.perf_counter() - t
            convert(s, xb)  # the SAR's comparator check, once
            times = []
            for _ in range(5):
                s.set_sources(dict(zip(xb.row_sources, rng.uniform(0, c.device.v_read, inputs).tolist())))
                t = time.perf_counter()
                convert(s, xb)
                times.append(time.perf_counter() - t)
        per_read[circuit] = float(np.median(times))
        rows.append({"part": "sar_read", "layer": f"{inputs}x{outputs} ({inputs}x{c.columns} cells)", "adc": circuit,
                     "open_s": opened, "read_s_median": per_read[circuit], "read_s_min": min(times),
                     "over_behavioural": per_read[circuit] / per_read["behavioural"]})
    return rows


def layer_write_rows() -> list[dict]:
    """One RESET and one SET slot on cell (1, 1) of two 4x4 ``stanford_pku`` layers (2 signed outputs, one V/2 and
    one V/3) in one circuit: how far each layer's TIA pins (against the TIA rails) and switch pins (against the
    switch rails) come to leaving their supply range (negative: margin left inside), the largest TIA output, and
    the update's joules per supply group; with the sky130 TIA + column switches, with the behavioural TIA + column
    switches, and with the behavioural TIA left on the columns (no switches)."""
    from memcosim.config.array import DeviceConfig
    from memcosim.config.periphery import SwitchConfig, TiaConfig
    from memcosim.config.pulse import PulseConfig
    from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig, Slot, SlotTiming

    def excursion(v: np.ndarray, low: float, high: float) -> float:
        return float(max(v.max() - high, low - v.min()))

    rows = []
    for name, circuit, switches in (("sky130 TIA + switches", "sky130", SwitchConfig()),
                                    ("behavioural TIA + switches", "behavioural", SwitchConfig()),
                                    ("behavioural TIA on the columns", "behavioural", None)):
        layers = [CrossbarLayerConfig(4, 2, DeviceConfig("stanford_pku"), scheme=scheme, mapping="high",
                                      tia=TiaConfig(gain=1e5, r_feedback=0.0, circuit=circuit), switches=switches,
                                      pulse=PulseConfig(amplitude=1.2, width=100e-9, rise=5e-9))
                  for scheme in ("V/2", "V/3")]
        rails = TiaConfig(circuit="sky130")  # the +-1.8 V range the TIA must stay in
        sw = SwitchConfig()
        for amplitude in (-0.9, 1.2):
            with CrossbarCircuit(layers) as c:
                probe, select = [], {}
                for k, layer in enumerate(c.layers):
                    xb = layer.crossbar
                    probe += xb.tia_inputs + xb.tia_outputs + [f"{xb.prefix}s{j}" for j in range(4)]
                    probe += [f"{xb.prefix}p{j}" for j in range(4)] if switches is not None else []
                    rows_, cols = np.zeros(4, bool), np.zeros(4, bool)
                    rows_[1], cols[1] = True, True
                    select[k] = (rows_, cols)
                r = c.pulse_slots([Slot(amplitude, select)], SlotTiming(100e-9, 5e-9, 5e-9), voltages=probe)
                for layer in c.layers:
                    xb = layer.crossbar
                    tia_nodes = xb.tia_inputs + xb.tia_outputs
                    sw_nodes = [n for n in probe if n.startswith(xb.prefix) and n not in tia_nodes]
                    rows.append({"part": "layer_write", "periphery": name, "write_V": amplitude,
                                 "scheme": layer.config.scheme,
                                 "tia_pins_outside_rails_V": max(excursion(r.voltages[n], rails.v_ss, rails.v_dd)
                                                                 for n in tia_nodes),
                                 "switch_pins_outside_rails_V": (max(excursion(r.voltages[n], sw.v_low, sw.v_high)
                                                                     for n in sw_nodes) if switches else float("nan")),
                                 "max_tia_output_V": max(float(np.abs(r.voltages[n]).max()) for n in xb.tia_outputs),
                                 **{f"{g}_pJ": j * 1e12 for g, j in r.groups.items()}})
        print(f"  layer_write: {name} done", flush=True)
    return rows


def main() -> None:
    from memcosim.trainers.backprop_baseline import backprop_baseline
    from memcosim.trainers.crossbar_report import save_run
    from memcosim.trainers.forward_only import ForwardOnlyTrainer
    from memcosim.trainers.datasets import dataset_for

    rows: list[dict] = []
    if "steps" in PARTS:
        for hidden in SIZES:
            for rule in RULES:
                cfg = fo_config(rule, "pulse", hidden, 1)
                bs = cfg.train.batch_size
                cfg.train.train_limit = 4 * bs
                with ForwardOnlyTrainer(cfg) as tr:
                    step, fwd = step_times(tr)
                    devices = tr.circuit.session.states.size
                full = dataset_for(fo_config(rule, "pulse"))
                n_train, n_test = len(full.x_train), len(full.x_test)
                rows.append({"part": "steps", "run": f"{rule} H={hidden}", "devices": devices, "step_s": step,
                             "predict_per_sample_s": fwd, "epoch_s_est": step * np.ceil(n_train / bs) + n_test * fwd})
    if "memory" in PARTS:
        rows += memory_rows(lambda: ForwardOnlyTrainer(fo_config("competitive", "pulse", None, 1, MEMORY_TRAIN)),
                            "competitive H=16")
    if "accuracy" in PARTS:
        for rule in RULES:
            dataset, hidden = None, 0
            for update in MODES:
                t = time.perf_counter()
                cfg = fo_config(rule, update, None, EPOCHS, TRAIN)
                hidden = cfg.forward_only.hidden
                with ForwardOnlyTrainer(cfg) as tr:
                    hist = tr.fit(log=None)
                    dataset = tr.dataset
                seconds = time.perf_counter() - t
                save_run(hist, RESULTS / f"forward_only_{rule}_{update}",
                         f"forward-only {rule} on digits 0-3 ({update}, reset-only)", "goodness cross-entropy")
                c = hist[-1]
                row = {"part": f"accuracy_{rule}", "run": f"{rule} {update} H={hidden}",
                       "train_samples": len(dataset.x_train), "epochs": len(hist), "test_acc": c["test_acc"],
                       "best_test_acc": max(h["test_acc"] for h in hist), "reset_pulses": c["reset_pulses"],
                       "conductance_increases": c["conductance_increases"], "s_per_epoch": seconds / len(hist)}
                if update == "pulse" and c["compared_pulses"]:
                    row["energy_J"] = c["energy"]
                    row["J_per_reset_pulse"] = c["compared_energy_reset_only"] / c["compared_pulses"]
                    row["J_per_pulse_set_reset"] = c["compared_energy_set_reset"] / c["compared_pulses"]
                    row["set_reset_over_reset_only"] = c["compared_energy_set_reset"] / c["compared_energy_reset_only"]
                rows.append(row)
            base = backprop_baseline(dataset, hidden, epochs=10)
            rows.append({"part": f"accuracy_{rule}", "run": f"backprop numpy H={hidden}",
                         "train_samples": len(dataset.x_train), "epochs": len(base), "test_acc": base[-1]["test_acc"]})
    if "energy" in PARTS:
        rows += energy_rows()
    if "periphery" in PARTS:
        rows += periphery_rows()
    if "layer_write" in PARTS:
        rows += layer_write_rows()
    if "sar_read" in PARTS:
        rows += sar_read_rows()
    report_parts("forward_only", rows, ["steps", "memory"] + [f"accuracy_{r}" for r in RULES]
                 + ["energy", "periphery", "layer_write", "sar_read"], notes=NOTES)


if __name__ == "__main__":
    main()
