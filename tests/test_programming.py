"""Programming drivers: half-select biasing and the disturbance a write leaves on the other cells."""

from __future__ import annotations

import numpy as np
import pytest

from memcosim.circuits.crossbar import CrossbarConfig, build_crossbar
from memcosim.circuits.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.circuits.programming import cell_bias, line_voltages
from memcosim.designer import write_disturbance
from memcosim.errors import ConfigError

VTH = 0.5  # volts: linear_ion_drift drift threshold used here


@pytest.mark.parametrize("scheme, half, unselected", [("V/2", 0.6, 0.0), ("V/3", 0.4, -0.4), ("ground", None, 0.0)])
def test_line_voltages_of_each_scheme(scheme, half, unselected):
    v_rows, v_cols = line_voltages(scheme, 1.2, 4, 5, 1, 3)
    bias = cell_bias(v_rows, v_cols)
    assert bias[1, 3] == pytest.approx(1.2)
    others = np.ones((4, 5), dtype=bool)
    others[1, :] = others[:, 3] = False
    np.testing.assert_allclose(bias[others], unselected, atol=1e-12)
    if half is not None:
        np.testing.assert_allclose(np.r_[np.delete(bias[1], 3), np.delete(bias[:, 3], 1)], half)
    else:  # unselected lines grounded: the selected row's cells see the full voltage
        np.testing.assert_allclose(np.delete(bias[1], 3), 1.2)
    with pytest.raises(ConfigError, match="row"):
        line_voltages(scheme, 1.2, 4, 5, 4, 0)


def _config(scheme: str) -> CrossbarConfig:
    prog = ProgrammingConfig(scheme=scheme, amplitude=1.2, width=1e-6, rise=1e-9)
    return CrossbarConfig(5, 5, model="linear_ion_drift", states=0.5, r_row=1.0, r_column=1.0,
                          device_params={"vth": VTH, "mu_v": 1e-9}, periphery=PeripheryConfig(programming=prog))


def test_waveforms_drive_only_the_biased_lines():
    xbar = build_crossbar(_config("V/2"))
    waves = xbar.write_waveforms(2, 2)
    assert "VPCOL2" not in waves  # the selected column stays at 0 V
    assert max(waves["VPROW2"].values) == pytest.approx(1.2)
    assert max(waves["VPROW0"].values) == pytest.approx(0.6) and max(waves["VPCOL0"].values) == pytest.approx(0.6)


def test_half_select_write_disturbs_less_than_a_full_voltage_write():
    half = np.zeros((5, 5), dtype=bool)
    half[2, :] = half[:, 2] = True
    half[2, 2] = False
    unselected = ~half
    unselected[2, 2] = False

    v2 = write_disturbance(_config("V/2"), 2, 2)
    full = write_disturbance(_config("ground"), 2, 2)
    v3 = write_disturbance(_config("V/3"), 2, 2)

    # the selected cell is written about equally by every scheme (positive bias: SET, state grows)
    assert v2["delta"][2, 2] > 0.01 and full["delta"][2, 2] > 0.01
    assert v2["delta"][2, 2] == pytest.approx(full["delta"][2, 2], rel=0.05)
    # V/2: half-selected cells see 0.6 V (0.1 V over threshold); a full-voltage write gives the
    # selected row's cells the whole 1.2 V
    assert 0 < np.abs(v2["delta"][half]).max() < 0.5 * np.abs(full["delta"][half]).max()
    # unselected cells stay under threshold and do not move
    assert np.abs(v2["bias"][unselected]).max() < VTH
    assert np.abs(v2["delta"][unselected]).max() < 1e-9
    # V/3: every non-selected cell sees 0.4 V < threshold
    assert np.abs(v3["delta"][half | unselected]).max() < 1e-9
    assert v3["delta"][2, 2] > 0.01
