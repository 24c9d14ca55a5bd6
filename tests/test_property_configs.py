"""Property-based tests (hypothesis) over array configurations.

Every generated configuration either is rejected up front with a clear error (a ConfigError naming
a field, or a NetlistError), or builds a netlist that passes the structure checks and simulates
in ngspice (operating point, and a short transient for device models) with finite results. No
configuration may get as far as ngspice and fail there. The test counts how the configurations
ended, prints the tally (``pytest -s``) and checks that every one was tried and both outcomes occurred.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.config_file import config_from_dict
from memcosim.devices.registry import get_model
from memcosim.circuits.waveforms import pulse
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError, NetlistError

EXAMPLES = 200
MODELS = ["resistor", "linear_ion_drift", "vteam", "jart_vcm", "stanford_pku"]

ohms = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))
farads = st.one_of(st.just(0.0), st.floats(1e-18, 1e-12))
# one field set to a value the config must refuse (with the field's name)
CORRUPTIONS = [("rows", 0), ("rows", -2), ("rows", 2.5), ("columns", "3"), ("r_row", float("nan")),
               ("r_column", -1.0), ("r_driver", float("inf")), ("c_row", -1e-15), ("cell", "2T2R"),
               ("variation", 2.0), ("seed", -1), ("model", "no_such_model"), ("model", "vteam\n.control"),
               ("differential", "yes"), ("device_params", {"no_such_param": 1.0}), ("states", float("nan")),
               ("periphery", {"dac": {"bits": 0}}), ("periphery", {"adc": {"bits": 8}}),
               ("faults", {"stuck_on": 0.8, "stuck_off": 0.8}), ("faults", {"open_row": 0.1, "bogus": 1})]


@st.composite
def periphery(draw):
    blocks = set(draw(st.sampled_from([(), ("dac",), ("programming",), ("tia", "adc"), ("tia", "adc", "nudge"),
                                       ("dac", "tia", "adc", "nudge", "programming"), ("adc",), ("nudge",)])))
    if not blocks:
        return None
    tables = dict(  # TOML-like tables: the config validates them (and names what is wrong)
        dac=dict(bits=draw(st.integers(0, 12)), v_max=draw(st.floats(0.05, 1.0)),
                 r_out=draw(st.one_of(st.just(0.0), st.floats(1.0, 1e3)))),
        tia=dict(gain=draw(st.floats(10.0, 1e6)), r_feedback=draw(st.floats(1e2, 1e6))),
        adc=dict(bits=draw(st.integers(1, 12))),
        nudge=dict(current=draw(st.floats(-1e-6, 1e-6))),
        programming=dict(scheme=draw(st.sampled_from(["V/2", "V/3", "ground", "V/4"])),
                         amplitude=draw(st.floats(0.2, 1.5))),
    )
    return {k: v for k, v in tables.items() if k in blocks}


@st.composite
def configs(draw):
    model = draw(st.sampled_from(MODELS))
    kw = dict(
        rows=draw(st.integers(1, 6)),
        columns=draw(st.integers(1, 6)),
        model=model,
        r_row=draw(ohms), r_column=draw(ohms), r_driver=draw(st.one_of(st.just(0.0), st.floats(1.0, 1e3))),
        c_row=draw(farads), c_column=draw(farads),
        cell=draw(st.sampled_from(["1R", "1T1R"])),
        differential=draw(st.integers(0, 3)) == 0,
        variation=draw(st.one_of(st.just(0.0), st.floats(0.0, 0.3))),
        seed=draw(st.integers(0, 2**16)),
    )
    if model == "resistor":
        kw["conductance"] = draw(st.floats(1e-7, 1e-3))
    elif draw(st.booleans()):
        kw["device_params"] = draw(st.sampled_from([{}, {"beps": 1e-4}, {"x0": 1e9}]))
    if kw["cell"] == "1T1R" and draw(st.booleans()):
        kw["access"] = dict(v_gate=draw(st.floats(0.8, 3.0)))
    kw["periphery"] = draw(periphery())
    if draw(st.integers(0, 3)) == 0:
        key, value = draw(st.sampled_from(CORRUPTIONS))
        kw[key] = value
    if draw(st.integers(0, 3)) == 0:
        kw["faults"] = dict(stuck_on=draw(st.floats(0.0, 0.5)), stuck_off=draw(st.floats(0.0, 0.5)),
                            open_row=draw(st.sampled_from([0.0, 0.2])), short_column=draw(st.sampled_from([0.0, 0.3])),
                            dead_adc=draw(st.sampled_from([0.0, 0.5])), seed=draw(st.integers(0, 99)))
    return _tables(kw)


def _tables(kw: dict) -> dict:
    """The flat draw as the tables of a crossbar TOML file ([device], [wires], ...)."""
    out = dict(kw)
    device = {"model": out.pop("model")}
    if "device_params" in out:
        device["params"] = out.pop("device_params")
    out["device"] = device
    out["wires"] = {k: out.pop(k) for k in ("r_row", "r_column", "r_driver", "c_row", "c_column")}
    return out


def reject_or_simulate(kw: dict, seed: int) -> str:
    """``"rejected"`` (a named error before ngspice) or ``"simulated"`` (finite results); AssertionError otherwise."""
    try:
        config = config_from_dict(kw)
        xbar = build_crossbar(config)  # structure checks included
    except (ConfigError, NetlistError) as exc:
        assert str(exc) and ":" in str(exc) or isinstance(exc, NetlistError)
        if isinstance(exc, ConfigError):
            assert exc.field, exc
        return "rejected"
    except (TypeError, ValueError) as exc:  # a wrong type must still be a named config error
        raise AssertionError(f"unclear error for {kw}: {type(exc).__name__}: {exc}") from exc
    rng = np.random.default_rng(seed)
    per = xbar.blocks
    with open_session(xbar.netlist) as s:
        if per.dac is not None:
            s.set_sources(xbar.dac_values(rng.integers(0, per.dac.levels, config.rows)))
        else:
            s.set_sources(dict(zip(xbar.row_sources, rng.uniform(0.0, 0.2, config.rows))))
        r = s.op(currents=xbar.column_sources, voltages=xbar.tia_outputs)
        currents = r.stack(xbar.column_sources)
        assert np.all(np.isfinite(currents))
        if per.adc is not None:
            codes = xbar.adc_codes(r.stack(xbar.tia_outputs))
            assert codes.shape == (config.columns,) and np.all((codes >= 0) & (codes < per.adc.levels))
        if config.differential:
            assert xbar.signed(currents).shape == (config.columns // 2,)
        if not config.device.resistor:
            t = s.tran(20e-9, 2e-9, waveforms={xbar.row_sources[0]: pulse(0.1, 5e-9)})
            assert np.all(np.isfinite(s.states)) and t.time[-1] > 0
            device = get_model(config.device.model)
            lo, hi = device.state_min, device.state_max
            assert np.all((s.states >= lo) & (s.states <= hi))
    return "simulated"


@pytest.mark.slow
def test_every_generated_configuration_is_rejected_up_front_or_simulates():
    tally: Counter = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
              database=None)
    @given(configs(), st.integers(0, 2**31 - 1))
    def one_configuration(kw, seed):
        tally["tried"] += 1
        tally[reject_or_simulate(kw, seed)] += 1

    one_configuration()
    print(f"\ngenerated configurations: {dict(tally)}")
    assert tally["tried"] >= EXAMPLES
    assert tally["rejected"] > 0 and tally["simulated"] > 0
    assert tally["tried"] == tally["rejected"] + tally["simulated"]
