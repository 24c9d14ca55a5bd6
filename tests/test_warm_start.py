"""Warm operating points (SessionOptions.warm_start): consecutive reads as points of one paused DC
analysis in ngspice, against operating points solved from scratch, with real ngspice."""

from __future__ import annotations

import numpy as np
import pytest

import memcosim.cosim.session as session_module
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.devices.registry import get_model
from memcosim.circuits.waveforms import pulse
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import Session, SessionOptions

N = 8


def _array():
    rng = np.random.default_rng(3)
    dev = get_model("jart_vcm")
    states = np.exp(rng.uniform(np.log(dev.state_min), np.log(dev.state_max), (N, N)))
    return build_crossbar(ArrayConfig(N, N, device=DeviceConfig("jart_vcm"),
                                      wires=WireConfig(r_row=2.5, r_column=2.5, r_driver=2.5), states=states))


def _reads(xbar, options: SessionOptions, inputs: np.ndarray, between=None) -> np.ndarray:
    """Column currents (amperes) for each row of ``inputs`` (volts); ``between(session, k)`` runs before read k."""
    out = []
    with open_session(xbar.netlist, options) as s:
        for k, v in enumerate(inputs):
            if between is not None:
                between(s, k)
            s.set_sources(dict(zip(xbar.row_sources, v)))
            out.append(s.op(currents=xbar.column_sources).stack(xbar.column_sources))
    return np.array(out)


def _close(a: np.ndarray, b: np.ndarray, reltol: float = 1e-4) -> None:
    """Equal within the solver tolerance, relative to each read's largest current."""
    scale = np.abs(b).max(axis=1, keepdims=True)
    assert np.all(np.abs(a - b) <= reltol * scale), np.max(np.abs(a - b) / scale)


def test_warm_reads_agree_with_reads_solved_from_scratch_and_see_every_state_and_parameter_change():
    xbar = _array()
    inputs = np.random.default_rng(4).uniform(0.0, 0.2, (12, N))
    names = [m.name for m in xbar.netlist.memristors]

    def changes(s: Session, k: int) -> None:
        if k == 4:
            s.set_states({names[0]: 15.0, names[9]: 0.01})  # device states
        if k == 7:
            s.set_device_params(names[3], rfil=30e-9)  # a variation knob
        if k == 9:
            s.tran(20e-9, 1e-9, waveforms={xbar.row_sources[0]: pulse(1.2, 5e-9)})  # a SET pulse

    warm = _reads(xbar, SessionOptions(worker=False), inputs, changes)
    cold = _reads(xbar, SessionOptions(worker=False, warm_start=False), inputs, changes)
    _close(warm, cold)
    # the changes mattered (the test would not notice a stale analysis otherwise)
    plain = _reads(xbar, SessionOptions(worker=False, warm_start=False), inputs)
    for k in (4, 7, 9):
        assert np.max(np.abs(cold[k] - plain[k]) / np.abs(plain[k]).max()) > 1e-3


def test_forget_solution_makes_the_next_reads_independent_of_what_came_before():
    xbar = _array()
    rng = np.random.default_rng(5)
    history_a, history_b, batch = rng.uniform(0, 0.2, (3, N)), rng.uniform(0, 0.2, (5, N)), rng.uniform(0, 0.2, (4, N))

    def run(history):
        def forget(s: Session, k: int) -> None:
            if k == len(history):
                s.forget_solution()
        return _reads(xbar, SessionOptions(), np.vstack([history, batch]), forget)[len(history):]

    a, b = run(history_a), run(history_b)
    np.testing.assert_array_equal(a, b)  # bit for bit, through the worker process too


def test_a_long_run_of_warm_reads_restarts_its_analysis_and_stays_correct(monkeypatch):
    monkeypatch.setattr(session_module, "WARM_POINTS", 3)
    xbar = _array()
    inputs = np.random.default_rng(6).uniform(0.0, 0.2, (10, N))
    plots = []
    warm = _reads(xbar, SessionOptions(worker=False), inputs, lambda s, k: plots.append(s.warm_points))
    _close(warm, _reads(xbar, SessionOptions(worker=False, warm_start=False), inputs))
    assert plots == [0, 1, 2, 3, 1, 2, 3, 1, 2, 3]  # points of the paused analysis before each read


@pytest.mark.parametrize("warm_start", [True, False])
def test_other_requests_between_warm_reads_are_answered(warm_start):
    xbar = _array()
    with open_session(xbar.netlist, SessionOptions(worker=False, warm_start=warm_start)) as s:
        s.set_sources({xbar.row_sources[0]: 0.1})
        i = s.op(currents=xbar.column_sources)
        v = s.op(voltages=["r0_0"])  # another save list: a new analysis
        both = s.op(voltages=["r0_0"], currents=xbar.column_sources)
    assert v["r0_0"] == pytest.approx(0.1, rel=1e-3)
    assert both["r0_0"] == pytest.approx(v["r0_0"], rel=1e-6)
    np.testing.assert_allclose(both.stack(xbar.column_sources), i.stack(xbar.column_sources), rtol=1e-6)
