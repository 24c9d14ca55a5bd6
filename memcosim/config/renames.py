"""Keys of memcosim's TOML files that were renamed, with where their values live now.

Reading an old file moves each old key to its new place with a
:class:`~memcosim.config.toml.ConfigWarning` that names the old key, its line and the new key.
"""

from __future__ import annotations

from memcosim.config.toml import DROP, Rename

# crossbar config files (memcosim netlist --config FILE): flat array keys -> [device] and [wires]
ARRAY = (
    Rename("model", ("device.model",)),
    Rename("device_params", ("device.params",)),
    Rename("r_row", ("wires.r_row",)),
    Rename("r_column", ("wires.r_column",)),
    Rename("r_driver", ("wires.r_driver",)),
    Rename("c_row", ("wires.c_row",)),
    Rename("c_column", ("wires.c_column",)),
    Rename("periphery.programming.amplitude", ("periphery.programming.pulse.amplitude",)),
    Rename("periphery.programming.width", ("periphery.programming.pulse.width",)),
    Rename("periphery.programming.rise", ("periphery.programming.pulse.rise",)),
)

# crossbar layer tables (cosim.layer.layer_config_from_dict): the TIA settings as a [tia] table
LAYER = (
    Rename("tia_gain", ("tia.gain",)),
    Rename("r_feedback", ("tia.r_feedback",)),
)

# training run files (memcosim train FILE): the device, wires, converters and pulses of [network],
# [pulse], [sgd] and [forward_only] as tables of the array vocabulary


def _array_keys(table: str) -> tuple[Rename, ...]:
    return (
        Rename(f"{table}.model", (f"{table}.device.model",)),
        Rename(f"{table}.device_params", (f"{table}.device.params",)),
        Rename(f"{table}.g_min", (f"{table}.device.g_min",)),
        Rename(f"{table}.g_max", (f"{table}.device.g_max",)),
        Rename(f"{table}.r_wire", (f"{table}.wires.r_row", f"{table}.wires.r_column")),
        Rename(f"{table}.dac_bits", (f"{table}.dac.bits",), lambda v, t: DROP if v == 0 else v),
        Rename(f"{table}.dac_r_out", (f"{table}.dac.r_out",), lambda v, t: v if "dac" in t else DROP),
        Rename(f"{table}.adc_bits", (f"{table}.adc.bits",)),
    )


def _pulse_keys(table: str) -> tuple[Rename, ...]:
    return (
        Rename(f"{table}.v_set", (f"{table}.set.amplitude",)),
        Rename(f"{table}.v_reset", (f"{table}.reset.amplitude",)),
        Rename(f"{table}.width", (f"{table}.set.width", f"{table}.reset.width")),
        Rename(f"{table}.rise", (f"{table}.set.rise", f"{table}.reset.rise")),
    )


RUN = (
    *_array_keys("network"),
    Rename("network.programming.amplitude", ("network.programming.pulse.amplitude",)),
    Rename("network.programming.width", ("network.programming.pulse.width",)),
    Rename("network.programming.rise", ("network.programming.pulse.rise",)),
    *_pulse_keys("pulse"),
    *_array_keys("sgd"), *_pulse_keys("sgd"),
    *_array_keys("forward_only"), *_pulse_keys("forward_only"),
)

# study files (memcosim sweep STUDY.toml): the arrays' settings of [study] move to [arrays]
STUDY = (
    Rename("study.r_driver", ("arrays.wires.r_driver",)),
    Rename("study.g_min", ("arrays.device.g_min",)),
    Rename("study.g_max", ("arrays.device.g_max",)),
    Rename("study.tolerance", ("arrays.tolerance",)),
    Rename("study.max_pulses", ("arrays.max_pulses",)),
    Rename("arrays.tia_gain", ("arrays.tia.gain",)),
)

# pulse-SGD runs of memcosim.nn (configs/nn_pulse_*.toml): the tiles' settings as an [arrays] table
NN_PULSE = (
    Rename("size", ("arrays.size",)),
    Rename("device", ("arrays.device",)),
    Rename("wire_ohm", ("arrays.wires.r_row", "arrays.wires.r_column")),
    Rename("dac_bits", ("arrays.dac.bits",)),
    Rename("dac_r_out", ("arrays.dac.r_out",)),
    Rename("adc_bits", ("arrays.adc.bits",)),
)

# pulse predictor files (memcosim predictor ... --config FILE): the dataset's device, target window and
# pulses, and the conventional write-and-verify pulse, as tables of the array vocabulary
PREDICTOR = (
    Rename("dataset.model", ("dataset.device.model",)),
    Rename("dataset.g_low", ("dataset.device.g_min",)),
    Rename("dataset.g_high", ("dataset.device.g_max",)),
    Rename("dataset.set_amplitude", ("dataset.set.amplitude",)),
    Rename("dataset.reset_amplitude", ("dataset.reset.amplitude",)),
    Rename("dataset.step", ("dataset.set.width", "dataset.reset.width")),
    Rename("dataset.variation", ("dataset.parameter_variation",)),
    Rename("evaluate.conventional_width", ("evaluate.conventional.width",)),
)
