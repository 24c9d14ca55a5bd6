"""The Device interface: closed-form laws and their inverses, bounds, ON side, presets, the ngspice table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from memcosim.config.array import RESISTOR
from memcosim.cosim.device_table import TabulatedDevice, conductance_device, conductance_table
from memcosim.devices.catalog import DEVICES, closed_form_models, get_device
from memcosim.devices.device import Resistor, VerilogADevice
from memcosim.devices.presets import PRESETS, JartV1bPreset, JartVcmPreset, LinearIonDriftPreset, StanfordPkuPreset, VteamPreset
from memcosim.devices.registry import available_models, get_model
from memcosim.devices.variation import nominal_parameters
from memcosim.errors import ConfigError, ModelError

CLOSED = [("linear_ion_drift", {}), ("linear_ion_drift", {"Ron": 50.0, "Roff": 2e4}),
          ("vteam", {}), ("vteam", {"iv": 1}), ("vteam", {"Ron": 5e3, "Roff": 5e5, "xmax": 2.0})]


def test_every_shipped_model_has_a_device_and_a_preset():
    assert sorted(DEVICES) == sorted(PRESETS) == available_models()
    assert closed_form_models() == ["linear_ion_drift", "vteam"]
    for name in DEVICES:
        device = get_device(name)
        assert isinstance(device, VerilogADevice) and device.name == name
        assert device.preset is PRESETS[name]
        assert device.v_read == PRESETS[name].v_read
        assert device.window == (PRESETS[name].g_low, PRESETS[name].g_high)


@pytest.mark.parametrize("model, params", CLOSED)
def test_state_for_inverts_the_closed_form(model, params):
    device = get_device(model, params)
    lo, hi = device.bounds
    x = np.linspace(lo, hi, 41)
    np.testing.assert_allclose(device.state_for(device.conductance(x)), x, rtol=1e-9, atol=1e-12 * (hi - lo))
    g_lo, g_hi = device.conductance_range()
    g = np.geomspace(g_lo, g_hi, 17)
    np.testing.assert_allclose(device.conductance(device.state_for(g)), g, rtol=1e-9)


def test_closed_forms_give_the_presets_conductance_range():
    for model in closed_form_models():
        device, preset = get_device(model), PRESETS[model]
        assert device.conductance_range() == pytest.approx((preset.g_min, preset.g_max), rel=1e-9)


def test_bounds_follow_the_model_and_its_overrides():
    for name in DEVICES:
        model = get_model(name)
        assert get_device(name).bounds == (model.state_min, model.state_max)
    assert get_device("vteam", {"xmin": 0.5, "xmax": 2}).bounds == (0.5, 2.0)
    # states beyond the bounds read as the bound
    device = get_device("linear_ion_drift")
    np.testing.assert_allclose(device.conductance([-1.0, 2.0]), device.conductance([0.0, 1.0]))


def test_on_state_is_the_bound_of_highest_conductance():
    assert (get_device("jart_vcm").on_state, get_device("jart_vcm").off_state) == (20.0, 0.008)
    assert (get_device("stanford_pku").on_state, get_device("stanford_pku").off_state) == (0.1, 1.7)
    assert (get_device("vteam").on_state, get_device("vteam").off_state) == (0.0, 3.0)
    assert (get_device("linear_ion_drift").on_state, get_device("linear_ion_drift").off_state) == (1.0, 0.0)
    # parameters that contradict their meaning are refused, naming the parameter
    with pytest.raises(ConfigError, match="device.params.Ron"):
        get_device("linear_ion_drift", {"Ron": 16e3, "Roff": 100.0})


def test_targets_outside_the_range_name_the_cell():
    device = get_device("vteam")
    g = np.full((2, 3), 5e-5)
    g[1, 2] = 2e-4
    with pytest.raises(ConfigError, match=r"cell \(1, 2\)"):
        device.state_for(g)


def test_unknown_model_and_missing_laws_give_clear_errors(model_dir):
    with pytest.raises(ModelError, match="unknown device model 'nosuch'.*known models: .*vteam"):
        get_device("nosuch")
    with pytest.raises(ConfigError, match="no closed-form read conductance"):
        get_device("jart_vcm").state_for(1e-5)
    with pytest.raises(ConfigError, match="no closed-form read conductance"):
        get_device("stanford_pku").conductance(1.0)
    # a user model: bounds from its parameters, no preset, no known ON side
    text = get_model("linear_ion_drift").source.read_text().replace("module linear_ion_drift", "module mine")
    (model_dir / "mine.va").write_text(text)
    mine = get_device("mine")
    assert type(mine) is VerilogADevice and mine.bounds == (0.0, 1.0) and not mine.closed_form
    with pytest.raises(ConfigError, match="cannot tell the ON state of model 'mine'"):
        mine.on_state
    with pytest.raises(ConfigError, match="no programming preset for 'mine'"):
        mine.preset


def test_resistor_is_a_linear_device_without_state():
    device = get_device(RESISTOR)
    assert isinstance(device, Resistor) and not device.has_state and device.closed_form
    g = np.array([[1e-6, 2e-5], [3e-4, 1e-3]])
    np.testing.assert_array_equal(device.conductance(g), g)
    np.testing.assert_array_equal(device.state_for(g), g)
    assert device.on_at_max
    with pytest.raises(ConfigError, match="device_params"):
        get_device(RESISTOR, {"Ron": 1.0})
    with pytest.raises(ConfigError, match="no programming preset"):
        device.preset


def test_presets_are_per_model_dataclasses_with_the_shipped_defaults():
    for kind in (JartVcmPreset, JartV1bPreset, StanfordPkuPreset, VteamPreset, LinearIonDriftPreset):
        preset = kind()
        assert PRESETS[preset.model] == preset
        assert preset.reset_limit <= preset.reset_amplitude < 0 < preset.set_amplitude <= preset.set_limit
        assert preset.g_min <= preset.g_low < preset.g_high <= preset.g_max
        with pytest.raises(dataclasses.FrozenInstanceError):
            preset.v_read = 1.0  # type: ignore[misc]
    assert JartVcmPreset(set_amplitude=1.4).check_amplitude(1.4) == 1.4


def test_tabulated_device_reads_ngspice_and_inverts_it():
    preset = PRESETS["jart_vcm"]
    device = conductance_device("jart_vcm", {}, preset.v_read)
    assert isinstance(device, TabulatedDevice) and not device.closed_form
    states, table = conductance_table("jart_vcm", preset.v_read)
    np.testing.assert_allclose(device.conductance(states), table, rtol=1e-12)
    np.testing.assert_allclose(device.state_for(table[5:-5]), states[5:-5], rtol=1e-9)
    assert device.conductance_range() == pytest.approx((table[0], table[-1]))
    assert device.on_state == get_device("jart_vcm").on_state and device.preset is preset
    assert conductance_device("vteam", {"iv": 1}, 0.2).closed_form  # closed forms need no table


def test_bound_parameters_stand_for_the_state_bounds_in_nominal_values():
    jart = get_device("jart_vcm")
    assert jart.bound_parameters == {"nmin": "xmin", "nmax": "xmax"}
    assert jart.nominal(["nmin", "nmax"]) == {"nmin": jart.bounds[0], "nmax": jart.bounds[1]}
    assert get_device("jart_vcm", {"nmin": 0.01}).nominal(["nmin"]) == {"nmin": 0.01}
    assert nominal_parameters("jart_vcm", ["rfil", "nmax"]) == {"rfil": jart.parameters["rfil"], "nmax": 20.0}
    with pytest.raises(ConfigError, match=r"variation.spreads.Ron.*jart_vcm has no parameter 'Ron'"):
        nominal_parameters("jart_vcm", ["Ron"])
    with pytest.raises(ConfigError, match="variation.spreads"):
        nominal_parameters(RESISTOR, ["r"])
