"""The transistor-level sky130 TIA and column switches against the behavioural TIA (``./run bench sky130_tia``).

1. Op-amp figures (the ``validate-periphery`` TIA op-amp view, :mod:`memcosim.cosim.tia_characterisation`)
   at every process corner with the default 10 kohm feedback, and at tt with 2 kohm (a heavier load):
   DC open-loop gain, unity-gain bandwidth, phase margin, input offset.
2. A 32x32 1T1R read (sky130 5 V access transistors at 3.3 V on the word lines, cells of 10-50 uS,
   2.5 ohm wire segments, 2 kohm feedback), rows at seeded random DAC codes up to 0.2 V: per column
   |V(out) - (-I Rf)| with I the column current ngspice solved, the virtual-ground voltage, the
   column currents against the behavioural TIA's, with and without the column switches (the read
   goes through a transmission gate); session set-up and the median time of one read (operating
   point: the first from scratch, the median of the later ones, which start from the previous
   solution), each against the behavioural TIA in the same run.
3. Writes on an 8x8 sky130 1T1R ``stanford_pku`` array (RESET -0.9 V and SET 1.2 V, 100 ns, V/2 and V/3,
   centre cell): the largest excursion of any TIA pin (inputs, outputs) outside the TIA rails and of
   any switch pin outside the switch rails (negative: the margin left inside), with the sky130 TIA
   and switches, and of the behavioural TIA's output left on the column (no switches) outside the
   same +-1.8 V; energy of each supply group over the write; transient time against the behavioural one.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from benchmarks.common import report
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.periphery.sky130_tia import Sky130Tia
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.blocks import PDK_CORNERS
from memcosim.config.periphery import (AccessConfig, AdcConfig, DacConfig, PeripheryConfig, ProgrammingConfig,
                                       SwitchConfig, TiaConfig)
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.column_switches import write_mode
from memcosim.cosim.engine import open_session
from memcosim.cosim.tia_characterisation import characterise_tia

N_READ = int(os.environ.get("MEMCOSIM_BENCH_TIA_N", "32"))
READS = int(os.environ.get("MEMCOSIM_BENCH_TIA_READS", "5"))
N_WRITE = 8
PARTS = os.environ.get("MEMCOSIM_BENCH_TIA_PARTS", "opamp,write,read")  # which of the three parts to run
ACCESS = {"access": {"pdk": "sky130", "subckt": "sky130_fd_pr__nfet_g5v0d10v5", "corner": "tt",
                     "params": {"w": 5e-6, "l": 0.5e-6}}}
R_F_READ = 2e3


def opamp_rows() -> list[dict]:
    rows = []
    for corner, r_f in [(c, 10e3) for c in PDK_CORNERS["sky130"]] + [("tt", 2e3)]:
        t = time.perf_counter()
        fig = characterise_tia(Sky130Tia(TiaConfig(circuit="sky130", corner=corner, r_feedback=r_f)))
        rows.append({"corner": corner, "r_feedback_ohm": r_f, "gain_dB": fig.gain_db, "ugbw_MHz": fig.ugbw / 1e6,
                     "phase_margin_deg": fig.phase_margin, "offset_uV": fig.offset * 1e6,
                     "seconds": time.perf_counter() - t})
    return rows


def _read_array(circuit: str, switches: bool) -> ArrayConfig:
    rng = np.random.default_rng(11)
    g = rng.uniform(1e-5, 5e-5, (N_READ, N_READ))
    per = PeripheryConfig(dac=DacConfig(), tia=TiaConfig(circuit=circuit, r_feedback=R_F_READ), adc=AdcConfig(),
                          programming=ProgrammingConfig() if switches else None,
                          switches=SwitchConfig() if switches else None)
    return ArrayConfig(N_READ, N_READ, conductance=g, wires=WireConfig(r_row=2.5, r_column=2.5), cell="1T1R",
                       access=AccessConfig(v_gate=3.3), periphery=per, blocks=ACCESS)


def read_rows() -> list[dict]:
    codes = [np.random.default_rng(100 + k).integers(0, 256, N_READ) for k in range(READS)]
    results = {}
    rows = []
    for circuit, switches in (("behavioural", False), ("sky130", False), ("sky130", True)):
        print(f"  read: {circuit} TIA{' + switches' if switches else ''}, building and opening", flush=True)
        xb = build_crossbar(_read_array(circuit, switches))
        t = time.perf_counter()
        with open_session(xb.netlist) as s:
            setup = time.perf_counter() - t
            times, currents, outs, grounds = [], [], [], []
            for c in codes:
                s.set_sources(xb.dac_values(c))
                t = time.perf_counter()
                r = s.op(voltages=xb.tia_outputs + xb.tia_inputs, currents=xb.column_sources)
                times.append(time.perf_counter() - t)
                print(f"    read {len(times)}/{READS}: {times[-1]:.2f} s", flush=True)
                currents.append(r.stack(xb.column_sources))
                outs.append(r.stack(xb.tia_outputs))
                grounds.append(r.stack(xb.tia_inputs))
        i, v, vg = np.array(currents), np.array(outs), np.array(grounds)
        results[(circuit, switches)] = i
        err = np.abs(v + i * R_F_READ)
        ref = results[("behavioural", False)]
        rows.append({"tia": circuit, "switches": switches, "columns": N_READ * READS,
                     "max |Vout+I*Rf| mV": float(err.max() * 1e3), "mean |Vout+I*Rf| mV": float(err.mean() * 1e3),
                     "max |V(in)| mV": float(np.abs(vg).max() * 1e3),
                     "max |I/I_behav-1| %": float(np.abs(i / ref - 1).max() * 100),
                     "max |Vout| V": float(np.abs(v).max()),
                     "setup s": setup, "first read ms": times[0] * 1e3,
                     "later reads ms": statistics.median(times[1:]) * 1e3})
    base = rows[0]
    for r in rows:
        r["setup x behav"] = r["setup s"] / base["setup s"]
        r["first read x behav"] = r["first read ms"] / base["first read ms"]
        r["later reads x behav"] = r["later reads ms"] / base["later reads ms"]
    return rows


def _write_array(sky130: bool) -> ArrayConfig:
    per = PeripheryConfig(dac=DacConfig(), tia=TiaConfig(circuit="sky130" if sky130 else "behavioural"), adc=AdcConfig(),
                          programming=ProgrammingConfig("V/2", PulseConfig(amplitude=-0.9, width=100e-9)),
                          switches=SwitchConfig() if sky130 else None)
    return ArrayConfig(N_WRITE, N_WRITE, DeviceConfig("stanford_pku"), wires=WireConfig(r_row=2.5, r_column=2.5),
                       cell="1T1R", access=AccessConfig(v_gate=3.3), periphery=per, blocks=ACCESS)


def _excursion(values: np.ndarray, low: float, high: float) -> float:
    return float(max(values.max() - high, low - values.min()))


def write_rows() -> list[dict]:
    rows = []
    tia, sw = TiaConfig(circuit="sky130"), SwitchConfig()
    for sky130 in (True, False):
        xb = build_crossbar(_write_array(sky130))
        C = N_WRITE
        tia_nodes = xb.tia_inputs + xb.tia_outputs
        switch_nodes = [f"s{j}" for j in range(C)] + ([f"p{j}" for j in range(C)] if sky130 else [])
        with open_session(xb.netlist) as s:
            for scheme in ("V/2", "V/3"):
                for name, amplitude in (("RESET", -0.9), ("SET", 1.2)):
                    waves = xb.write_waveforms(C // 2, C // 2, scheme, amplitude)
                    t = time.perf_counter()
                    with write_mode(s, xb):
                        r = s.tran(xb.write_duration() + 10e-9, 2e-9, waveforms=waves,
                                   voltages=tia_nodes + switch_nodes, max_step=2e-9)
                    seconds = time.perf_counter() - t
                    print(f"  write: {'sky130' if sky130 else 'behavioural'} {scheme} {name}: {seconds:.2f} s", flush=True)
                    row = {"periphery": "sky130 TIA + switches" if sky130 else "behavioural TIA on the column",
                           "scheme": scheme, "write": name, "amplitude_V": amplitude,
                           "TIA pins outside rails V": max(_excursion(r[n], tia.v_ss, tia.v_dd) for n in tia_nodes),
                           "max |TIA out| V": max(float(np.abs(r[n]).max()) for n in xb.tia_outputs),
                           "switch pins outside rails V": (max(_excursion(r[n], sw.v_low, sw.v_high)
                                                               for n in switch_nodes) if sky130 else float("nan")),
                           "tran s": seconds}
                    row.update({f"E {g} nJ": e * 1e9 for g, e in sorted(r.energy.items())})
                    rows.append(row)
    groups = sorted({k for r in rows for k in r if k.startswith("E ")})
    return [{**{k: v for k, v in r.items() if not k.startswith("E ")}, **{g: r.get(g, 0.0) for g in groups}}
            for r in rows]


def main() -> None:
    parts = PARTS.split(",")
    if "opamp" in parts:
        print("-- op-amp figures (ac + op of the TIA alone, ADC load 1 Gohm)")
        report("sky130_tia_opamp", opamp_rows())
    if "write" in parts:
        print(f"\n-- writes on an {N_WRITE}x{N_WRITE} sky130 1T1R stanford_pku array, centre cell, 100 ns")
        report("sky130_tia_write", write_rows(),
               "outside rails: volts beyond the rails (negative: margin inside); the behavioural TIA is measured "
               "against the sky130 TIA's +-1.8 V rails")
    if "read" in parts:
        print(f"\n-- {N_READ}x{N_READ} 1T1R read, Rf = {R_F_READ:g} ohm, {READS} input vectors")
        report(f"sky130_tia_read_{N_READ}", read_rows())


if __name__ == "__main__":
    main()
