"""DAC, TIA, ADC and nudge drivers: Python conversions, their behaviour in ngspice, and the block interface (slots and pin contracts)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.circuits.periphery.adc import Adc
from memcosim.circuits.periphery.blocks import SLOTS, PeripheryBlocks
from memcosim.circuits.periphery.dac import Dac
from memcosim.circuits.periphery.tia import Tia
from memcosim.config.array import ArrayConfig, WireConfig
from memcosim.config.periphery import AdcConfig, DacConfig, NudgeConfig, PeripheryConfig, SwitchConfig, TiaConfig
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError


@pytest.mark.parametrize("bits", [1, 3, 8, 16])
def test_dac_levels_and_lsb(bits):
    dac = Dac(DacConfig(bits=bits, v_min=-0.1, v_max=0.3))
    assert dac.levels == 2 ** bits
    codes = np.arange(dac.levels)
    v = dac.voltage(codes)
    assert v[0] == pytest.approx(-0.1) and v[-1] == pytest.approx(0.3)
    np.testing.assert_allclose(np.diff(v), 0.4 / (2 ** bits - 1), rtol=1e-9)
    np.testing.assert_array_equal(dac.code(v), codes)
    with pytest.raises(ConfigError, match="code"):
        dac.voltage(dac.levels)


def test_dac_transfer_in_ngspice_has_every_level_one_lsb_apart():
    xbar = build_crossbar(ArrayConfig(2, 2, conductance=1e-4, periphery=PeripheryConfig(
        dac=DacConfig(bits=4, v_min=0.0, v_max=0.15, r_out=0.0))))
    dac = xbar.blocks.dac
    out = []
    with open_session(xbar.netlist) as s:
        for code in range(dac.levels):
            s.set_sources(xbar.dac_values(np.array([code, 0])))
            out.append(s.op(voltages=[xbar.dac_outputs[0]])[xbar.dac_outputs[0]])
    out = np.array(out)
    assert np.unique(np.round(out / dac.lsb)).size == 16
    np.testing.assert_allclose(np.diff(out), dac.lsb, rtol=1e-9)


def test_dac_output_resistance_gives_the_divider_gain_error():
    dac = DacConfig(bits=8, v_max=0.2, r_out=1e3)
    xbar = build_crossbar(ArrayConfig(1, 1, conductance=1e-3, periphery=PeripheryConfig(dac=dac)))
    with open_session(xbar.netlist) as s:
        s.set_sources(xbar.dac_values(np.array([255])))
        v = s.op(voltages=[xbar.dac_outputs[0]])[xbar.dac_outputs[0]]
    assert v == pytest.approx(0.2 * 1e3 / (1e3 + 1e3), rel=1e-9)  # r_out against the 1 kohm cell


def test_adc_levels_lsb_clipping_and_offset():
    adc = Adc(AdcConfig(bits=3, v_min=-1.0, v_max=1.0, offset=[0.0, 2 / 7]))
    assert adc.levels == 8 and adc.lsb == pytest.approx(2 / 7)
    v = np.linspace(-1.5, 1.5, 3001)
    codes = adc.convert(v, column=0)
    assert codes.min() == 0 and codes.max() == 7 and np.unique(codes).size == 8
    edges = v[1:][np.diff(codes) != 0]
    np.testing.assert_allclose(np.diff(edges), 2 / 7, atol=2e-3)
    assert adc.convert(np.array([-5.0, 5.0]), column=0).tolist() == [0, 7]
    np.testing.assert_array_equal(adc.convert(np.array([[0.0, 0.0]])), [[4, 5]])  # per-column offset: +1 LSB


def test_adc_transfer_from_ngspice_tia_output():
    tia = TiaConfig(gain=1e6, r_feedback=1e4)
    adc = AdcConfig(bits=4, v_min=-1.0, v_max=1.0)
    per = PeripheryConfig(tia=tia, adc=adc, nudge=NudgeConfig())
    xbar = build_crossbar(ArrayConfig(2, 2, conductance=1e-4, periphery=per))
    currents = np.linspace(-1.2, 1.2, 241) / 1e4  # amperes into the TIA input: output -I Rf
    v_out = []
    with open_session(xbar.netlist) as s:
        for i in currents:
            s.set_sources({"INUDGE0": float(i)})
            v_out.append(s.op(voltages=["o0"])["o0"])
    v_out = np.array(v_out)
    # the nudge current divides between the TIA input (Rf / (1 + A)) and the two cells to grounded rows
    v_in = currents / (2e-4 + (1 + 1e6) / 1e4)
    np.testing.assert_allclose(v_out, -1e6 * v_in, rtol=1e-9)
    codes = xbar.adc_codes(np.column_stack([v_out, v_out]))[:, 0]
    assert np.unique(codes).size == 16 and codes.min() == 0 and codes.max() == 15
    order = np.argsort(v_out)
    edges = v_out[order][1:][np.diff(codes[order]) != 0]
    np.testing.assert_allclose(np.diff(edges), xbar.blocks.adc.lsb, atol=0.011)  # sweep step is 0.01 V


def _tia_read(gain: float) -> tuple[float, float, float]:
    tia = TiaConfig(gain=gain, r_feedback=5e3)
    xbar = build_crossbar(ArrayConfig(2, 2, conductance=2e-5, periphery=PeripheryConfig(tia=tia, adc=AdcConfig())))
    with open_session(xbar.netlist) as s:
        s.set_sources({"VROW0": 0.2, "VROW1": 0.1})
        r = s.op(voltages=["s0", "o0"], currents=["VCOL0"])
    return float(r["VCOL0"]), float(r["s0"]), float(r["o0"])


def test_tia_finite_gain_shows_the_virtual_ground_error_and_infinite_gain_limit():
    errors = []
    for gain in (10.0, 1e3, 1e5, 1e8):
        i, v_in, v_out = _tia_read(gain)
        assert v_in == pytest.approx(i * 5e3 / (1 + gain), rel=1e-6)
        assert v_out == pytest.approx(-gain * v_in, rel=1e-9)
        errors.append(abs(v_out / (-i * 5e3) - 1))
        ideal_current = 0.2 * 2e-5 + 0.1 * 2e-5
        assert i == pytest.approx(ideal_current / (1 + 2 * 2e-5 * 5e3 / (1 + gain)), rel=1e-6)
    assert errors == sorted(errors, reverse=True)
    assert errors[0] == pytest.approx(1 / 11, rel=1e-6)
    assert errors[-1] < 1e-7  # A -> infinity: V(out) -> -I Rf, the column at exactly 0 V


def test_nudge_current_moves_the_tia_output_not_the_column_current():
    tia = TiaConfig(gain=1e5, r_feedback=1e4)
    per = PeripheryConfig(tia=tia, adc=AdcConfig(), nudge=NudgeConfig())
    xbar = build_crossbar(ArrayConfig(3, 2, conductance=1e-5, periphery=per))
    assert xbar.nudge_sources == ["INUDGE0", "INUDGE1"]
    with open_session(xbar.netlist) as s:
        s.set_sources({"VROW0": 0.1, "VROW1": 0.1, "VROW2": 0.1})
        before = s.op(voltages=xbar.tia_outputs, currents=xbar.column_sources)
        s.set_sources({"INUDGE1": 2e-6})
        after = s.op(voltages=xbar.tia_outputs, currents=xbar.column_sources)
    shift = after["o1"] - before["o1"]
    # the nudge divides between the TIA input (Rf / (1 + A)) and the column's three cells
    assert shift == pytest.approx(-1e5 * 2e-6 / (3e-5 + (1 + 1e5) / 1e4), rel=1e-6)
    assert after["o0"] == pytest.approx(before["o0"], rel=1e-12)
    assert after["VCOL1"] == pytest.approx(before["VCOL1"], rel=1e-3)


# -- the block interface: slots, pin contracts, blocks from elsewhere ----------------------------

@dataclass(frozen=True)
class HalfDac(Dac):
    """A DAC whose output stage is a unity buffer behind a 1 kohm / 1 kohm divider, with its own pin names."""

    name: str = "dac_half"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("code", "line")

    @property
    def dc_paths(self) -> tuple[tuple[str, str], ...]:
        return (("line", "0"),)

    def subckt(self) -> str:
        return "\n".join([".subckt dac_half code line", "Ebuf mid 0 code 0 1", "R1 mid line 1k", "R2 line 0 1k",
                          ".ends dac_half"])


@dataclass(frozen=True)
class OnePinDac(HalfDac):
    """A one-pin block offered to the two-pin DAC slot."""

    name: str = "dac_one_pin"

    @property
    def pins(self) -> tuple[str, ...]:
        return ("line",)

    def subckt(self) -> str:
        return "\n".join([".subckt dac_one_pin line", "R1 line 0 1k", ".ends dac_one_pin"])


def _dac_array(**kw) -> ArrayConfig:
    return ArrayConfig(1, 1, conductance=1e-9, periphery=PeripheryConfig(dac=DacConfig(bits=4, v_max=0.3)), **kw)


def test_every_behavioural_block_fits_its_slot():
    config = ArrayConfig(2, 2, wires=WireConfig(r_driver=5.0), conductance=1e-4, cell="1T1R",
                         periphery=dataclasses.replace(PeripheryConfig.full(), switches=SwitchConfig()))
    blocks = PeripheryBlocks.behavioural(config.periphery, config.wires.r_driver, config.access)
    assert set(blocks.filled()) == set(SLOTS)
    blocks.check()
    for name, slot in SLOTS.items():
        assert len(getattr(blocks, name).pins) == len(slot.pins) == len(slot.roles)


def test_a_block_with_the_wrong_pin_count_is_refused_naming_the_block_and_the_slot():
    config = _dac_array()
    with pytest.raises(ConfigError, match=r"periphery\.dac: block 'dac_one_pin' has 1 pin\(s\) \(line\).*connects 2: in"):
        build_crossbar(config, blocks=PeripheryBlocks(dac=OnePinDac(config.periphery.dac)))


def test_blocks_must_fill_the_slots_the_config_has():
    config = _dac_array()
    with pytest.raises(ConfigError, match="missing dac"):
        build_crossbar(config, blocks=PeripheryBlocks())
    with pytest.raises(ConfigError, match="not configured tia"):
        build_crossbar(config, blocks=PeripheryBlocks(dac=Dac(config.periphery.dac), tia=Tia(TiaConfig())))


def test_a_subckt_whose_pins_disagree_with_its_block_is_refused():
    @dataclass(frozen=True)
    class Mislabelled(HalfDac):
        @property
        def pins(self) -> tuple[str, ...]:
            return ("line", "code")

    config = _dac_array()
    with pytest.raises(ConfigError, match=r"block dac_half: its \.subckt line lists pins \(code line\)"):
        build_crossbar(config, blocks=PeripheryBlocks(dac=Mislabelled(config.periphery.dac)))


def test_a_block_from_elsewhere_fills_the_dac_slot_by_pin_position_in_ngspice():
    config = _dac_array()
    xbar = build_crossbar(config, blocks=PeripheryBlocks(dac=HalfDac(config.periphery.dac)))
    text = xbar.netlist.render()
    assert ".subckt dac_half code line" in text and "XDAC0 d0 r0_0 dac_half" in text
    with open_session(xbar.netlist) as s:
        s.set_sources(xbar.dac_values(np.array([15])))
        v = s.op(voltages=[xbar.dac_outputs[0]])[xbar.dac_outputs[0]]
    # Thevenin source of the divider (0.15 V behind 500 ohm) into the 1 Gohm cell
    assert v == pytest.approx(0.15 * 1e9 / (1e9 + 500.0), rel=1e-9)
