"""Zero-bias retention: the closed forms against a scipy integration of the same state equation, the
session's ageing call against an ngspice transient at zero bias (sped up by a high temperature), the
drift of the cited law over a bake, and reads that still never move a state."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.readout import read_array
from memcosim.cosim.session import SessionOptions
from memcosim.devices.registry import get_model
from memcosim.devices.retention import BOLTZMANN_EV, retention_law, to_kelvin
from memcosim.errors import ConfigError

STATES = {"stanford_pku": [0.1, 0.5, 1.0, 1.69], "jart_vcm": [0.008, 0.5, 5.0, 19.9], "jart_v1b": [0.008, 0.5, 5.0, 19.9]}


def _defaults(model: str) -> dict[str, float]:
    p = get_model(model).parameters
    return {n: p[n] for n in retention_law(model).parameters}


@pytest.mark.parametrize("model", sorted(STATES))
@pytest.mark.parametrize("kelvin", [358.15, 523.15])
def test_closed_form_ageing_matches_scipy_integration_of_the_zero_bias_rate(model: str, kelvin: float) -> None:
    law, params = retention_law(model), _defaults(model)
    x0 = np.array(STATES[model])
    for seconds in (3600.0, 86400.0 * 30):
        ref = solve_ivp(lambda t, x: law.rate(x, kelvin, params), (0.0, seconds), x0, method="LSODA",
                        rtol=1e-10, atol=1e-12).y[:, -1]
        assert law.age(x0, seconds, kelvin, params) == pytest.approx(ref, rel=1e-5, abs=1e-6 * x0.max())


def test_stanford_gap_grows_by_the_cited_law_over_a_bake_and_is_arrhenius_in_temperature() -> None:
    # stanford_pku.va: g^2 = g0^2 + 2 D t, D = kret a0 Vel0 exp(-Ea_ret/kT), a0 = 0.25 nm, Vel0 = 10 m/s, 1.2 eV
    law, params = retention_law("stanford_pku"), _defaults("stanford_pku")
    d150 = 0.25 * 10e9 * math.exp(-1.2 / (BOLTZMANN_EV * 423.15))  # nm^2/s at 150 C
    g = law.age(np.array([0.1, 1.0]), 3600.0, to_kelvin(celsius=150), params)
    assert g == pytest.approx(np.sqrt(np.array([0.1, 1.0]) ** 2 + 2 * d150 * 3600), rel=1e-12)
    assert g[0] == pytest.approx(0.319, abs=1e-3)  # an LRS gap of 0.1 nm opens to 0.32 nm in one hour at 150 C
    # Arrhenius: the slope of ln D against 1/kT is -Ea_ret
    t = np.array([300.0, 358.15, 423.15])
    d = np.array([((law.age(np.array([0.1]), 1.0, k, params)[0]) ** 2 - 0.01) / 2 for k in t])
    slope = np.polyfit(1 / (BOLTZMANN_EV * t), np.log(d), 1)[0]
    assert slope == pytest.approx(-1.2, rel=1e-6)


def test_jart_disc_relaxes_toward_the_plug_at_the_rate_of_its_own_hopping_kinetics() -> None:
    law, params = retention_law("jart_vcm"), _defaults("jart_vcm")
    k = 0.25e-9 * 2e13 / 0.3e-9 * math.exp(-1.35 / (BOLTZMANN_EV * 423.15))  # a nu0 / ldisc exp(-dWa/kT), 1/s
    n = law.age(np.array([0.008, 20.0]), 1000.0, 423.15, params)
    assert n[0] == pytest.approx(20 + (0.008 - 20) * math.exp(-k * 1000), rel=1e-12)
    assert n[1] == 20.0  # the LRS (disc = plug) does not move


def test_vteam_and_linear_ion_drift_do_not_move_at_zero_bias_and_unknown_models_are_refused() -> None:
    for model in ("vteam", "linear_ion_drift"):
        assert retention_law(model).age([0.3, 0.7], 1e7, 400.0, {}).tolist() == [0.3, 0.7]
    with pytest.raises(ConfigError, match="no zero-bias retention law"):
        retention_law("mine")
    with pytest.raises(ConfigError, match="exactly one"):
        to_kelvin(300.0, 20.0)
    assert to_kelvin(celsius=85) == pytest.approx(358.15)


def _array(model: str, states: list[float], kelvin: float | None = None) -> tuple:
    params = {"T0": kelvin} if kelvin is not None else {}
    cfg = ArrayConfig(1, len(states), DeviceConfig(model, params), states=np.array([states]))
    return build_crossbar(cfg)


@pytest.mark.parametrize("model, kelvin, seconds", [("stanford_pku", 523.15, 10.0), ("jart_vcm", 523.15, 1.0),
                                                    ("jart_v1b", 523.15, 1.0)])
def test_ageing_matches_an_ngspice_transient_at_zero_bias(model: str, kelvin: float, seconds: float) -> None:
    states = STATES[model][:3]
    xbar = _array(model, states, kelvin)  # the model's ambient T0 at the bake temperature
    with open_session(xbar.netlist) as s:
        s.tran(seconds, seconds / 200)
        by_transient = s.states.copy()
    with open_session(_array(model, states).netlist) as s:  # room-temperature card; the bake is the call's
        aged = s.age(seconds, kelvin=kelvin)
    assert np.any(np.abs(aged - states) > 0.01 * np.abs(states))  # the bake moved the states visibly
    assert aged == pytest.approx(by_transient, rel=1e-4)  # measured: 2.7e-5 (stanford_pku), 2e-6 (jart)


@pytest.mark.parametrize("worker", [False, True])
def test_ageing_sets_the_states_and_reads_before_and_after_never_move_them(worker: bool) -> None:
    xbar = _array("stanford_pku", STATES["stanford_pku"][:3])
    with open_session(xbar.netlist, SessionOptions(worker=worker)) as s:
        g0 = read_array(s, xbar, 0.2)
        g0_again = read_array(s, xbar, 0.2)
        assert s.states.tolist() == STATES["stanford_pku"][:3] and np.array_equal(g0, g0_again)
        aged = s.age(86400.0, celsius=150)
        assert s.states.tolist() == aged.tolist() and np.all(aged > STATES["stanford_pku"][:3])
        g1 = read_array(s, xbar, 0.2)
        assert np.all(g1 < g0) and s.states.tolist() == aged.tolist()
        assert np.array_equal(read_array(s, xbar, 0.2), g1)
        s.age(0.0, kelvin=300.0)
        assert s.states.tolist() == aged.tolist()


RUN = """
[train]
algorithm = "forward_only"
dataset = "digits"
classes = [0, 1, 2, 3]
update = "pulse"
batch_size = 4
epochs = 1
train_limit = 12
test_limit = 12
seed = 0

[forward_only]
rule = "competitive"
hidden = 8
units_per_class = 2
margin = 0.1
"""


@pytest.mark.slow
def test_retention_study_trains_ages_tests_and_resumes_without_repeating_points(tmp_path) -> None:
    from memcosim.studies.retention import load_retention_study, run_retention_study

    (tmp_path / "run.toml").write_text(RUN)
    study = tmp_path / "study.toml"
    study.write_text('[retention]\nrun = "run.toml"\nseconds = [86400]\ncelsius = [85]\n'
                     'tolerance = 0.02\nmax_pulses = 40\n')
    rows = run_retention_study(study, tmp_path / "out", progress=False, log=None)
    assert [(r["network"], r["seconds"]) for r in rows] == [("reset_only", 0.0), ("reset_only", 86400.0),
                                                          ("write_verify", 0.0), ("write_verify", 86400.0)]
    aged = [r for r in rows if r["seconds"] > 0]
    assert all(r["mean_conductance_change"] < 0 for r in aged)  # a day at 85 C opens the gaps: G falls
    for name in ("retention.csv", "retention.md", "retention.png", "train_checkpoint.npz", "write_verify_states.npy"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    programmed = json.loads((tmp_path / "out" / "retention.json").read_text())["write_verify"]
    assert programmed["devices"] == 65 * 16 + 9 * 16 and programmed["mean_pulses"] > 0
    again = run_retention_study(study, tmp_path / "out", progress=False, log=None)
    assert again == rows  # resumed: every point was already there
    # a trained checkpoint of the run is loaded instead of training: the same network, the same accuracy
    # (as trained: tested once, shared by both temperatures)
    study.write_text('[retention]\nrun = "run.toml"\nseconds = [86400]\ncelsius = [25, 85]\nwrite_verify = false\n'
                     'checkpoint = "out/train_checkpoint.npz"\n')
    loaded = run_retention_study(study, tmp_path / "out2", progress=False, log=None)
    assert [(r["celsius"], r["seconds"]) for r in loaded] == [(25, 0), (25, 86400), (85, 0), (85, 86400)]
    assert loaded[0]["test_acc"] == loaded[2]["test_acc"] == rows[0]["test_acc"] and loaded[2]["wall_s"] == 0
    assert loaded[3]["test_acc"] == rows[1]["test_acc"]
    assert not (tmp_path / "out2" / "train_checkpoint.npz").exists()
    study.write_text('[retention]\nrun = "run.toml"\ncheckpoint = "nowhere.npz"\n')
    with pytest.raises(ConfigError, match="retention.checkpoint"):
        load_retention_study(study)
    study.write_text('[retention]\nrun = "run.toml"\nseconds = [-1]\n')
    with pytest.raises(ConfigError, match=r"retention.seconds\[0\]"):
        load_retention_study(study)


def test_retention_study_refuses_a_missing_checkpoint_before_any_work(tmp_path) -> None:
    from memcosim.studies.retention import run_retention_study

    (tmp_path / "run.toml").write_text(RUN)
    study = tmp_path / "study.toml"
    study.write_text('[retention]\nrun = "run.toml"\n')
    with pytest.raises(ConfigError, match="--checkpoint"):
        run_retention_study(study, tmp_path / "out", progress=False, log=None, checkpoint=tmp_path / "none.npz")
    assert not (tmp_path / "out").exists()
    study.write_text('[retention]\nrun = "run.toml"\ntest_samples = -3\n')
    with pytest.raises(ConfigError, match="retention.test_samples"):
        run_retention_study(study, tmp_path / "out", progress=False, log=None)
