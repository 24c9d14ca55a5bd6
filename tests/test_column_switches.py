"""Column switches: sky130 transmission gates that take the TIA off the column during a write and join the
programming driver, so no periphery node leaves its supply range (real ngspice on a sky130 1T1R array)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import (AccessConfig, AdcConfig, DacConfig, PeripheryConfig, ProgrammingConfig,
                                       SwitchConfig, TiaConfig)
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.engine import open_session
from memcosim.errors import ConfigError
from memcosim.cosim.column_switches import write_mode
from memcosim.devices.presets import get_preset
from memcosim.programming.pulses import PulseSpec, apply_pulse, drive

ACCESS = {"access": {"pdk": "sky130", "subckt": "sky130_fd_pr__nfet_g5v0d10v5", "corner": "tt",
                     "params": {"w": 5e-6, "l": 0.5e-6}}}
MARGIN = 0.1  # volts a periphery node may stray outside its supply range
SET, RESET = 1.2, -0.9  # volts: the stanford_pku preset's SET and RESET amplitudes
COX_5V = 3.0e-3  # F/m^2: gate oxide capacitance of the sky130 5 V devices (~11.4 nm oxide)


def _array(scheme: str = "V/2", amplitude: float = RESET, switches: SwitchConfig | None = SwitchConfig(),
           circuit: str = "sky130", size: int = 3) -> ArrayConfig:
    per = PeripheryConfig(dac=DacConfig(), tia=TiaConfig(circuit=circuit), adc=AdcConfig(),
                          programming=ProgrammingConfig(scheme, PulseConfig(amplitude=amplitude, width=100e-9)),
                          switches=switches)
    return ArrayConfig(size, size, DeviceConfig("stanford_pku"), wires=WireConfig(r_row=2.5, r_column=2.5),
                       cell="1T1R", access=AccessConfig(v_gate=3.3), periphery=per, blocks=ACCESS)


def test_the_switch_sits_between_column_tia_and_driver():
    xb = build_crossbar(_array())
    text = xb.netlist.render()
    assert "XSW0 s0 q0 p0 sw_hi sw_lo sw_rd sw_wr colsw_sky130\n" in text
    assert "VPCOL0 p0 0 dc 0\n" in text and "XTIA0 q0 o0 tia_vdd tia_vss tia_sky130\n" in text
    assert xb.rail_sources == {"VTIA_DD": "tia", "VTIA_SS": "tia", "VSW_HI": "switches", "VSW_LO": "switches",
                                 "VSW_RD": "switches", "VSW_WR": "switches"}
    assert xb.switch_mode("read") == {"VSW_RD": 2.5, "VSW_WR": -2.5}
    assert xb.switch_mode("write") == {"VSW_RD": -2.5, "VSW_WR": 2.5}
    assert build_crossbar(_array(switches=None)).switch_mode("write") == {}


def test_bad_switch_settings_name_the_field():
    with pytest.raises(ConfigError, match=r"periphery\.programming\.pulse\.amplitude: a -3 V write drives columns "
                                          r"outside the column switches' rails \(-2\.5 \.\. 2\.5 V\)"):
        _array(amplitude=-3.0)
    with pytest.raises(ConfigError, match=r"periphery\.switches\.w_n: must be a whole number of 5 um fingers"):
        SwitchConfig(w_n=12e-6)
    with pytest.raises(ConfigError, match=r"periphery\.switches\.l: must be one of the sky130 5 V bin lengths"):
        SwitchConfig(l=0.7e-6)
    with pytest.raises(ConfigError, match=r"periphery\.switches: column switches connect .* add periphery\.tia and "
                                          r"periphery\.programming"):
        PeripheryConfig(switches=SwitchConfig())
    with pytest.raises(ConfigError, match=r"periphery\.switches\.v_high: the rails span 6 V"):
        SwitchConfig(v_high=3.0, v_low=-3.0)


def _write(session, xb, amplitude: float, scheme: str) -> dict[str, np.ndarray]:
    """Every periphery pin node's voltage (volts over time) while cell (1, 1) is written through the
    programming path (with switches: both mode changes inside the transient), and under ``"energy"`` the
    joules of each supply group."""
    nodes = xb.tia_inputs + xb.tia_outputs + [f"s{j}" for j in range(xb.config.columns)]
    nodes += [f"p{j}" for j in range(xb.config.columns)] if xb.blocks.switch is not None else []
    r = apply_pulse(session, xb, PulseSpec(amplitude, 100e-9), "cell", (1, 1), scheme, voltages=nodes)
    return {**r.voltages, "energy": r.energy, "time": r.time}


def _excursion(values: np.ndarray, low: float, high: float) -> float:
    """Volts by which ``values`` leave [low, high] (negative: the margin left inside)."""
    return float(max(values.max() - high, low - values.min()))


@pytest.mark.slow
def test_no_periphery_node_leaves_its_supply_range_during_a_write():
    """RESET and SET with V/2 and V/3 on a 3x3 sky130 1T1R stanford_pku array with the sky130 TIA and the
    column switches: TIA pins stay within the TIA rails, switch pins within the switch rails, by 0.1 V;
    the behavioural TIA left on the column goes far beyond them. A write through the programming path
    moves the selected cell and the TIAs sit at their virtual ground throughout."""
    config = _array()
    tia, sw = config.periphery.tia, config.periphery.switches
    xb = build_crossbar(config)
    with open_session(xb.netlist) as s:
        switched = apply_pulse(s, xb, PulseSpec(SET, 100e-9), "cell", (1, 1)).delta
        read = s.op(voltages=xb.tia_inputs)  # back in read mode: the TIAs hold their virtual grounds
        assert max(abs(read[n]) for n in xb.tia_inputs) < 1e-3
        for scheme in ("V/2", "V/3"):
            for amplitude in (RESET, SET):
                v = _write(s, xb, amplitude, scheme)
                tia_nodes = xb.tia_inputs + xb.tia_outputs
                worst_tia = max(_excursion(v[n], tia.v_ss, tia.v_dd) for n in tia_nodes)
                energy, t = v.pop("energy"), v.pop("time")
                worst_switch = max(_excursion(v[n], sw.v_low, sw.v_high) for n in v if n not in tia_nodes)
                assert worst_tia < -MARGIN and worst_switch < -MARGIN, (scheme, amplitude, worst_tia, worst_switch)
                # the TIAs never see the write pulse itself; the mode changes before and after it (inside the
                # transient) kick their inputs by the read gates' charge injection (~0.27 V), the outputs by
                # ~0.1 V, which rings down over ~100 ns: far inside the TIA rails
                assert max(np.abs(v[n]).max() for n in xb.tia_outputs) < 0.25
                assert t[-1] == pytest.approx(100e-9 + 2e-9 + 2 * sw.t_change)
                # the rails count: the op-amps' quiescent power over the write, the switches' gate drive
                assert energy["tia"] > 0 and "switches" in energy and energy["programming_drivers"] != 0

    plain = build_crossbar(_array(switches=None, circuit="behavioural"))
    with open_session(plain.netlist) as s:
        direct = apply_pulse(s, plain, PulseSpec(SET, 100e-9), "cell", (1, 1)).delta
        v = _write(s, plain, RESET, "V/2")
    v.pop("energy"), v.pop("time")
    assert max(_excursion(v[n], tia.v_ss, tia.v_dd) for n in plain.tia_outputs) > 1.0
    # the write reaches the selected cell through the switch (its on-resistance costs a little drive)
    assert abs(switched[1, 1] - direct[1, 1]) < 0.05 * abs(direct[1, 1])
    assert np.abs(np.delete(switched.ravel(), 4)).max() < 1e-2 * abs(switched[1, 1])


@pytest.mark.slow
def test_a_programming_pulse_counts_the_gate_charge_of_its_mode_changes():
    """A RESET through apply_pulse on a 4x4 sky130 1T1R array with column switches (behavioural TIA): the
    ``switches`` energy holds the gate drive of two mode changes, within a factor of 2 of Cox W L dV^2
    per column per change (W: the NMOS and PMOS widths on one control line); the switch pins stay inside
    the switch rails by 0.1 V, and the pulse reaches the cell as it does without switches. (The TIA rails
    are checked with the sky130 TIA above.)"""
    config = _array(circuit="behavioural", size=4)
    sw = config.periphery.switches
    xb = build_crossbar(config)
    with open_session(xb.netlist) as s:
        start = s.states.copy()
        before = s.state_array(xb.cells)
        v = _write(s, xb, RESET, "V/2")
        delta = s.state_array(xb.cells) - before
        # the same pulse with the switches set before the transient (no mode change in it)
        s.set_states(start)
        v_rows, v_cols = xb.write_voltages(1, 1, "V/2", RESET)
        with write_mode(s, xb):
            drive(s, xb, v_rows, v_cols, PulseSpec(RESET, 100e-9).shape(1.0), 102e-9,
                  max_step=get_preset("stanford_pku").max_time_step(102e-9))
        preset_switches = s.state_array(xb.cells) - before
    energy, _ = v.pop("energy"), v.pop("time")
    dv = sw.v_high - sw.v_low
    estimate = 2 * xb.config.columns * COX_5V * (sw.w_n + sw.w_p) * sw.l * dv * dv
    assert 0.5 < energy["switches"] / estimate < 2.0, (energy["switches"], estimate)
    assert energy["programming_drivers"] != 0
    switch_nodes = [n for n in v if n[0] in "sp"]
    assert max(_excursion(v[n], sw.v_low, sw.v_high) for n in switch_nodes) < -MARGIN
    plain = build_crossbar(_array(circuit="behavioural", size=4, switches=None))
    with open_session(plain.netlist) as s:
        r = apply_pulse(s, plain, PulseSpec(RESET, 100e-9), "cell", (1, 1))
    assert "switches" not in r.energy
    # the write is the one the switches set beforehand give; their on-resistance costs some RESET drive
    assert delta[1, 1] == pytest.approx(preset_switches[1, 1], rel=1e-3)
    assert delta[1, 1] * r.delta[1, 1] > 0 and 0.7 * abs(r.delta[1, 1]) < abs(delta[1, 1]) < abs(r.delta[1, 1])
    assert np.abs(np.delete(delta.ravel(), 5)).max() < 1e-2 * abs(delta[1, 1])
