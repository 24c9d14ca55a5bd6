"""``jart_v1b`` in ngspice next to the published JART VCM v1b equations: read currents and switching times.

Writes ``docs/jart_v1b/read_current.csv``, ``docs/jart_v1b/switching_time.csv`` and
``docs/jart_v1b/jart_v1b.png`` (``python -m benchmarks.jart_v1b_tables [out_dir]``):

* read current (A) at V(p, n) = +0.2 V (the preset's read) and -0.2 V over the disc concentration
  N = Ndiscmin ... Ndiscmax (1e26 m^-3): the ngspice operating point and the published equations
  (:mod:`memcosim.devices.jart_v1b_equations`);
* time (s) to reach N = 10 from Ndiscmin under SET (+1.0 ... +1.4 V) and N = 1 from Ndiscmax under
  RESET (-1.0 ... -1.4 V), constant voltage reached 0.01 ps after t = 0: an ngspice transient (the state
  interpolated at the crossing, time steps of at most 1/4000 of 1.5 times the reference time) and
  the published equations integrated with scipy (Radau, relative tolerance 1e-9, crossing event).

The published Verilog-A cannot be run here: OpenVAF refuses it (``@(cross)`` events, ``$bound_step``,
a ground net without discipline), so the reference is the paper's equations integrated with scipy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from memcosim.circuits.netlist import Netlist
from memcosim.circuits.waveforms import Pwl
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.devices.jart_v1b_equations import JartV1bParameters, read_current, time_to_reach
from memcosim.devices.presets import JartV1bPreset
from memcosim.fileio import atomic_write_csv

PARAMETERS = JartV1bParameters()
STATES = tuple(float(f"{n:.3g}") for n in np.geomspace(PARAMETERS.Ndiscmin, PARAMETERS.Ndiscmax, 15))
SET = tuple((v, PARAMETERS.Ndiscmin, 10.0) for v in (1.0, 1.1, 1.2, 1.3, 1.4))  # (V, from, target)
RESET = tuple((v, PARAMETERS.Ndiscmax, 1.0) for v in (-1.0, -1.1, -1.2, -1.3, -1.4))
STEPS = 4000
RISE = 1e-14  # s


def one_device(x0: float) -> Netlist:
    net = Netlist("one jart_v1b")
    net.voltage_source("V1", "p", "0", 0.0)
    net.memristor("N1", "p", "0", "x", "jart_v1b", x0=x0)
    return net


def read_rows(v_read: float) -> list[dict[str, float]]:
    """Read currents at ``v_read`` volts over :data:`STATES`, ngspice and published."""
    rows = []
    for n in STATES:
        with open_session(one_device(n), SessionOptions(worker=False)) as s:
            s.set_sources({"V1": v_read})
            i_spice = float(-s.op(currents=["V1"])["V1"])
        i_ref = read_current(v_read, n, PARAMETERS)
        rows.append({"v_read_V": v_read, "N_1e26_m3": n, "I_ngspice_A": i_spice, "I_published_A": i_ref,
                     "relative_difference": i_spice / i_ref - 1})
    return rows


def crossing_time(v: float, n0: float, target: float, t_end: float) -> float:
    """Seconds until the ngspice state crosses ``target`` under ``v`` volts from ``n0`` (nan if not by ``t_end``)."""
    with open_session(one_device(n0), SessionOptions(worker=False)) as s:
        r = s.tran(t_end, t_end / STEPS, waveforms={"V1": Pwl((0.0, RISE, t_end), (0.0, v, v))},
                   max_step=t_end / STEPS, states=True)
    x, t = r["states"][0], r.time
    beyond = np.nonzero((x >= target) if target > n0 else (x <= target))[0]
    if not len(beyond):
        return float("nan")
    k = int(beyond[0])
    return float(np.interp(target, *((x[k - 1:k + 1], t[k - 1:k + 1]) if target > n0 else
                                     (x[k - 1:k + 1][::-1], t[k - 1:k + 1][::-1]))))


def switching_rows() -> list[dict[str, float]]:
    rows = []
    for v, n0, target in SET + RESET:
        t_ref = time_to_reach(v, n0, target, 10.0, PARAMETERS)
        t_spice = crossing_time(v, n0, target, 1.5 * t_ref)
        rows.append({"V_pn_V": v, "from_N": n0, "to_N": target, "t_ngspice_s": t_spice, "t_published_s": t_ref,
                     "relative_difference": t_spice / t_ref - 1})
    return rows


def write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """``rows`` as CSV with every value to 6 significant digits."""
    atomic_write_csv(path, [{k: f"{v:.6g}" for k, v in row.items()} for row in rows])


def plot(path: Path, reads: list[dict[str, float]], times: list[dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for v_read, color in ((0.2, "C0"), (-0.2, "C1")):
        part = [r for r in reads if r["v_read_V"] == v_read]
        n = [r["N_1e26_m3"] for r in part]
        ax1.plot(n, [abs(r["I_published_A"]) for r in part], "-", color=color, label=f"published eqs., {v_read:+g} V")
        ax1.plot(n, [abs(r["I_ngspice_A"]) for r in part], "o", color=color, mfc="none", label=f"jart_v1b ngspice, {v_read:+g} V")
    ax1.set(xscale="log", yscale="log", xlabel="N_disc (1e26 m$^{-3}$)", ylabel="|read current| (A)",
            title="read current")
    ax1.legend(fontsize=7)
    for kind, color in (("SET", "C2"), ("RESET", "C3")):
        part = [r for r in times if (r["V_pn_V"] > 0) == (kind == "SET")]
        v = [abs(r["V_pn_V"]) for r in part]
        label = f"{kind}: N {part[0]['from_N']:g} -> {part[0]['to_N']:g}"
        ax2.plot(v, [r["t_published_s"] for r in part], "-", color=color, label=f"published eqs., {label}")
        ax2.plot(v, [r["t_ngspice_s"] for r in part], "o", color=color, mfc="none", label=f"jart_v1b ngspice, {label}")
    ax2.set(yscale="log", xlabel="|V(p,n)| (V)", ylabel="time to reach the state (s)", title="switching time")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    reads = read_rows(JartV1bPreset().v_read) + read_rows(-JartV1bPreset().v_read)
    times = switching_rows()
    write_csv(out / "read_current.csv", reads)
    write_csv(out / "switching_time.csv", times)
    plot(out / "jart_v1b.png", reads, times)
    worst_read = max(abs(r["relative_difference"]) for r in reads)
    worst_time = max(abs(r["relative_difference"]) for r in times)
    print(f"read current: worst relative difference {worst_read:.2e}; switching time: {worst_time:.2e}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "jart_v1b")
