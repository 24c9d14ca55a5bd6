"""The non-convergence retry ladder of the session (gmin stepping, source stepping, smaller time step)."""

from __future__ import annotations

import logging

import pytest

from memcosim.circuits.netlist import Netlist
from memcosim.cosim.engine import open_session
from memcosim.cosim.session import SessionOptions
from memcosim.errors import SimulationError


def _floating() -> Netlist:
    """Node ``f`` is tied to the rest only through capacitors: no DC solution without gmin."""
    net = Netlist("capacitively coupled node")
    net.voltage_source("V1", "a", "0", 1.0)
    net.resistor("R1", "a", "0", 1e3)
    net.capacitor("C1", "f", "0", 1e-12)
    net.capacitor("C2", "f", "a", 1e-12)
    return net


def _diode() -> Netlist:
    net = Netlist("diode stress")
    net.model_card("dm", "d", **{"is": 1e-14})
    net.voltage_source("V1", "a", "0", 0.5)
    net.add("D1", ("a", "0"), "dm", "diode")
    return net


def test_ladder_rescues_an_operating_point_that_fails_without_it_and_logs_each_retry(caplog):
    # cold operating points: the ladder is about `op` itself (the first point of a warm DC analysis
    # solves this floating node to 0 V without a retry, see test_warm_op_solves_the_floating_node)
    with open_session(_floating(), SessionOptions(retry=False, warm_start=False)) as s:
        with pytest.raises(SimulationError, match="singular matrix"):
            s.op(voltages=["f"])
        assert s.convergence["retried"] == 0
    caplog.set_level(logging.WARNING, logger="memcosim.session")
    with open_session(_floating(), SessionOptions(warm_start=False)) as s:
        r = s.op(voltages=["f", "a"])
        assert r["a"] == pytest.approx(1.0) and abs(r["f"]) < 1e-6
        assert s.convergence == {"retried": 1, "rescued": 1, "failed": 0, "rungs": {"gmin stepping": 1}}
        messages = [rec.getMessage() for rec in caplog.records if rec.name == "memcosim.session"]
        assert any("retrying with gmin stepping" in m for m in messages)
        assert any("converged with gmin stepping" in m for m in messages)
        # the session goes on (ngspice now starts from the rescued solution)
        assert abs(s.op(voltages=["f"])["f"]) < 1e-6


def test_warm_op_solves_the_floating_node():
    with open_session(_floating()) as s:
        r = s.op(voltages=["f", "a"])
        assert r["a"] == pytest.approx(1.0) and abs(r["f"]) < 1e-6
        assert s.convergence["retried"] == 0


def test_unrescued_op_and_tran_raise_after_every_rung_with_ngspice_message_and_session_recovers(caplog):
    caplog.set_level(logging.WARNING, logger="memcosim.session")
    with open_session(_diode()) as s:
        good = s.op(currents=["V1"])["V1"]
        s.set_sources({"V1": 30.0})
        with pytest.raises(SimulationError) as info:
            s.op(currents=["V1"])
        msg = str(info.value)
        assert "op analysis failed at session step 2" in msg and "not rescued by gmin stepping, source stepping" in msg
        with pytest.raises(SimulationError) as info:
            s.tran(1e-9, 1e-11, currents=["V1"])
        assert "time step / 10, time step / 100" in str(info.value)
        assert s.convergence["failed"] == 2 and s.convergence["rescued"] == 0
        retries = [r for r in caplog.records if "retrying with" in r.getMessage()]
        assert len(retries) == 2 + 4
        s.set_sources({"V1": 0.5})
        assert s.op(currents=["V1"])["V1"] == pytest.approx(good, rel=1e-9)


def test_failures_that_are_not_convergence_problems_are_not_retried():
    net = _floating()
    with open_session(net, SessionOptions(retry=True)) as s:
        with pytest.raises(SimulationError):
            s.run(_unknown_analysis)
        assert s.convergence["retried"] == 0 and s.step == 1


def _unknown_analysis(session):
    return session.run_analysis("op", "op_no_such_analysis")
