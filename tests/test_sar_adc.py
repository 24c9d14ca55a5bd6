"""The comparator-based column ADC: a SAR converter around a sky130 StrongARM latch, picked per block from
TOML (``[blocks.adc] builtin = "sar"``); its settings checked before any simulation; codes converted in
ngspice equal the behavioural ADC's; a comparator that cannot resolve is refused (real ngspice)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.config_file import config_to_toml, load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.periphery.adc import SarAdc
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, SarAdcConfig, TiaConfig
from memcosim.cosim.conversion import check_comparator, convert, measure_comparator
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError

ARRAY = """\
rows = 3
columns = 3
conductance = [[1e-5, 5e-6, 2e-6], [5e-6, 1e-5, 5e-6], [2e-6, 5e-6, 1e-5]]
[device]
model = "resistor"
[wires]
r_row = 1.0
r_column = 1.0
[periphery.dac]
bits = 6
[periphery.tia]
r_feedback = 10000.0
[periphery.adc]
bits = 5
v_min = -1.0
v_max = 0.0
"""
SAR = '[blocks.adc]\nbuiltin = "sar"\npdk = "sky130"\ncorner = "tt"\nparams = {vdd = 1.8, t_clock = 1e-9}\n'


def _array(**blocks) -> ArrayConfig:
    g = np.array([[1e-5, 5e-6, 2e-6], [5e-6, 1e-5, 5e-6], [2e-6, 5e-6, 1e-5]])
    per = PeripheryConfig(dac=DacConfig(bits=6), tia=TiaConfig(r_feedback=10e3), adc=AdcConfig(bits=5, v_min=-1, v_max=0))
    return ArrayConfig(3, 3, DeviceConfig("resistor"), WireConfig.uniform(1.0), conductance=g, periphery=per,
                       blocks={"adc": {"builtin": "sar", "pdk": "sky130", **blocks}})


def test_the_sar_adc_comes_from_toml_and_reads_back(tmp_path):
    path = tmp_path / "array.toml"
    path.write_text(ARRAY + SAR)
    config = load_config(path)
    xb = build_crossbar(config)
    adc = xb.blocks.adc
    assert isinstance(adc, SarAdc) and adc.sar == SarAdcConfig(vdd=1.8, t_clock=1e-9) and adc.config.bits == 5
    text = xb.netlist.render()
    assert "XADC0 o0 sar\n" in text and ".subckt sar_strongarm inp inn clk outp outn vdd" in text
    assert "sky130_fd_pr__pfet_01v8__tt.corner.spice" in text
    assert xb.adc_instances == ["XADC0", "XADC1", "XADC2"]
    saved = tmp_path / "saved.toml"
    saved.write_text(config_to_toml(config))
    assert load_config(saved).blocks == config.blocks
    # without [blocks.adc] the behavioural ADC stays the default
    path.write_text(ARRAY)
    assert type(build_crossbar(load_config(path)).blocks.adc).__name__ == "Adc"


@pytest.mark.parametrize("blocks, field, words", [
    ({"builtin": "flash"}, "blocks.adc.builtin", "no built-in adc design 'flash'; adc designs: sar"),
    ({"pdk": ""}, "blocks.adc.pdk", "drawn in sky130, not ''"),
    ({"corner": "xx"}, "blocks.adc.corner", "unknown sky130 corner 'xx'"),
    ({"params": {"vdd": 3.3}}, "blocks.adc.params.vdd", "must be <= 1.95"),
    ({"params": {"t_clock": 0.0}}, "blocks.adc.params.t_clock", "must be >= 2e-11"),
    ({"params": {"clock": 1e-9}}, "blocks.adc.params.clock", "not a setting of the SAR ADC"),
])
def test_bad_settings_name_the_block_field_before_any_simulation(blocks, field, words):
    with pytest.raises(ConfigError) as err:
        build_crossbar(_array(**blocks))
    assert err.value.field == field and words in err.value.message


def test_bad_bits_and_an_offset_are_refused_naming_the_field():
    with pytest.raises(ConfigError, match=r"periphery\.adc\.bits.*converts 1\.\.12 bits, got 14"):
        SarAdc(AdcConfig(bits=14))
    with pytest.raises(ConfigError, match=r"periphery\.adc\.offset.*leave offset at 0"):
        SarAdc(AdcConfig(offset=0.01))


@pytest.mark.slow
def test_codes_converted_in_ngspice_equal_the_behavioural_adc():
    sar = build_crossbar(_array())
    plain = build_crossbar(ArrayConfig(**{**_array().__dict__, "blocks": None}))
    codes = {}
    for name, xb in (("sar", sar), ("plain", plain)):
        with open_session(xb.netlist) as s:
            s.set_sources(xb.dac_values(np.array([63, 40, 20])))
            codes[name] = [convert(s, xb, check=(name == "sar")) for _ in range(2)]  # a second read: same codes
            if name == "sar":  # the converters' supplies are counted in supply group "adc"
                energy = s.tran(xb.blocks.adc.conversion_time, 50e-12, max_step=50e-12).energy
                assert 1e-15 < energy["adc"] < 1e-9
    assert np.array_equal(codes["sar"][0], codes["sar"][1])
    assert np.abs(codes["sar"][0] - codes["plain"][0]).max() <= 1
    assert codes["plain"][0].min() > 2  # the columns read real codes, not 0


@pytest.mark.slow
def test_a_comparator_that_does_not_resolve_is_refused_naming_the_block():
    slow = SarAdc(AdcConfig(bits=8), sar=SarAdcConfig(vdd=0.6), name="weak_adc")
    with pytest.raises(ConfigError, match=r"blocks\.adc\.params\.t_clock.*'weak_adc' does not resolve \+3\.92 mV"):
        check_comparator(slow)
    figures = measure_comparator(SarAdc(AdcConfig(bits=8)), offset_steps=6)
    assert abs(figures.offset) < 1e-3 and 0 < figures.t_resolve_half_lsb < figures.t_available
