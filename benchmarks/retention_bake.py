"""Bake curves of the zero-bias retention laws: read conductance against time at 25, 85 and 150 C.

Writes ``docs/retention/bake.csv`` and ``docs/retention/bake.png`` (``python -m benchmarks.retention_bake
[out_dir]``). For ``stanford_pku`` and ``jart_vcm``, a 1x4 array (no wire resistance) with states
across the state range is aged with ``Session.age`` from its start to each time (1 minute ... 30 days)
and read in ngspice (0.2 V operating point per row). At 150 C the same array is also simulated by an
ngspice transient at zero bias over one hour (the model's ``T0`` at 150 C, at most 1/200 of the span per
step) and read: the ``transient`` rows, which should fall on the ``age`` curve.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.readout import read_array
from memcosim.devices.retention import to_kelvin
from memcosim.fileio import atomic_write_csv, save_png

STATES = {"stanford_pku": [0.1, 0.5, 1.0, 1.5], "jart_vcm": [0.01, 0.1, 1.0, 10.0]}
CELSIUS = (25.0, 85.0, 150.0)
TIMES = np.unique(np.concatenate([np.geomspace(60.0, 30 * 86400.0, 21), [3600.0, 86400.0, 7 * 86400.0]]))
CHECK = (150.0, 3600.0)  # transient check: celsius, seconds
V_READ = 0.2


def _xbar(model: str, celsius: float | None = None):
    params = {"T0": to_kelvin(celsius=celsius)} if celsius is not None else {}
    return build_crossbar(ArrayConfig(1, len(STATES[model]), DeviceConfig(model, params),
                                      states=np.array([STATES[model]])))


def bake_rows(model: str) -> list[dict]:
    """Rows (model, source, celsius, seconds, state0, state, G, G/G0) of the ``age`` curves and the transient check."""
    rows = []
    start = np.array(STATES[model])
    xbar = _xbar(model)
    with open_session(xbar.netlist) as s:
        g0 = read_array(s, xbar, V_READ)[0]
        for celsius in CELSIUS:
            for t in TIMES:
                s.set_states(start)
                x = s.age(float(t), celsius=celsius)
                g = read_array(s, xbar, V_READ)[0]
                rows += [dict(model=model, source="age", celsius=celsius, seconds=float(t), state0=a, state=b,
                              G_S=c, G_over_G0=c / d) for a, b, c, d in zip(start, x, g, g0)]
    celsius, seconds = CHECK
    hot = _xbar(model, celsius)
    with open_session(hot.netlist) as s:
        s.tran(seconds, seconds / 200)
        x = s.states.copy()
    with open_session(xbar.netlist) as s:  # read at the room-temperature card, as the age curve is
        s.set_states(x)
        g = read_array(s, xbar, V_READ)[0]
    rows += [dict(model=model, source="transient", celsius=celsius, seconds=seconds, state0=a, state=b, G_S=c,
                  G_over_G0=c / d) for a, b, c, d in zip(start, x, g, g0)]
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.8))
    colors = {25.0: "tab:blue", 85.0: "tab:orange", 150.0: "tab:red"}
    for ax, model in zip(np.atleast_1d(axes), models):
        for celsius in CELSIUS:
            for k, x0 in enumerate(STATES[model]):
                pts = [(r["seconds"], r["G_over_G0"]) for r in rows if r["model"] == model and r["source"] == "age"
                       and r["celsius"] == celsius and r["state0"] == x0]
                ax.loglog(*zip(*pts), "-", color=colors[celsius], alpha=0.4 + 0.15 * k,
                            label=f"{celsius:g} C" if k == 0 else None)
        chk = [(r["seconds"], r["G_over_G0"]) for r in rows if r["model"] == model and r["source"] == "transient"]
        ax.loglog(*zip(*chk), "kx", ms=8, label=f"ngspice transient, {CHECK[0]:g} C")
        ax.set_title(f"{model}: states {', '.join(f'{x:g}' for x in STATES[model])}", fontsize=9)
        ax.set_xlabel("bake time (s)")
        ax.set_ylabel("G / G(0) at 0.2 V (log)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def main(out: str = "docs/retention") -> None:
    out_dir = Path(out)
    rows = [r for model in STATES for r in bake_rows(model)]
    atomic_write_csv(out_dir / "bake.csv", rows)
    plot(rows, out_dir / "bake.png")
    for r in rows:
        if r["source"] == "transient":
            age = [a for a in rows if a["source"] == "age" and a["model"] == r["model"] and a["celsius"] == r["celsius"]
                   and a["state0"] == r["state0"]]
            ref = np.interp(np.log(r["seconds"]), np.log([a["seconds"] for a in age]), [a["G_over_G0"] for a in age])
            print(f"{r['model']:12s} state {r['state0']:<5g} {r['celsius']:g} C {r['seconds']:g} s: G/G0 transient "
                  f"{r['G_over_G0']:.5g}, age curve {ref:.5g}")
    print(f"wrote {out_dir / 'bake.csv'} and {out_dir / 'bake.png'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
