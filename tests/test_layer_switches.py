"""Column switches in crossbar layers: during the slots of a layer update the TIAs are off the columns and
the programming drivers on, reads join them back, and the gate charge of each mode change is counted in
the ``switches`` supply group (real ngspice, small stanford_pku layers)."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.config.array import DeviceConfig
from memcosim.config.periphery import AdcConfig, SwitchConfig, TiaConfig
from memcosim.config.pulse import PulseConfig
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayerConfig, Slot, SlotTiming, layer_config_from_dict
from memcosim.errors import ConfigError

SET, RESET = 1.2, -0.9  # volts: the stanford_pku preset's SET and RESET amplitudes
MARGIN = 0.1  # volts a periphery node may stray outside its supply range (issue 16's target)
# sky130 5 V devices: gate oxide ~11.4 nm, so Cox ~3.0e-3 F/m^2 (the PDK's tox of the g5v0d10v5 devices)
COX_5V = 3.0e-3


def _layer(scheme: str, tia: str = "sky130", switches: SwitchConfig | None = SwitchConfig(),
           inputs: int = 4, outputs: int = 2) -> CrossbarLayerConfig:
    return CrossbarLayerConfig(inputs, outputs, DeviceConfig("stanford_pku"), scheme=scheme, mapping="high",
                               tia=TiaConfig(gain=1e5, r_feedback=0.0, circuit=tia), switches=switches,
                               pulse=PulseConfig(amplitude=SET, width=100e-9, rise=5e-9))


def _update(layers: list[CrossbarLayerConfig], amplitude: float, nodes: bool = True):
    """One slot of ``amplitude`` volts on cell (1, 1) of every layer; the waveforms of every TIA and switch
    pin of each layer and the update's result."""
    with CrossbarCircuit(layers) as circuit:
        probe = []
        for layer in circuit.layers:
            xb = layer.crossbar
            probe += xb.tia_inputs + xb.tia_outputs + [f"{xb.prefix}s{j}" for j in range(layer.config.columns)]
            if layer.config.switches is not None:
                probe += [f"{xb.prefix}p{j}" for j in range(layer.config.columns)]
        x = np.full((1, layers[0].inputs), 0.5)
        before = circuit.layers[0].forward(x).currents
        g0 = circuit.layers[0].conductances()
        select = {}
        for k, c in enumerate(layers):
            rows, cols = np.zeros(c.inputs, bool), np.zeros(c.columns, bool)
            rows[1], cols[1] = True, True
            select[k] = (rows, cols)
        r = circuit.pulse_slots([Slot(amplitude, select)], SlotTiming(100e-9, 5e-9, 5e-9), voltages=probe if nodes else ())
        after = circuit.layers[0].forward(x).currents
        g1 = circuit.layers[0].conductances()
    return r, circuit, (before, after), (g0, g1)


def _excursion(values: np.ndarray, low: float, high: float) -> float:
    """Volts by which ``values`` leave [low, high] (negative: the margin left inside)."""
    return float(max(values.max() - high, low - values.min()))


def test_a_layer_takes_the_switch_setting_and_prefixes_its_controls():
    c = _layer("V/2", tia="behavioural")
    assert c.periphery().switches == SwitchConfig()
    table = layer_config_from_dict({"inputs": 4, "outputs": 2, "device": {"model": "stanford_pku"},
                                    "tia": {"circuit": "sky130", "r_feedback": 0.0}, "switches": {"r_gate": 50.0}})
    assert table.switches.r_gate == 50.0 and table.tia.circuit == "sky130"
    from memcosim.circuits.crossbar import build_crossbar
    from memcosim.cosim.layer import merge_crossbars

    r = CrossbarLayerConfig(4, 2, DeviceConfig("resistor", g_min=1e-5, g_max=1e-4), switches=SwitchConfig(),
                            tia=TiaConfig(gain=1e5, r_feedback=0.0))
    _, (x0, x1) = merge_crossbars([build_crossbar(r.array(conductance=np.full((4, 4), 1e-4)), check=False)] * 2, "t")
    assert x1.switch_mode("write") == {"Vl1_SW_RD": -2.5, "Vl1_SW_WR": 2.5}
    assert x0.switch_mode("read") == {"Vl0_SW_RD": 2.5, "Vl0_SW_WR": -2.5}
    with pytest.raises(ConfigError, match=r"layer\.pulse\.amplitude: a -3 V write drives columns outside"):
        CrossbarLayerConfig(4, 2, DeviceConfig("stanford_pku"), switches=SwitchConfig(),
                            pulse=PulseConfig(amplitude=-3.0, width=100e-9))
    with pytest.raises(ConfigError, match=r"layer\.switches: must be a SwitchConfig"):
        CrossbarLayerConfig(4, 2, DeviceConfig("stanford_pku"), switches={"r_gate": 1.0})
    with pytest.raises(ConfigError, match=r"periphery\.switches\.r_gate: must be > 0"):
        SwitchConfig(r_gate=0.0)


def test_a_layer_refuses_the_sar_adc_and_says_why_and_what_to_use():
    with pytest.raises(ConfigError, match=r"layer\.adc\.circuit: .*sky130 SAR ADC needs a transient.*hundreds to "
                                          r"thousands of times slower.*leave circuit out.*conversion\.convert"):
        CrossbarLayerConfig(4, 2, DeviceConfig("stanford_pku"), adc=AdcConfig(bits=8, circuit="sky130"))


@pytest.mark.slow
def test_layer_updates_keep_every_periphery_node_inside_its_rails():
    """A RESET and a SET slot on two 4x4 layers (V/2 and V/3) with the sky130 TIA and column switches: every
    TIA pin stays inside the TIA rails and every switch pin inside the switch rails by more than 0.1 V,
    the TIAs never see the write, the pulse reaches the selected cell, and reads after it match."""
    layers = [_layer("V/2"), _layer("V/3")]
    tia, sw = layers[0].periphery().tia, layers[0].switches
    for amplitude in (RESET, SET):
        r, circuit, (before, after), (g0, g1) = _update(layers, amplitude)
        moved = g1[1, 1] - g0[1, 1]
        assert (moved > 0) == (amplitude > 0) and abs(moved) > 1e-3 * g0[1, 1], (amplitude, moved)
        others = np.delete((g1 - g0).ravel(), 1 * 4 + 1)
        assert np.abs(others).max() < 0.05 * abs(moved)
        for layer in circuit.layers:
            xb = layer.crossbar
            tia_nodes = xb.tia_inputs + xb.tia_outputs
            worst_tia = max(_excursion(r.voltages[n], tia.v_ss, tia.v_dd) for n in tia_nodes)
            worst_switch = max(_excursion(r.voltages[n], sw.v_low, sw.v_high)
                               for n in r.voltages if n.startswith(xb.prefix) and n not in tia_nodes)
            assert worst_tia < -MARGIN and worst_switch < -MARGIN, (amplitude, layer.config.scheme, worst_tia, worst_switch)
        # the read path is back: the same input gives the column currents of the new conductances
        assert np.allclose(after, before, rtol=0.05)
        assert r.groups["switches"] > 0 and r.groups["tia"] > 0 and r.groups["programming_drivers"] != 0

    # the violation: the behavioural TIA left on the column (no switches) swings far outside +-1.8 V
    plain = [_layer("V/2", tia="behavioural", switches=None)]
    r, circuit, _, _ = _update(plain, RESET)
    xb = circuit.layers[0].crossbar
    assert max(_excursion(r.voltages[n], tia.v_ss, tia.v_dd) for n in xb.tia_outputs) > 1.0


@pytest.mark.slow
def test_the_gate_charge_of_the_mode_changes_is_counted():
    """The ``switches`` group of a layer update holds the gate drive of two mode changes: per column two
    control lines swing v_high - v_low each time, each drawing C dV from a rail at |v| = dV / 2, with C
    the gate capacitance of one NMOS and one PMOS (Cox W L); the measured joules lie within a factor
    of 2 of that estimate. A layer without switches has no such group."""
    sw = SwitchConfig()
    layers = [_layer("V/2", tia="behavioural", inputs=2, outputs=4)]
    r, circuit, _, _ = _update(layers, RESET, nodes=False)
    dv = sw.v_high - sw.v_low
    c_line = COX_5V * (sw.w_n + sw.w_p) * sw.l  # farads on one control line of one column
    estimate = 2 * 2 * layers[0].columns * c_line * dv * dv / 2  # two mode changes, two lines per column
    assert 0.5 < r.groups["switches"] / estimate < 2.0, (r.groups["switches"], estimate)
    assert "switches" in circuit.supply_groups
    r, circuit, _, _ = _update([_layer("V/2", tia="behavioural", switches=None, inputs=2, outputs=4)], RESET, False)
    assert "switches" not in r.groups


@pytest.mark.slow
def test_a_forward_only_run_file_takes_tia_and_switches_and_counts_their_energy():
    """``[forward_only.tia]`` and ``[forward_only.switches]`` of a run file reach both layers; the trainer's
    ``energy_switches`` counter holds the gate drive of the updates (behavioural TIA: a few seconds)."""
    from memcosim.trainers.config import run_config_from_dict
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    cfg = run_config_from_dict({
        "train": {"algorithm": "forward_only", "dataset": "digits", "classes": [0, 1], "train_limit": 8,
                  "test_limit": 2, "epochs": 1, "batch_size": 4, "update": "pulse", "seed": 5, "progress": False},
        "forward_only": {"hidden": 4, "energy_compare": False, "tia": {"r_feedback": 0.0},
                         "switches": {"t_change": 4e-9}}})
    with ForwardOnlyTrainer(cfg) as tr:
        assert all(layer.config.switches.t_change == 4e-9 for layer in tr.circuit.layers)
        tr.fit(log=None)
        c = tr.counters
    assert c["transients"] > 0 and c["energy_switches"] > 0
    assert c["energy"] == pytest.approx(sum(v for k, v in c.items() if k.startswith("energy_")))
    with pytest.raises(ConfigError, match=r"^forward_only\.switches\.r_gate"):
        run_config_from_dict({"train": {"algorithm": "forward_only"}, "forward_only": {"switches": {"r_gate": -1}}})
