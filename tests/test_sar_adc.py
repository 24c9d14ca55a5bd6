"""The comparator-based column ADC: a SAR converter around a sky130 StrongARM latch, picked per block from
TOML (``[periphery.adc] circuit = "sky130"``); its settings checked before any simulation; codes converted
in ngspice equal the behavioural ADC's; a comparator that cannot resolve is refused (real ngspice)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.config_file import config_to_toml, load_config
from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.periphery.adc import SarAdc
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, TiaConfig
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
SAR = 'circuit = "sky130"\ncorner = "tt"\nv_dd = 1.8\nt_clock = 1e-9\n'


def _array(circuit: str = "sky130") -> ArrayConfig:
    g = np.array([[1e-5, 5e-6, 2e-6], [5e-6, 1e-5, 5e-6], [2e-6, 5e-6, 1e-5]])
    per = PeripheryConfig(dac=DacConfig(bits=6), tia=TiaConfig(r_feedback=10e3),
                          adc=AdcConfig(bits=5, v_min=-1, v_max=0, circuit=circuit))
    return ArrayConfig(3, 3, DeviceConfig("resistor"), WireConfig.uniform(1.0), conductance=g, periphery=per)


def test_the_sar_adc_comes_from_toml_and_reads_back(tmp_path):
    path = tmp_path / "array.toml"
    path.write_text(ARRAY + SAR)
    config = load_config(path)
    xb = build_crossbar(config)
    adc = xb.blocks.adc
    assert isinstance(adc, SarAdc) and adc.config.circuit == "sky130" and adc.config.bits == 5
    text = xb.netlist.render()
    assert "XADC0 o0 sar_adc\n" in text and ".subckt sar_adc_strongarm inp inn clk outp outn vdd" in text
    assert "sky130_fd_pr__pfet_01v8__tt.corner.spice" in text
    assert xb.adc_instances == ["XADC0", "XADC1", "XADC2"]
    saved = tmp_path / "saved.toml"
    saved.write_text(config_to_toml(config))
    assert load_config(saved).periphery.adc == config.periphery.adc
    # without circuit the behavioural ADC stays the default
    path.write_text(ARRAY)
    assert type(build_crossbar(load_config(path)).blocks.adc).__name__ == "Adc"


@pytest.mark.parametrize("line, field, words", [
    ('circuit = "flash"', "periphery.adc.circuit", "'flash'"),
    ('corner = "xx"', "periphery.adc.corner", "'xx'"),
    ("v_dd = 3.3", "periphery.adc.v_dd", "must be <= 1.95"),
    ("t_clock = 0.0", "periphery.adc.t_clock", "must be >= 2e-11"),
    ("bits = 14", "periphery.adc.bits", "converts 1..12 bits, got 14"),
    ("offset = 0.01", "periphery.adc.offset", "leave offset at 0"),
])
def test_bad_settings_name_the_field_and_line_before_any_simulation(tmp_path, line, field, words):
    key = line.split()[0]
    adc_table = ARRAY.split("[periphery.adc]\n")[1] + SAR
    kept = [l for l in adc_table.splitlines() if l.split()[0] != key]
    path = tmp_path / "array.toml"
    path.write_text(ARRAY.split("[periphery.adc]\n")[0] + "[periphery.adc]\n" + "\n".join(kept + [line]) + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.field == field and words in err.value.message, err.value


@pytest.mark.slow
def test_codes_converted_in_ngspice_equal_the_behavioural_adc():
    sar = build_crossbar(_array())
    plain = build_crossbar(_array("behavioural"))
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
    slow = SarAdc(AdcConfig(bits=8, circuit="sky130", v_dd=0.6), name="weak_adc")
    with pytest.raises(ConfigError, match=r"periphery\.adc\.t_clock.*'weak_adc' does not resolve \+3\.92 mV"):
        check_comparator(slow)
    figures = measure_comparator(SarAdc(AdcConfig(bits=8, circuit="sky130")), offset_steps=6)
    assert abs(figures.offset) < 1e-3 and 0 < figures.t_resolve_half_lsb < figures.t_available


def _reference_energy(code: int, bits: int, c_unit: float, v_ref: float) -> float:
    """Joules the reference delivers converting to ``code``: the textbook charge-redistribution sum (binary-weighted
    capacitors ``2**(bits-1-k) c_unit`` plus one terminating ``c_unit`` on a floating top plate, every bottom plate
    at ground to start; bit k set, then kept or cleared, MSB first). Each switching step draws from the reference
    the change of charge on the bottom plates joined to it, sum C_k ((V_ref - V_top') - (V_k - V_top))."""
    caps = [(1 << (bits - 1 - k)) * c_unit for k in range(bits)]
    total = (1 << bits) * c_unit
    on, top, joules = [0] * bits, 0.0, 0.0
    for k in range(bits):
        for value in (1, (code >> (bits - 1 - k)) & 1):
            new = on[:k] + [value] + on[k + 1:]
            if new == on:
                continue
            new_top = v_ref * sum(c for c, b in zip(caps, new) if b) / total
            joules += v_ref * sum(c * ((v_ref - new_top) - (v_ref * b - top)) for c, b, n in zip(caps, on, new) if n)
            on, top = new, new_top
    return joules


@pytest.mark.slow
@pytest.mark.parametrize("bits, code", [(5, 19), (5, 6), (8, 200)])
def test_the_capacitor_dac_draws_the_textbook_switching_energy_from_its_reference(bits, code):
    """The SAR's capacitor DAC charges its switched capacitors from the named reference ``Vref`` (supply group
    ``adc_reference``): over one conversion to a known code its energy equals the charge-redistribution sum."""
    from memcosim.circuits.netlist import Netlist

    adc = SarAdc(AdcConfig(bits=bits, v_min=-1, v_max=0, circuit="sky130", c_unit=20e-15))
    net = Netlist(title="one SAR conversion")
    adc.define(net)
    net.voltage_source("VIN", "in", "0", adc.config.v_min + code * adc.lsb)
    adc.place(net, "ADC0", ("in",))
    with open_session(net) as s:
        r = s.tran(adc.conversion_time, 20e-12, voltages=[adc.code_vector("XADC0")], max_step=20e-12)
    assert round(float(r[adc.code_vector("XADC0")][-1])) == code
    want = _reference_energy(code, bits, 20e-15, adc.v_reference)
    assert r.energy["adc_reference"] == pytest.approx(want, rel=1e-3 if bits == 5 else 1e-2), (r.energy, want)
    assert want > 0.5 * adc.levels * 20e-15 * adc.v_reference ** 2 / 4
