"""Energy of updates and reads (real ngspice): write-and-verify's pulse energy and read count, the energy of a
read window, a layer's read energy, and the reset-only vs program-and-verify study on a tiny forward-only run."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.device_table import conductance_device
from memcosim.cosim.engine import open_session
from memcosim.cosim.readout import read_cell, read_row_energy
from memcosim.errors import ConfigError
from memcosim.programming.pulses import PulseSpec, apply_pulse
from memcosim.programming.write_verify import IncrementalPolicy, write_verify
from memcosim.studies.energy_update import UpdateEnergyConfig, run_update_energy
from memcosim.trainers.config import RunConfig

DEVICE = conductance_device("stanford_pku", {}, 0.2)


def array(rows: int, columns: int, g: float, drivers: bool = True):
    periphery = PeripheryConfig(programming=ProgrammingConfig("V/2", PulseConfig(1.0, 100e-9))) if drivers else None
    state = float(DEVICE.state_for(np.array([g]))[0])
    return build_crossbar(ArrayConfig(rows, columns, DeviceConfig("stanford_pku"), states=state,
                                      **({"periphery": periphery} if periphery else {})))


def test_a_pulse_reports_the_energy_of_every_supply_group():
    xb = array(1, 1, 2e-4)
    with open_session(xb.netlist) as s:
        x0 = s.states.copy()
        r = apply_pulse(s, xb, PulseSpec(-0.83, 100e-9, 5e-9, 5e-9), "cell", (0, 0))
        s.set_states(x0)
        r2 = apply_pulse(s, xb, PulseSpec(-0.83, 200e-9, 5e-9, 5e-9), "cell", (0, 0))
    # a 1x1 cell: the drivers deliver it all, more than V^2 G(0.2 V) t (the HfOx I-V is a sinh), about in
    # proportion to the time at full amplitude (105 ns and 205 ns counting the edges at half power)
    assert r.energy["programming_drivers"] == pytest.approx(r.total_energy)
    assert r.total_energy > 0.83 ** 2 * 2e-4 * 100e-9
    assert r2.total_energy / r.total_energy == pytest.approx(205 / 105, rel=0.03)


def test_write_verify_counts_pulse_energy_and_reads():
    xb = array(1, 1, 2.4e-4)
    policy = IncrementalPolicy(PulseConfig(0.7, 100e-9, 5e-9), PulseConfig(-0.7, 100e-9, 5e-9), step=0.02, set_stop=1.2,
                               reset_stop=-1.0)
    with open_session(xb.netlist) as s:
        g0 = read_cell(s, xb, 0, 0, 0.2)
        r = write_verify(s, xb, (0, 0), g0 * 0.995, policy, tolerance=0.002, max_pulses=20, v_read=0.2)
    assert r.converged and r.pulses >= 2
    assert r.reads == r.pulses + 1  # one read before the first pulse and one after each
    assert r.pulse_energy == pytest.approx(sum(step.energy for step in r.steps))
    assert all(step.energy > 0 for step in r.steps)
    # incremental steps: every later pulse is larger, and so is its energy
    assert [st.energy for st in r.steps] == sorted(st.energy for st in r.steps)


def test_read_window_energy_is_v_squared_g_t_and_moves_no_device():
    xb = array(2, 3, 1e-4, drivers=False)
    with open_session(xb.netlist) as s:
        before = s.states.copy()
        e = read_row_energy(s, xb, 1, 1e-6, 0.2)
        assert np.array_equal(s.states, before)
        g = read_cell(s, xb, 1, 0, 0.2)
    assert sum(e.values()) == pytest.approx(0.2 ** 2 * 3 * g * 1e-6, rel=1e-3)
    with pytest.raises(ConfigError, match="row"):
        read_row_energy(None, xb, 5, 1e-6)


def tiny_run() -> RunConfig:
    return RunConfig(train=dict(dataset="digits", classes=[0, 1], train_limit=4, test_limit=2, epochs=1,
                                batch_size=4, update="pulse", algorithm="forward_only", seed=5, progress=False),
                     forward_only=dict(hidden=2, rule="competitive", units_per_class=1, energy_compare=False))


@pytest.mark.slow
def test_reset_only_against_program_and_verify_on_the_run_circuit():
    policy = IncrementalPolicy(PulseConfig(0.7, 100e-9, 5e-9), PulseConfig(-0.7, 100e-9, 5e-9), step=0.02, set_stop=1.2,
                               reset_stop=-1.0)
    cfg = UpdateEnergyConfig(cells=1, dg_tolerance=0.5, max_pulses=15, samples=1, train_samples=4,
                             g_start_low=1.5e-4, policies={"ispp": policy})
    rows, summary, inference = run_update_energy(tiny_run(), cfg, log=None)
    reset, pv = rows
    assert reset["method"] == "reset-only" and reset["pulses"] == 1 and reset["reads"] == 0
    assert reset["dg"] < 0 and reset["E_total"] > 0 and reset["E_tia"] > 0  # the TIAs stay on the columns
    assert pv["method"] == "program-and-verify (ispp)" and pv["converged"]
    assert abs(pv["g_final"] - pv["g_target"]) <= 0.5 * abs(pv["dg"]) * (1 + 1e-9)
    assert pv["E_total"] == pytest.approx(pv["E_pulses"] + pv["reads"] * pv["E_read_one"])
    assert pv["ratio"] == pytest.approx(pv["E_total"] / reset["E_total"]) and pv["ratio"] > 1
    assert [s["success_rate"] for s in summary] == [1.0, 1.0]
    assert inference["reads_per_sample"] == 2 and inference["E_inference"] > 0
    assert inference["updates"] >= 1 and inference["learning_overhead"] > 0
