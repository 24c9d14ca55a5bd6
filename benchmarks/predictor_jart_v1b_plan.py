"""The pulse plan of the ``jart_v1b`` predictor, measured: the read conductance after one pulse against its
width, for SET and RESET amplitudes, from several start conductances.

Writes ``docs/predictor_jart_v1b/plan.csv`` and ``plan.png`` (``python -m benchmarks.predictor_jart_v1b_plan
[out_dir]``). One noise-free ``jart_v1b`` device (default parameters) in the predictor's 1x1 array with
programming drivers (:class:`~memcosim.programming.predictor.dataset.SampleMaker`'s circuit), set to each
start state and held at each amplitude (ideal edges, the programming path of
:func:`memcosim.programming.pulses.hold`); the conductance is read at 0.2 V after windows of
geometrically growing length (10 ps x 1.25^k), so one run gives the whole curve from 10 ps to ``T_MAX``.
"""

from __future__ import annotations

import sys
from pathlib import Path


from memcosim.fileio import atomic_write_csv, save_png
from memcosim.programming.predictor.config import DatasetConfig
from memcosim.programming.predictor.dataset import SampleMaker
from memcosim.programming.pulses import hold

SET_AMPLITUDES = (0.7, 0.8, 0.9, 1.0)
RESET_AMPLITUDES = (-1.2, -1.3, -1.4, -1.5, -1.6)
SET_STARTS = (2e-5, 5e-5, 1e-4)  # S
RESET_STARTS = (6.28e-4, 6e-4, 5.5e-4, 1e-4, 5e-5)  # S (N about 18, 5, 2.2, 0.065, 0.03)
FIRST, GROWTH = 10e-12, 1.25  # s, window growth
T_MAX = {1: 3e-6, -1: 2e-4}  # s, longest pulse measured per polarity
STYLES = ("-", "--", ":", "-.", (0, (1, 4)))
STYLE_NAMES = ("solid", "dashed", "dotted", "dash-dot", "sparse dots")


def curve(maker: SampleMaker, amplitude: float, g_start: float) -> list[tuple[float, float]]:
    """(pulse time s, read conductance S) from ``g_start`` under ``amplitude`` volts."""
    s, xb = maker.session, maker.xbar
    s.set_device_params(xb.cells[0, 0], **maker.nominal)
    s.set_states([maker.state_for(g_start)])
    out = [(0.0, maker.read())]
    t, w = 0.0, FIRST
    while t < T_MAX[1 if amplitude > 0 else -1]:
        hold(s, xb, amplitude, w, preset=maker.preset, window=w)
        t += w
        out.append((t, maker.read()))
        g = out[-1][1]
        if (amplitude > 0 and g > 0.99 * maker.preset.g_max) or (amplitude < 0 and g < 1.01 * maker.preset.g_min):
            break
        w *= GROWTH
    return out


def rows() -> list[dict]:
    maker = SampleMaker(DatasetConfig(device=_device()))
    try:
        out = []
        for amps, starts in ((SET_AMPLITUDES, SET_STARTS), (RESET_AMPLITUDES, RESET_STARTS)):
            for v in amps:
                for g0 in starts:
                    for t, g in curve(maker, v, g0):
                        out.append({"amplitude_V": v, "g_start_S": g0, "time_s": t, "g_S": g})
                    print(f"  {v:+.1f} V from {g0:.2g} S: {out[-1]['g_S']:.3g} S after {out[-1]['time_s']:.3g} s",
                          flush=True)
        return out
    finally:
        maker.close()


def _device():
    from memcosim.config.array import DeviceConfig

    return DeviceConfig("jart_v1b")


def plot(path: Path, data: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for a, amps, starts, title in ((ax[0], SET_AMPLITUDES, SET_STARTS, "SET (V > 0)"),
                                   (ax[1], RESET_AMPLITUDES, RESET_STARTS, "RESET (V < 0)")):
        for c, v in enumerate(amps):
            for k, g0 in enumerate(starts):
                pts = [(r["time_s"], r["g_S"]) for r in data if r["amplitude_V"] == v and r["g_start_S"] == g0
                       and r["time_s"] > 0]
                a.plot(*zip(*pts), color=f"C{c}", ls=STYLES[k], lw=1.2,
                       label=f"{v:+.1f} V" if k == 0 else None)
        a.set(xscale="log", yscale="log", xlabel="pulse width (s)", ylabel="read conductance at 0.2 V (S)")
        a.set_title(f"jart_v1b {title}: one pulse from\n{', '.join(f'{g:.3g}' for g in starts)} S "
                    f"({', '.join(STYLE_NAMES[:len(starts)])})", fontsize=9)
        a.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def main(out: Path) -> None:
    data = rows()
    atomic_write_csv(out / "plan.csv", [{k: f"{v:.6g}" for k, v in r.items()} for r in data])
    plot(out / "plan.png", data)
    print(f"wrote {out / 'plan.csv'} and plan.png ({len(data)} points)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "predictor_jart_v1b")
