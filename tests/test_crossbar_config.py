"""Crossbar and periphery configs: validation naming the field, TOML round trips, deterministic text."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.config_file import config_from_dict, config_to_toml, example_configs, load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, ProgrammingConfig, TiaConfig
from memcosim.config.pulse import PulseConfig
from memcosim.errors import ConfigError


@pytest.mark.parametrize("tables, field", [
    ({"rows": 0}, "rows"),
    ({"columns": -3}, "columns"),
    ({"rows": 2.5}, "rows"),
    ({"wires": {"r_row": -1.0}}, "wires.r_row"),
    ({"wires": {"r_column": -0.1}}, "wires.r_column"),
    ({"wires": {"r_driver": float("nan")}}, "wires.r_driver"),
    ({"wires": {"c_row": -1e-15}}, "wires.c_row"),
    ({"cell": "2T2R"}, "cell"),
    ({"device": {"model": "no_such_device"}}, "device.model"),
    ({"conductance": [[1e-4] * 3] * 3}, "conductance"),
    ({"conductance": -1e-4}, "conductance"),
    ({"device": {"model": "linear_ion_drift"}, "conductance": None, "states": [[0.0] * 2] * 4}, "states"),
    ({"device": {"model": "linear_ion_drift"}, "conductance": None, "states": 1.5}, "states"),
    ({"device": {"model": "linear_ion_drift"}, "conductance": 1.0}, "conductance"),
    ({"device": {"model": "linear_ion_drift", "params": {"nope": 1.0}}, "conductance": None}, "device.params.nope"),
    ({"differential": True, "columns": 3, "conductance": 1e-4}, "columns"),
    ({"variation": -0.1}, "variation"),
])
def test_bad_array_fields_are_named(tables, field):
    data = {k: v for k, v in {"rows": 4, "columns": 4, "conductance": 1e-4, **tables}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize("make, field", [
    (lambda: DacConfig(bits=0), "periphery.dac.bits"),
    (lambda: DacConfig(bits=17), "periphery.dac.bits"),
    (lambda: DacConfig(v_min=0.3, v_max=0.1), "periphery.dac.v_max"),
    (lambda: DacConfig(r_out=-5.0), "periphery.dac.r_out"),
    (lambda: AdcConfig(bits=20), "periphery.adc.bits"),
    (lambda: AdcConfig(bits=True), "periphery.adc.bits"),
    (lambda: TiaConfig(gain=0.0), "periphery.tia.gain"),
    (lambda: TiaConfig(r_feedback=-1.0), "periphery.tia.r_feedback"),
    (lambda: ProgrammingConfig(scheme="V/4"), "periphery.programming.scheme"),
    (lambda: PulseConfig(width=0.0), "pulse.width"),
    (lambda: ProgrammingConfig(pulse=PulseConfig(amplitude=0.0)), "periphery.programming.pulse.amplitude"),
    (lambda: PeripheryConfig(adc=AdcConfig()), "periphery.adc"),
    (lambda: ArrayConfig(2, 3, conductance=1e-4,
                         periphery=PeripheryConfig(tia=TiaConfig(), adc=AdcConfig(offset=[0.0, 0.1]))),
     "periphery.adc.offset"),
])
def test_bad_periphery_fields_are_named(make, field):
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.field == field


def test_unknown_toml_keys_are_named(tmp_path):
    for text, field in [
        ("rows = 2\ncolumns = 2\nconductance = 1e-4\nwires = 3\n", "wires"),
        ("rows = 2\ncolumns = 2\nconductance = 1e-4\n[periphery.dac]\nbitz = 4\n", "periphery.dac.bitz"),
        ("rows = 2\ncolumns = 2\nconductance = 1e-4\n[periphery.mux]\nways = 4\n", "periphery.mux"),
        ("rows = 2\ncolumns = 2\nconductance = 1e-4\ncell = '1T1R'\n[access]\nvgate = 1\n", "access.vgate"),
        ("columns = 2\nconductance = 1e-4\n", "rows"),
        ("rows = 2\ncolumns = [\n", "config"),
    ]:
        path = tmp_path / "c.toml"
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert info.value.field == field, text


def test_toml_round_trip_is_lossless():
    rng = np.random.default_rng(0)
    configs = list(example_configs().values()) + [
        ArrayConfig(3, 2, wires=WireConfig(r_row=1.5), conductance=rng.uniform(1e-5, 1e-4, (3, 2)), variation=0.1,
                    seed=4, periphery=PeripheryConfig(tia=TiaConfig(), adc=AdcConfig(offset=[0.01, -0.02]))),
        ArrayConfig(2, 2, device=DeviceConfig("vteam"), states=np.array([[0.5, 1.0], [2.0, 3.0]])),
    ]
    import tomllib

    for config in configs:
        text = config_to_toml(config)
        again = config_from_dict(tomllib.loads(text))
        assert config_to_toml(again) == text
        assert build_crossbar(again).netlist.render() == build_crossbar(config).netlist.render()


def test_render_is_deterministic_and_variation_is_seeded():
    a = ArrayConfig(6, 5, wires=WireConfig(r_row=1.0, r_column=1.0), conductance=5e-5, variation=0.2, seed=11)
    b = ArrayConfig(6, 5, wires=WireConfig(r_row=1.0, r_column=1.0), conductance=5e-5, variation=0.2, seed=11)
    c = ArrayConfig(6, 5, wires=WireConfig(r_row=1.0, r_column=1.0), conductance=5e-5, variation=0.2, seed=12)
    xa, xb, xc = build_crossbar(a), build_crossbar(b), build_crossbar(c)
    assert xa.netlist.render() == xb.netlist.render() != xc.netlist.render()
    spread = np.log(xa.values / 5e-5)
    assert 0.1 < spread.std() < 0.3


def test_user_text_cannot_inject_netlist_lines():
    with pytest.raises(ConfigError, match="model"):
        ArrayConfig(2, 2, device=DeviceConfig("x\n.control\nshell rm -rf /\n.endc"))
    with pytest.raises(ConfigError, match="periphery.programming.scheme"):
        ProgrammingConfig(scheme="V/2\n.control")
