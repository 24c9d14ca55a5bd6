"""The four Verilog-A device models in real ngspice: memristor fingerprints, bounds, read disturb,
pulse trains, closed forms, step-by-step continuity, and the compile path (issue #2).

Every simulation goes through :class:`Session`. Voltages in volts, times in seconds, states in each
model's own units (``verilog_a/README.md``). PWL waveforms stay short (well under 1,000 characters
of text): the session hands a waveform to ngspice in one command line, and ngspice silently cuts
command lines after 1,023 characters. The sine tests read the applied voltage back.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from memcosim.circuits.netlist import Netlist
from memcosim.devices.registry import compile_verilog_a, get_model, verilog_a_dir
from memcosim.circuits.waveforms import Pwl, pulse
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session, SessionOptions
from memcosim.errors import MemcosimError, ModelError

MODELS = ("jart_vcm", "stanford_pku", "vteam", "linear_ion_drift", "sky130_reram")
RELTOL, VNTOL = SessionOptions().reltol, SessionOptions().vntol


def one_device(model: str, x0: float, source: str = "voltage", **card: float) -> Netlist:
    """One memristor from node ``p`` to ground (state node ``x``), driven by ``V1`` (or current ``I1``)."""
    net = Netlist(f"one {model}")
    if source == "voltage":
        net.voltage_source("V1", "p", "0", 0.0)
    else:  # SPICE current source: current flows 0 -> I1 -> p, i.e. into the device's top electrode
        net.current_source("I1", "0", "p", 0.0)
    if card:
        net.model_card("dev", model, **card)
    net.memristor("N1", "p", "0", "x", model, card="dev" if card else None, x0=x0)
    return net


def read_conductance(s: Session, v_read: float) -> float:
    """Conductance (S) of ``one_device`` in an operating point at ``v_read`` volts."""
    s.set_sources({"V1": v_read})
    return float(-s.op(currents=["V1"])["V1"] / v_read)  # SPICE reports the current into V1's + node


def sine(amplitude: float, freq: float, points: int = 40) -> Pwl:
    """One period of a sine as a PWL with exact zeros at 0, T/2 and T (4-digit volts keep it short)."""
    k = np.arange(points + 1)
    v = np.round(amplitude * np.sin(2 * np.pi * k / points), 4)
    v[k % (points // 2) == 0] = 0.0
    return Pwl(tuple(float(f"{t:.6g}") for t in k / (points * freq)), tuple(float(x) for x in v))


# -- 0. the pinned state in operating points ----------------------------------------------

@pytest.mark.parametrize("model, x0", [("jart_vcm", 3.3), ("stanford_pku", 0.77), ("vteam", 1.23),
                                       ("linear_ion_drift", 0.37), ("sky130_reram", 4.1)])
def test_an_operating_point_holds_the_state_at_x0_at_any_voltage(model: str, x0: float) -> None:
    with open_session(one_device(model, x0)) as s:
        for v in (0.0, 0.2, -0.2, 1.0, -1.0):  # reads and programming-level voltages alike
            s.set_sources({"V1": v})
            assert s.op(voltages=["x"])["x"] == pytest.approx(x0, rel=1e-15, abs=1e-15), v


# -- 1. pinched hysteresis --------------------------------------------------------------

class SineCase(NamedTuple):
    amplitude: float  # V, above the switching threshold
    x0: float
    freqs: tuple[float, float, float]  # Hz, rising


SINE = {
    "jart_vcm": SineCase(1.3, 1.0, (1e5, 1e6, 1e7)),
    "stanford_pku": SineCase(1.0, 0.9, (1e5, 1e6, 1e7)),
    "vteam": SineCase(1.0, 1.5, (2e6, 5e6, 2e7)),
    "linear_ion_drift": SineCase(1.0, 0.5, (2.0, 5.0, 20.0)),
    "sky130_reram": SineCase(1.6, 4.1, (1e7, 1e8, 1e9)),
}


@pytest.mark.parametrize("model", MODELS)
def test_sine_drive_gives_a_pinched_loop_whose_area_shrinks_with_frequency(model: str) -> None:
    case = SINE[model]
    areas = []
    for f in case.freqs:
        wave = sine(case.amplitude, f)
        with open_session(one_device(model, case.x0)) as s:
            r = s.tran(1 / f, 1 / (200 * f), waveforms={"V1": wave}, voltages=["p"], currents=["V1"],
                       max_step=1 / (200 * f))
        v, i = r["p"], -r["V1"]
        np.testing.assert_allclose(v, np.interp(r.time, wave.times, wave.values), atol=1e-9)  # drive as meant
        i_peak = np.max(np.abs(i))
        for t0 in (0.0, 0.5 / f, 1.0 / f):  # the pinch: zero current wherever the voltage is zero
            k = int(np.argmin(np.abs(r.time - t0)))
            assert abs(v[k]) < 1e-12 and abs(i[k]) <= 1e-12 * i_peak, (f, t0, v[k], i[k])  # v: PWL round-off
        # area of both lobes: |integral of i dv| over the positive and the negative half-wave
        di = 0.5 * (i[1:] + i[:-1]) * np.diff(v)
        positive = (v[1:] + v[:-1]) >= 0
        areas.append(abs(di[positive].sum()) + abs(di[~positive].sum()))
        if len(areas) == 1:  # a real loop at the lowest frequency, not a line
            assert areas[0] > 0.1 * case.amplitude * i_peak, (areas[0], case.amplitude * i_peak)
    assert areas[0] > areas[1] > areas[2], areas


# -- 2. bounds under strong drive ---------------------------------------------------------

STRONG = {  # amplitude V, duration s of each polarity
    "jart_vcm": (1.6, 1e-6), "stanford_pku": (1.5, 1e-6), "vteam": (1.5, 1e-6), "linear_ion_drift": (5.0, 0.2),
    "sky130_reram": (2.5, 1e-6),
}


@pytest.mark.parametrize("model", MODELS)
def test_state_stays_within_bounds_under_long_strong_drive_of_both_polarities(model: str) -> None:
    amp, dur = STRONG[model]
    dev = get_model(model)
    lo, hi = dev.state_min, dev.state_max
    e = 1e-3 * dur
    wave = Pwl((0.0, e, dur, dur + 2 * e, 2 * dur, 2 * dur + e), (0.0, amp, amp, -amp, -amp, 0.0))
    with open_session(one_device(model, 0.5 * (lo + hi))) as s:
        r = s.tran(2 * dur + e, dur / 100, waveforms={"V1": wave}, states=True)
        carried = float(s.states[0])
    x = r["states"][0]
    # both bounds are reached: V(p,n) > 0 SETs, which raises N (jart) and x (lid) but shrinks the gap
    # (stanford_pku) and w (vteam)
    x_mid, x_end = float(np.interp(dur, r.time, x)), float(x[-1])
    first, second = (lo, hi) if model in ("stanford_pku", "vteam") else (hi, lo)  # sky130_reram: filament grows
    assert abs(x_mid - first) < 1e-4 * (hi - lo) and abs(x_end - second) < 1e-4 * (hi - lo), (x_mid, x_end)
    # the session's carried state is clipped into the bounds exactly
    assert lo <= carried <= hi and carried == pytest.approx(second, abs=1e-4 * (hi - lo))
    # the waveform: documented caveat, during the fastest switching V(x) may pass a bound at a single
    # time point by about Newton's tolerance (reltol*|bound| + vntol). Allowed: one such point per
    # bound, and no more than 10 tolerances (measured: jart 3.3e-5 below 0.008, vteam 8.4e-4 above 3).
    for bound, beyond in ((lo, lo - x), (hi, x - hi)):
        tol = RELTOL * abs(bound) + VNTOL
        assert np.sum(beyond > VNTOL) <= 1, (bound, x[beyond > VNTOL])
        assert beyond.max() <= 10 * tol, (bound, beyond.max(), tol)


# -- 3. read disturb ----------------------------------------------------------------------

READ = {  # read volts, states to check (model units), model-card overrides
    "jart_vcm": (0.2, (0.008, 1.0, 20.0), {}),
    "stanford_pku": (0.2, (0.1, 0.9, 1.7), {}),
    "vteam": (0.2, (0.03, 1.5, 3.0), {}),
    "linear_ion_drift": (0.1, (0.001, 0.5, 0.999), {"vth": 0.5}),  # pure HP (vth = 0) cannot: see below
    "sky130_reram": (0.2, (3.3, 4.1, 4.9), {}),
}


def read_disturb(model: str, v_read: float, states: tuple[float, ...], **card: float) -> np.ndarray:
    """Max relative state change of devices at ``states`` under a 1 ms read at +v_read and -v_read."""
    net = Netlist(f"read {model}")
    net.voltage_source("VP", "a", "0", v_read)
    net.voltage_source("VN", "b", "0", -v_read)
    if card:
        net.model_card("dev", model, **card)
    for k, x0 in enumerate(states):
        for sign, node in (("P", "a"), ("N", "b")):
            net.memristor(f"N{sign}{k}", node, "0", f"x{sign}{k}", model, card="dev" if card else None, x0=x0)
    with open_session(net) as s:
        start = s.states.copy()
        r = s.tran(1e-3, 1e-4, states=True)
    assert np.all(start > 0)
    return np.max(np.abs(r["states"] - start[:, None]), axis=1) / start


@pytest.mark.parametrize("model", MODELS)
def test_a_1ms_read_below_threshold_moves_the_state_by_less_than_1e_6(model: str) -> None:
    v_read, states, card = READ[model]
    change = read_disturb(model, v_read, states, **card)
    assert change.max() < 1e-6, dict(zip(["+" + str(x) for x in states] + ["-" + str(x) for x in states],
                                          change[0::2].tolist() + change[1::2].tolist()))


def test_stanford_pku_reads_below_the_field_threshold_leave_the_gap_unchanged() -> None:
    # F_min (the original Stanford model's field threshold): a read's field moves nothing, to the solver's
    # rounding (retention off); with retention the gap grows only by the zero-bias law, ~1e-12 per ms at 298 K
    assert read_disturb("stanford_pku", 0.2, (0.1, 0.9, 1.7), kret=0.0).max() <= 4e-16
    assert read_disturb("stanford_pku", 0.2, (0.1, 0.9, 1.7)).max() < 1e-11
    assert read_disturb("stanford_pku", 0.2, (0.9,), F_min=0.0).min() > 1e-8  # without it the read creeps


def test_pure_hp_linear_ion_drift_has_no_threshold_so_reads_disturb_it_as_documented() -> None:
    change = read_disturb("linear_ion_drift", 0.1, (0.5,))
    assert 1e-4 < change.min() < 1e-3  # verilog_a/README.md: 2.5e-4 relative at x = 0.5; use vth > 0


# -- 4. pulse trains ----------------------------------------------------------------------

class Train(NamedTuple):
    x0: float  # start state (low conductance)
    v_read: float
    set_pulse: tuple[float, float]  # amplitude V, width s
    reset_pulse: tuple[float, float]
    count: int


TRAINS = {
    "jart_vcm": Train(0.008, 0.2, (1.3, 10e-9), (-1.05, 10e-9), 20),
    "stanford_pku": Train(1.7, 0.2, (1.2, 100e-9), (-0.9, 100e-9), 12),
    "vteam": Train(3.0, 0.2, (0.8, 10e-9), (-0.8, 10e-9), 20),
    "linear_ion_drift": Train(0.1, 0.1, (2.0, 20e-3), (-2.0, 20e-3), 10),
    "sky130_reram": Train(3.3, 0.2, (2.1, 100e-9), (-1.3, 100e-9), 10),
}


def apply_pulse(s: Session, amplitude: float, width: float) -> None:
    edge = min(1e-9, width / 10)
    wave = pulse(amplitude, width, rise=edge, fall=edge)
    s.tran(wave.times[-1], wave.times[-1] / 50, waveforms={"V1": wave})


@pytest.mark.parametrize("model", MODELS)
def test_set_then_reset_pulse_trains_change_conductance_monotonically_in_opposite_directions(model: str) -> None:
    train = TRAINS[model]
    g = []
    with open_session(one_device(model, train.x0)) as s:
        g.append(read_conductance(s, train.v_read))
        for amp, width in [train.set_pulse] * train.count + [train.reset_pulse] * train.count:
            apply_pulse(s, amp, width)
            g.append(read_conductance(s, train.v_read))
    g_set, g_reset = np.array(g[: train.count + 1]), np.array(g[train.count:])
    # Monotone up to 1e-6 relative: a device SET into its bound settles there by ~1e-8 (stanford_pku)
    assert np.all(np.diff(g_set) >= -1e-6 * g_set[:-1]), np.diff(g_set) / g_set[:-1]
    assert np.all(np.diff(g_reset) <= 1e-6 * g_reset[:-1]), np.diff(g_reset) / g_reset[:-1]
    assert g_set[-1] > 1.5 * g_set[0] and g_reset[-1] < g_reset[0] / 1.5, (g_set[[0, -1]], g_reset[[0, -1]])


# -- 5. JART: S-shaped switching curves ----------------------------------------------------

@pytest.mark.parametrize("amplitude, x0, duration", [(1.4, 0.008, 3e-6), (-1.2, 20.0, 1e-6)])
def test_jart_conductance_under_constant_set_and_reset_voltage_is_s_shaped_in_log_time(
    amplitude: float, x0: float, duration: float,
) -> None:
    times = np.logspace(-9, np.log10(duration), 22)
    with open_session(one_device("jart_vcm", x0)) as s:
        r = s.tran(duration, duration / 500, waveforms={"V1": Pwl((0.0, 1e-10, duration), (0.0, amplitude, amplitude))},
                   states=True)
        states = np.interp(times, r.time, r["states"][0])
        g = []
        for n in [0.008, 20.0, *states]:
            s.set_states([n])
            g.append(read_conductance(s, 0.2))
    g_min, g_max, g = g[0], g[1], np.array(g[2:])
    slope = np.diff(np.log(g)) / np.diff(np.log(times))  # d ln G / d ln t
    steepest = int(np.argmax(np.abs(slope)))
    assert np.all(np.sign(slope) == np.sign(amplitude)), slope  # monotone
    assert 2 <= steepest <= len(slope) - 3, slope  # fastest change in the middle ...
    assert np.abs(slope[steepest]) > 20 * max(abs(slope[0]), abs(slope[-1])), slope  # ... slow start and end
    start, end = (g_min, g_max) if amplitude > 0 else (g_max, g_min)
    assert g[0] == pytest.approx(start, rel=0.02)
    if amplitude > 0:  # saturates at Gmax
        assert g[-1] == pytest.approx(g_max, rel=0.02)
    else:  # logarithmically slow tail close to Gmin (within 2x, from 120x above)
        assert g_min < g[-1] < 2 * g_min


# -- 6. linear ion drift closed form ------------------------------------------------------

LID = get_model("linear_ion_drift").parameters
K_LID = LID["mu_v"] * LID["Ron"] / LID["D"] ** 2  # 1/(A s)
DR = LID["Roff"] - LID["Ron"]


def test_linear_ion_drift_under_constant_current_matches_the_closed_form() -> None:
    i0, x0, stop = 1e-3, 0.1, 50e-3
    with open_session(one_device("linear_ion_drift", x0, source="current")) as s:
        s.set_sources({"I1": i0})
        r = s.tran(stop, stop / 100, voltages=["p"], states=True)
    x_cf = x0 + K_LID * i0 * r.time
    assert x_cf[-1] == pytest.approx(0.6)  # well inside the bounds
    # required: 1 %. Measured 2e-15: the integration is exact for a constant rate. The tight bound
    # also catches a frozen first time step (the models once pinned it: 5e-4 relative here).
    np.testing.assert_allclose(r["states"][0], x_cf, rtol=1e-6)
    np.testing.assert_allclose(r["p"], i0 * (LID["Roff"] - DR * x_cf), rtol=1e-6)


def test_linear_ion_drift_under_sine_voltage_matches_the_closed_form() -> None:
    x0, freq = 0.1, 5.0
    wave = sine(1.0, freq)
    with open_session(one_device("linear_ion_drift", x0)) as s:
        r = s.tran(1 / freq, 1 / (200 * freq), waveforms={"V1": wave}, currents=["V1"], states=True)
    # flux of the applied PWL, exact at every time point: its segments are linear
    tw, vw = np.array(wave.times), np.array(wave.values)
    phi_w = np.r_[0.0, np.cumsum(0.5 * (vw[1:] + vw[:-1]) * np.diff(tw))]
    k = np.clip(np.searchsorted(tw, r.time, side="right") - 1, 0, len(tw) - 2)
    v = np.interp(r.time, tw, vw)
    phi = phi_w[k] + 0.5 * (vw[k] + v) * (r.time - tw[k])
    r0 = LID["Roff"] - DR * x0
    q = (r0 - np.sqrt(r0 ** 2 - 2 * DR * K_LID * phi)) / (DR * K_LID)
    x_cf = x0 + K_LID * q
    i_cf = v / (LID["Roff"] - DR * x_cf)
    assert x_cf.max() > 0.13  # the state really moves
    # required: 1 %; measured 7.5e-6 (x) and 1.3e-5 (i, relative to its peak)
    np.testing.assert_allclose(r["states"][0], x_cf, rtol=1e-4)
    i = -r["V1"]
    assert np.max(np.abs(i - i_cf)) < 1e-4 * np.max(np.abs(i_cf))


# -- 7. continuity: step-by-step co-simulation vs one transient ------------------------------

class Continuity(NamedTuple):
    states: tuple[float, float, float, float]  # 2x2 start states
    amplitudes: tuple[float, ...]  # one pulse each
    width: float
    edge: float
    v_read: float


CONTINUITY = {
    "jart_vcm": Continuity((0.008, 0.1, 1.0, 5.0), (1.3, 1.3, 1.3, -1.05, -1.05), 10e-9, 1e-9, 0.2),
    "stanford_pku": Continuity((1.7, 1.3, 0.9, 0.5), (1.2, 1.2, -0.9, -0.9, -0.9), 100e-9, 1e-9, 0.2),
    "vteam": Continuity((3.0, 2.0, 1.0, 0.5), (0.8, 0.8, 0.8, -0.8, -0.8), 10e-9, 1e-9, 0.2),
    "linear_ion_drift": Continuity((0.1, 0.3, 0.5, 0.7), (2.0, 2.0, 2.0, -2.0, -2.0), 20e-3, 1e-3, 0.1),
    "sky130_reram": Continuity((3.3, 3.5, 4.0, 4.5), (2.1, 2.1, -1.3, -1.3, -1.3), 100e-9, 1e-9, 0.2),
}


def array_2x2(model: str, states: tuple[float, ...]) -> Netlist:
    """A 2x2 array: V1 drives both rows through 50 ohm, columns end in 0 V sources through 50 ohm."""
    net = Netlist(f"2x2 {model}")
    net.voltage_source("V1", "d", "0", 0.0)
    for k in range(2):
        net.resistor(f"RR{k}", "d", f"r{k}", 50.0)
        net.resistor(f"RC{k}", f"c{k}", f"s{k}", 50.0)
        net.voltage_source(f"VCOL{k}", f"s{k}", "0", 0.0)
    for i in range(2):
        for j in range(2):
            net.memristor(f"N{i}{j}", f"r{i}", f"c{j}", f"x{i}{j}", model, x0=states[2 * i + j])
    return net


@pytest.mark.parametrize("model", MODELS)
def test_pulses_as_separate_cosimulation_steps_end_where_one_monolithic_transient_ends(model: str) -> None:
    c = CONTINUITY[model]
    unit = pulse(1.0, c.width, rise=c.edge, fall=c.edge, tail=c.edge)
    period, max_step = unit.times[-1], c.width / 20
    with open_session(array_2x2(model, c.states)) as s:
        for amp in c.amplitudes:
            s.tran(period, period / 50, waveforms={"V1": unit.scaled(amp)},
                   max_step=max_step)
            before = s.states.copy()
            s.set_sources({"V1": c.v_read})
            s.op(currents=["VCOL0", "VCOL1"])
            s.set_sources({"V1": 0.0})
            assert np.array_equal(s.states, before)  # a read never moves the state
        stepwise = s.states.copy()
    times, values = [], []
    for k, amp in enumerate(c.amplitudes):
        first = 0 if k == 0 else 1  # adjacent pulses share their 0 V end/start point
        times += [float(f"{k * period + t:.9g}") for t in unit.times[first:]]
        values += [amp * v for v in unit.values[first:]]
    with open_session(array_2x2(model, c.states)) as s:
        s.tran(len(c.amplitudes) * period, period / 50, waveforms={"V1": Pwl(tuple(times), tuple(values))},
               max_step=max_step)
        monolithic = s.states.copy()
    moved = np.abs(stepwise - np.array(c.states)) / np.array(c.states)
    assert moved.max() > 0.05, moved  # the train did something
    np.testing.assert_allclose(stepwise, monolithic, rtol=5e-3)


# -- 8. the compile path --------------------------------------------------------------------

def test_unknown_model_name_is_a_clear_error_listing_the_available_models(model_dir: Path) -> None:
    shutil.copy(verilog_a_dir() / "vteam.va", model_dir / "vteam.va")  # a user folder is listed too
    (model_dir / "my_device.va").write_text("// not compiled by this test\n")
    with pytest.raises(ModelError) as info:
        get_model("no_such_model")
    msg = str(info.value)
    assert "no_such_model" in msg
    for name in (*MODELS, "my_device"):
        assert name in msg


def test_missing_verilog_a_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "gone.va"
    with pytest.raises(ModelError, match="not found") as info:
        get_model(str(missing))
    assert str(missing) in str(info.value)
    with pytest.raises(ModelError, match="cannot read") as info:
        compile_verilog_a(missing)
    assert str(missing) in str(info.value)


def renamed_model(model_dir: Path, name: str, edit: tuple[str, str] | None = None) -> Path:
    """``linear_ion_drift.va`` saved as ``<model_dir>/<name>.va`` with its module renamed (and one edit)."""
    text = (verilog_a_dir() / "linear_ion_drift.va").read_text().replace(
        "module linear_ion_drift(", f"module {name}(")
    if edit is not None:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1])
    path = model_dir / f"{name}.va"
    path.write_text(text)
    return path


def test_broken_verilog_a_gives_the_compiler_message_and_the_file(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    path = renamed_model(model_dir, "broken_lid", ("i = v / r;", "i = v / r"))  # a missing semicolon
    with pytest.raises(ModelError) as info:
        get_model("broken_lid").compile()
    msg = str(info.value)
    assert str(path) in msg and "OpenVAF could not compile" in msg
    assert "error" in msg.lower() and msg.count("\n") >= 1  # the compiler's own report follows
    assert not list((tmp_path / "cache").rglob("*.osdi"))  # nothing half-built is cached


def test_a_changed_model_source_is_recompiled_under_a_new_hash(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    path = renamed_model(model_dir, "user_lid")
    first = get_model("user_lid").compile()
    assert first.parent == tmp_path / "cache" / "osdi" and first.stat().st_size > 0
    assert get_model("user_lid").compile() == first  # unchanged source: cache hit
    renamed_model(model_dir, "user_lid", ("Ron   = 100.0", "Ron   = 200.0"))
    model = get_model("user_lid")
    assert model.source == path.resolve() and model.parameters["Ron"] == 200.0
    second = model.compile()
    assert second != first and second.exists() and first.exists()
    assert second.name.startswith("user_lid-") and second.name.split("-")[1] != first.name.split("-")[1]


def test_a_session_opened_after_the_change_uses_the_recompiled_model(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))

    def g_on() -> float:  # conductance at x = 1, i.e. 1/Ron
        with open_session(one_device("edited_lid", 1.0)) as s:
            return read_conductance(s, 0.1)

    renamed_model(model_dir, "edited_lid")
    assert g_on() == pytest.approx(1 / 100.0, rel=1e-9)
    renamed_model(model_dir, "edited_lid", ("Ron   = 100.0", "Ron   = 200.0"))
    assert g_on() == pytest.approx(1 / 200.0, rel=1e-9)  # loaded under an alias module name
    renamed_model(model_dir, "edited_lid", ("Ron   = 100.0", "Ron   = 400.0"))
    assert g_on() == pytest.approx(1 / 400.0, rel=1e-9)
    renamed_model(model_dir, "edited_lid")  # back to the first source: the first module again
    assert g_on() == pytest.approx(1 / 100.0, rel=1e-9)


# -- 9. a user's own Verilog-A ----------------------------------------------------------------

USER_VA = """// a user's model: SI-suffixed defaults, expressions and an include
`include "disciplines.vams"
`include "user_defs.vams"
module {name}(p, n, x);
    inout p, n, x;
    electrical p, n, x;
    parameter real Ron = 1k;            // ohm
    parameter real Roff = 1M, xmin = 0; // ohm (Verilog-A: M is mega), m
    parameter real xmax = 3n;           // m
    parameter real tau = 2.5u;          // s
    parameter real w = 1e-9 * `SCALE;   // m
    parameter real span = 2 * (xmax - xmin) + Ron / Roff;
    (*type="instance"*) parameter real x0 = xmax / 2;
    real u;
    analog begin
        u = (min(max(V(x), xmin), xmax) - xmin) / (xmax - xmin);
        I(p, n) <+ V(p, n) / (Ron * u + Roff * (1 - u));
        I(x) <+ ddt(V(x)) + (V(x) - x0);
    end
endmodule
"""


def user_model(folder: Path, name: str = "user_mem", scale: str = "1.0", edit: tuple[str, str] | None = None) -> Path:
    """A user's ``<name>.va`` beside its include ``user_defs.vams`` (which defines `SCALE)."""
    text = USER_VA.format(name=name)
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    (folder / "user_defs.vams").write_text(f"`define SCALE {scale}\n")
    path = folder / f"{name}.va"
    path.write_text(text)
    return path


def test_a_user_model_gets_its_defaults_from_the_compiled_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    model = get_model(str(user_model(tmp_path)))
    p = model.parameters
    expected = {"Ron": 1e3, "Roff": 1e6, "xmin": 0.0, "xmax": 3e-9, "tau": 2.5e-6, "w": 1e-9,
                "span": 6e-9 + 1e-3, "x0": 1.5e-9}
    assert list(p) == list(expected) and model.instance_parameters == ("x0",)
    for name, value in expected.items():
        assert p[name] == pytest.approx(value, rel=1e-15, abs=0), name
    model.check_state(3e-9)
    with pytest.raises(ModelError, match="outside"):
        model.check_state(3.0)  # read as 3.0 when the suffix was dropped


def test_an_edited_include_recompiles_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    path = user_model(tmp_path)
    first = get_model(str(path))
    first_osdi = first.compile()
    user_model(tmp_path, scale="2.0")  # the .va file is rewritten unchanged, only the include differs
    second = get_model(str(path))
    assert first.parameters["w"] == pytest.approx(1e-9) and second.parameters["w"] == pytest.approx(2e-9)
    assert second.compile() != first_osdi and first_osdi.exists()


@pytest.mark.parametrize("edit, line, words", [
    (("`include \"user_defs.vams\"", "`include \"user_defs.vams\"\n`include \"nowhere.vams\""), 4,
     ["`include \"nowhere.vams\" not found"]),
    (("parameter real tau = 2.5u;", "parameter real tau = ln(-Ron);"), 10, ["parameter tau = ln(-Ron)", "nan"]),
    (("parameter real tau = 2.5u;", "parameter real tau = 1 / (Ron - 1k);"), 10,
     ["parameter tau = 1 / (Ron - 1k)", "division by zero"]),
    (("parameter real tau = 2.5u;", "parameter real tau = 1meg;"), 10, ["Verilog-A writes 1e6 as 1M"]),
    (("parameter real tau = 2.5u;", "parameter real RON = 2.5u;"), 10, ["'Ron'", "'RON'", "differ only in case"]),
])
def test_a_bad_user_model_is_refused_naming_file_line_and_parameter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str], line: int, words: list[str],
) -> None:
    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    path = user_model(tmp_path, edit=edit)
    with pytest.raises(ModelError) as info:
        get_model(str(path))
    msg = str(info.value)
    assert f"{path.resolve()}:{line}" in msg, msg
    for word in words:
        assert word in msg, msg
    crash = re.search(r"its log: (\S+)\)", msg)  # OpenVAF crashes on a constant division by zero
    if crash:
        Path(crash.group(1)).unlink(missing_ok=True)


def test_a_device_parameter_matching_only_without_case_is_refused_naming_the_meant_one() -> None:
    from memcosim.circuits.crossbar import check_array
    from memcosim.config.array import ArrayConfig, DeviceConfig
    from memcosim.errors import ConfigError

    for key, meant in (("v0", "V0"), ("vel0", "Vel0"), ("F_MIN", "F_min")):
        with pytest.raises(ConfigError) as info:
            check_array(ArrayConfig(1, 1, DeviceConfig("stanford_pku", {key: 20.0})))
        assert info.value.field == f"device.params.{key}" and f"did you mean {meant!r}" in str(info.value)
    check_array(ArrayConfig(1, 1, DeviceConfig("stanford_pku", {"Vel0": 20.0})))
    for worker in (False, True):  # a running session refuses it too, before ngspice sees it
        with open_session(one_device("jart_vcm", 1.0), SessionOptions(worker=worker)) as s:
            with pytest.raises(ModelError, match="did you mean 'rfil'"):
                s.set_device_params("N1", RFIL=30e-9)
            s.set_device_params("N1", rfil=30e-9)


def test_a_user_model_runs_in_a_session_beside_a_shipped_model_of_the_same_module_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.config.array import ArrayConfig, DeviceConfig

    monkeypatch.setenv("MEMCOSIM_CACHE", str(tmp_path / "cache"))
    mine = tmp_path / "vteam.va"  # a user's vteam: Ron 10x higher
    text = (verilog_a_dir() / "vteam.va").read_text()
    assert "Ron       = 10.0e3" in text
    mine.write_text(text.replace("Ron       = 10.0e3", "Ron       = 100.0e3"))

    def g_on(model: str) -> float:
        xbar = build_crossbar(ArrayConfig(1, 1, DeviceConfig(model), states=0.0))
        with open_session(xbar.netlist) as s:
            s.set_sources({"VROW0": 0.2})
            return float(s.op(currents=["VCOL0"])["VCOL0"] / 0.2)

    assert g_on("vteam") == pytest.approx(1e-4, rel=1e-9)
    assert g_on(str(mine)) == pytest.approx(1e-5, rel=1e-9)
    assert g_on("vteam") == pytest.approx(1e-4, rel=1e-9)


# -- 10. the documented switching table ---------------------------------------------------------

@pytest.mark.slow
def test_the_readme_sky130_reram_switching_table_matches_a_fresh_simulation() -> None:
    from memcosim.cosim.switching_table import TABLES, readme_table, simulate_row

    table = TABLES["sky130_reram"]
    shown = readme_table((verilog_a_dir() / "README.md").read_text(), table)
    for k in (1, 3):  # +2.1 V and -1.3 V, the preset amplitudes
        np.testing.assert_allclose(shown[k], simulate_row(table.model, table.rows[k], table.times), rtol=1e-2, atol=0)


def test_the_readme_jart_switching_table_matches_a_fresh_simulation() -> None:
    from memcosim.cosim.switching_table import TABLES, readme_table, render, simulate_row

    table = TABLES["jart_vcm"]
    text = (verilog_a_dir() / "README.md").read_text()
    shown = readme_table(text, table)
    assert shown.shape == (len(table.rows), len(table.times))
    labels = render(table, shown).splitlines()[2:]
    assert text.count("\n".join(labels)) == 1  # the rows (drive, start) and the times are the table's
    for k, row in enumerate(table.rows):
        if (row.amplitude, row.start) in ((1.2, 0.008), (-1.0, 20.0)):  # two rows, a few short transients
            np.testing.assert_allclose(shown[k], simulate_row(table.model, row, table.times), rtol=1e-2, atol=0)


def test_the_readme_read_tables_match_a_fresh_simulation() -> None:
    from memcosim.cosim.switching_table import READ_TABLES, readme_table

    text = (verilog_a_dir() / "README.md").read_text()
    for table in READ_TABLES.values():
        shown = readme_table(text, table)
        assert text.count(table.render(shown)) == 1, table.marker  # the states and read voltage are the table's
        np.testing.assert_allclose(shown, table.simulate(), rtol=5e-3, atol=0, err_msg=table.marker)


@pytest.mark.parametrize("model", [pytest.param(m, marks=[] if m == "vteam" else [pytest.mark.slow])
                                   for m in ("jart_vcm", "jart_v1b", "stanford_pku", "vteam", "linear_ion_drift",
                                             "sky130_reram")])
def test_the_readme_preset_pulse_tables_match_a_fresh_simulation(model: str) -> None:
    from memcosim.cosim.switching_table import PULSE_TABLES, readme_table

    table = PULSE_TABLES[model]
    text = (verilog_a_dir() / "README.md").read_text()
    shown = readme_table(text, table)
    assert text.count(table.render(shown)) == 1
    np.testing.assert_allclose(shown, table.simulate(), rtol=5e-3, atol=0)
