"""The one TOML loader (memcosim.config.toml): key lines, errors with their line, renamed keys, a lossless
round trip of the array vocabulary, and each physical quantity declared once."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
import warnings
from pathlib import Path

import numpy as np
import pytest

from memcosim.circuits.config_file import config_from_document, config_to_toml, example_configs, load_config
from memcosim.config import toml
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.faults import FaultConfig
from memcosim.config.periphery import AdcConfig, DacConfig, PeripheryConfig, TiaConfig
from memcosim.cosim.layer import layer_config_from_dict
from memcosim.errors import ConfigError
from memcosim.hardware_aware.deploy import ArraySettings
from memcosim.hardware_aware.model import HardwareConfig
from memcosim.nn.pulse import load_pulse_run
from memcosim.studies.config import load_study
from memcosim.studies.retention import load_retention_study
from memcosim.trainers.config import load_run_config, run_config_from_text, run_config_to_toml

TEXT = """# a comment
rows = 2
columns = [
  3,
]

[device]
model = "resistor"

[wires]
r_row = 1.5  # ohm

[[points]]
size = 4

[[points]]
"size" = 8
grid.inner = 1
"""


def test_key_lines_know_tables_keys_arrays_of_tables_and_skip_multiline_values():
    lines = toml.key_lines(TEXT)
    assert lines[("rows",)] == 2 and lines[("columns",)] == 3
    assert lines[("device",)] == 7 and lines[("device", "model")] == 8
    assert lines[("wires", "r_row")] == 11
    assert lines[("points", 0, "size")] == 14 and lines[("points", 1, "size")] == 17
    assert lines[("points", 1, "grid", "inner")] == 18
    assert ("3",) not in lines and not any(k[0] == "" for k in lines)


def test_errors_name_the_key_and_its_line(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("rows = 2\ncolumns = 2\nconductance = 1e-4\n\n[wires]\nr_row = -1.0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "wires.r_row" and f"({path}, line 6)" in str(info.value)
    path.write_text("rows = 2\ncolumns = 2\nconductance = 1e-4\n[periphery.dac]\nbits = 4\nbitz = 2\n"
                    "[periphery.tia]\n[periphery.adc]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "periphery.dac.bitz" and "known keys: bits, r_out, v_max, v_min" in str(info.value)
    assert "line 6" in str(info.value)
    # a check made by the device registry (not the config layer) still names the key and its line
    path.write_text("rows = 2\ncolumns = 2\n\n[device]\nmodel = \"linear_ion_drift\"\n[device.params]\nnope = 1.0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "device.params.nope" and "line 7" in str(info.value)


def test_an_old_key_is_migrated_with_a_message_naming_the_new_key_and_the_line(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text("rows = 2\ncolumns = 2\nconductance = 1e-4\nr_row = 2.5\n")
    with pytest.warns(toml.ConfigWarning, match=r"line 4: `r_row` was renamed to `wires.r_row`"):
        config = load_config(path)
    assert config.wires.r_row == 2.5
    # the same file read strictly fails with that message
    doc = toml.read(path)
    with pytest.raises(ConfigError, match=r"`r_row` was renamed to `wires.r_row` \(.*line 4\)"):
        toml.migrate(doc, [toml.Rename("r_row", ("wires.r_row",))], strict=True)
    # old and new key both set: refused
    path.write_text("rows = 2\ncolumns = 2\nconductance = 1e-4\nr_row = 2.5\n[wires]\nr_row = 1.0\n")
    with pytest.raises(ConfigError, match="also sets the new key"):
        load_config(path)


def test_renames_with_stars_and_conversion():
    doc = toml.TomlDocument({"points": [{"r_wire": 2.0}, {"r_wire": 0.0, "dac_bits": 0}]}, {}, "<t>")
    renames = [toml.Rename("points.*.r_wire", ("points.*.wires.r_row", "points.*.wires.r_column")),
               toml.Rename("points.*.dac_bits", ("points.*.dac.bits",), lambda v, t: toml.DROP if v == 0 else v)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", toml.ConfigWarning)
        messages = toml.migrate(doc, renames)
    assert doc.data == {"points": [{"wires": {"r_row": 2.0, "r_column": 2.0}},
                                   {"wires": {"r_row": 0.0, "r_column": 0.0}}]}
    assert "`points[0].r_wire` was renamed to `points[0].wires.r_row` and `points[0].wires.r_column`" in messages[0]


@pytest.mark.parametrize("config", [
    *example_configs().values(),
    ArrayConfig(3, 2, conductance=np.arange(1, 7).reshape(3, 2) * 1e-5, wires=WireConfig.uniform(1.5), variation=0.1,
                seed=4, periphery=PeripheryConfig(DacConfig(bits=4), TiaConfig(), AdcConfig(offset=[0.0, 0.01])),
                faults=FaultConfig(stuck_on=0.1, seed=2)),
    ArrayConfig(2, 2, DeviceConfig("vteam", {"iv": 1.0}, g_min=1e-6, g_max=1e-4, v_read=0.1),
                states=np.array([[0.5, 1.0], [2.0, 3.0]])),
])
def test_array_config_round_trip_through_toml_is_lossless(config):
    text = config_to_toml(config)
    again = config_from_document(toml.parse(text))
    assert config_to_toml(again) == text
    for name in ("device", "wires", "periphery", "faults", "access"):
        assert getattr(again, name) == getattr(config, name)
    for name in ("conductance", "states"):
        a, b = getattr(config, name), getattr(again, name)
        assert (a is None and b is None) or np.array_equal(a, b)


# -- each physical quantity is declared once ---------------------------------------------------
#
# The rule: a field of a configuration dataclass (``...Config``, ``...Settings``, ``Point``) that is named
# like one of the quantities below (a name in ALIASES, or a name containing one of WORDS) must be the
# one declaration in OWNERS; a field whose name only looks like one is a different quantity and says
# which in OTHER_QUANTITIES. Everything else takes the owning config whole (``device: DeviceConfig``,
# ``set: PulseConfig``, ``tia: TiaConfig``) and says what its 0 means where 0 defers to a preset.

# quantity -> the one configuration dataclass (and field) that declares it
OWNERS = {
    "wire resistance": {("memcosim.config.array.WireConfig", "r_row"), ("memcosim.config.array.WireConfig", "r_column")},
    "conductance window": {("memcosim.config.array.DeviceConfig", "g_min"),
                           ("memcosim.config.array.DeviceConfig", "g_max")},
    "read voltage": {("memcosim.config.array.DeviceConfig", "v_read")},
    "DAC bits": {("memcosim.config.periphery.DacConfig", "bits")},
    "ADC bits": {("memcosim.config.periphery.AdcConfig", "bits")},
    "pulse amplitude and width": {("memcosim.config.pulse.PulseConfig", "amplitude"),
                                  ("memcosim.config.pulse.PulseConfig", "width")},
    "TIA gain and feedback resistance": {("memcosim.config.periphery.TiaConfig", "gain"),
                                         ("memcosim.config.periphery.TiaConfig", "r_feedback")},
    # EP drives its inputs at +-x v_input (its input DACs span +-v_input) and has no read voltage
    # (EpNetworkConfig refuses device.v_read); a crossbar layer's inputs span the device's v_read
    "EP input full scale": {("memcosim.circuits.ep_network.EpNetworkConfig", "v_input")},
}
# field names that would declare one of those quantities again
ALIASES = {"r_wire", "r_row", "r_column", "g_min", "g_max", "g_low", "g_high", "v_read", "dac_bits", "adc_bits", "bits",
           "amplitude", "width", "v_set", "v_reset", "set_amplitude", "reset_amplitude", "step", "gain", "r_feedback",
           "rf", "v_input", "v_in", "full_scale"}
# ... and any field whose name contains one of these
WORDS = ("amplitude", "width", "bits", "v_read", "r_wire", "g_low", "g_high", "tia_", "feedback", "gain", "v_input")
# fields named like one of those quantities that are another quantity: field -> what it is
OTHER_QUANTITIES = {
    ("memcosim.hardware_aware.model.HardwareConfig", "weight_bits"):
        "levels of the torch model's weight quantization (2**weight_bits conductance levels), no converter",
    ("memcosim.studies.config.Point", "weight_bits"): "the study axis of HardwareConfig.weight_bits",
    ("memcosim.programming.predictor.config.EvaluateConfig", "baseline_amplitudes"):
        "further [SET, RESET] pairs the conventional write-and-verify is also run at (a sweep of amplitudes)",
    ("memcosim.cli.read_demo.DemoConfig", "v_read_max"): "the top of the read demo's sweep of read voltages",
    ("memcosim.circuits.ep_network.EpNetworkConfig", "gain"): "voltage gain of EP's neuron amplifiers, not a TIA",
    ("memcosim.circuits.ep_network.EpNetworkConfig", "back_gain"): "current gain of EP's neuron amplifiers backward",
}


PACKAGES = ("memcosim", "memcosim.config", "memcosim.devices", "memcosim.circuits", "memcosim.cosim",
            "memcosim.programming", "memcosim.trainers", "memcosim.hardware_aware", "memcosim.nn", "memcosim.studies",
            "memcosim.cli")


def _config_dataclasses() -> dict[str, type]:
    """Every configuration dataclass (``...Config`` / ``...Settings``) of the package."""
    found = {}
    names = set(PACKAGES)
    for package in PACKAGES:
        names.update(info.name for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."))
    for name in sorted(n for n in names if not n.endswith("__main__")):
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == name
                    and (obj.__name__.endswith(("Config", "Settings")) or obj.__name__ == "Point")):
                found[f"{obj.__module__}.{obj.__name__}"] = obj
    assert "memcosim.trainers.crossbar_config.SgdConfig" in found or "memcosim.trainers.crossbar_config" not in names
    assert "memcosim.programming.predictor.config.DatasetConfig" in found
    return found


def _named_like_a_quantity(name: str) -> bool:
    return name in ALIASES or any(word in name for word in WORDS)


def test_each_physical_quantity_is_declared_by_one_config_dataclass():
    allowed = set().union(*OWNERS.values())
    declared = {(name, fl.name) for name, cls in _config_dataclasses().items()
                for fl in dataclasses.fields(cls) if _named_like_a_quantity(fl.name)}
    assert sorted(declared - allowed - set(OTHER_QUANTITIES)) == [], "quantities declared again"
    assert declared == allowed | set(OTHER_QUANTITIES), "an owner or a listed other quantity is gone: update the lists"


def test_variation_names_say_which_variation():
    # ``variation`` (a float) is the device-to-device spread of the cells' starting or programmed values;
    # the variation of model parameters (device-to-device offsets, cycle-to-cycle walk) is a
    # ParameterVariationConfig, held as ``parameter_variation``
    from memcosim.config.variation import ParameterVariationConfig

    spreads, parameters = set(), set()
    for name, cls in _config_dataclasses().items():
        hints = typing.get_type_hints(cls)
        for fl in dataclasses.fields(cls):
            if fl.name == "variation":
                assert hints[fl.name] is float, f"{name}.variation must be the float spread of starting values"
                spreads.add(name)
            if ParameterVariationConfig in _alternatives(hints[fl.name]):
                assert fl.name == "parameter_variation", f"{name}.{fl.name}: name it parameter_variation"
                parameters.add(name)
    assert "memcosim.config.array.ArrayConfig" in spreads
    assert parameters == {"memcosim.programming.predictor.config.DatasetConfig"}


def _alternatives(hint: object) -> tuple:
    """The alternatives of a type hint (``A | None`` -> (A, NoneType))."""
    return typing.get_args(hint) if typing.get_origin(hint) not in (list, dict) and typing.get_args(hint) else (hint,)


OLD_RUN = """\
[network]
sizes = [4, 3, 2]
model = "vteam"
g_min = 0.0
g_max = 0.0
r_wire = 1.0
dac_bits = 0
dac_r_out = 0.0
[network.device_params]
iv = 1.0
[network.programming]
amplitude = 0.9
rise = 1e-09
scheme = "V/2"
width = 1e-07
[pulse]
v_set = 0.9
v_reset = -0.9
width = 2e-09
rise = 1e-09
[sgd]
v_set = 0.59
v_reset = -0.59
dac_bits = 6
r_wire = 2.5
"""

NEW_RUN = """\
[network]
sizes = [4, 3, 2]
[network.device]
model = "vteam"
params = {iv = 1.0}
[network.wires]
r_row = 1.0
r_column = 1.0
[network.programming]
scheme = "V/2"
pulse = {amplitude = 0.9, width = 1e-07, rise = 1e-09}
[pulse]
set = {amplitude = 0.9, width = 2e-09, rise = 1e-09}
reset = {amplitude = -0.9, width = 2e-09, rise = 1e-09}
[sgd]
set = {amplitude = 0.59}
reset = {amplitude = -0.59}
dac = {bits = 6}
wires = {r_row = 2.5, r_column = 2.5}
"""


def test_an_old_run_file_reads_as_the_same_config_as_its_new_keys():
    from memcosim.trainers.config import run_config_from_text

    with pytest.warns(toml.ConfigWarning) as caught:
        old = run_config_from_text(OLD_RUN, "old.toml")
    assert run_config_from_text(NEW_RUN, "new.toml") == old
    assert old.network.dac is None and old.sgd.dac.r_out == 0.0  # dac_bits = 0: ideal sources; the SGD DAC's r_out kept
    messages = [str(w.message) for w in caught]
    assert "old.toml, line 6: `network.r_wire` was renamed to `network.wires.r_row` and `network.wires.r_column`" \
        in " ".join(messages)
    assert any("`pulse.width` was renamed to `pulse.set.width` and `pulse.reset.width`" in m for m in messages)


def test_tia_settings_are_one_tia_config_with_automatic_feedback_only_where_something_chooses_it():
    from memcosim.circuits.ep_network import EpNetworkConfig
    from memcosim.cosim.layer import CrossbarLayerConfig, layer_config_from_dict
    from memcosim.hardware_aware.deploy import ArraySettings

    with pytest.warns(toml.ConfigWarning) as caught:
        old = layer_config_from_dict({"inputs": 4, "outputs": 2, "tia_gain": 1e9, "r_feedback": 5e3})
    assert [str(w.message).split(";")[0] for w in caught] == [
        "<table>: `layer.tia_gain` was renamed to `layer.tia.gain`",
        "<table>: `layer.r_feedback` was renamed to `layer.tia.r_feedback`"]
    assert old == CrossbarLayerConfig(4, 2, tia=TiaConfig(gain=1e9, r_feedback=5e3)) and old.feedback == 5e3
    auto = CrossbarLayerConfig(4, 2)
    assert auto.tia.automatic and auto.periphery().tia.r_feedback == auto.feedback > 0
    with pytest.raises(ConfigError) as info:  # an array's TIA has no one to choose its feedback
        ArrayConfig(2, 2, conductance=1e-5, periphery=PeripheryConfig(tia=TiaConfig(r_feedback=0.0), adc=AdcConfig()))
    assert info.value.field == "periphery.tia.r_feedback"
    with pytest.raises(ConfigError) as info:  # a deployment sets every tile's feedback from its calibration
        ArraySettings(tia=TiaConfig(r_feedback=1e4))
    assert info.value.field == "tia.r_feedback"
    with pytest.raises(ConfigError) as info:  # EP has no read voltage: its inputs span network.v_input
        EpNetworkConfig(device=DeviceConfig("vteam", v_read=0.2))
    assert info.value.field == "network.device.v_read"


@pytest.mark.parametrize("table, key, source", [
    ("[sgd.dac]", "sgd.dac.v_max", "sgd.device.v_read"),
    ("[sgd.adc]", "sgd.adc.v_min", "TIA output span"),
    ("[forward_only.dac]", "forward_only.dac.v_min", "forward_only.device.v_read"),
    ("[network.dac]", "network.dac.v_max", "network.v_input"),
])
def test_a_converter_range_that_is_set_from_elsewhere_is_an_error_naming_the_key(table, key, source):
    name = key.rsplit(".", 1)[1]
    with pytest.raises(ConfigError) as info:
        run_config_from_text(f"{table}\nbits = 6\n{name} = {0.5 if name == 'v_max' else -0.1}\n", "run.toml")
    assert info.value.field == key and source in str(info.value) and "run.toml, line 3" in str(info.value), info.value
    assert run_config_from_text(f"{table}\nbits = 6\nr_out = 0.0\n" if "dac" in table else f"{table}\nbits = 6\n",
                                "run.toml") is not None  # bits (and the DAC's r_out) take effect


def test_a_layer_or_deployment_refuses_a_converter_range_it_would_overwrite():
    with pytest.raises(ConfigError) as info:
        layer_config_from_dict({"inputs": 2, "outputs": 1, "dac": {"v_min": -0.1}})
    assert info.value.field == "layer.dac.v_min" and "layer.device.v_read" in str(info.value)
    with pytest.raises(ConfigError) as info:
        layer_config_from_dict({"inputs": 2, "outputs": 1, "adc": {"v_max": 0.5}})
    assert info.value.field == "layer.adc.v_max"
    with pytest.raises(ConfigError) as info:
        toml.from_dict(ArraySettings, {"adc": {"bits": 5, "v_max": 2.0}}, "arrays")
    assert info.value.field == "arrays.adc.v_max" and "calibrated ADC full scale" in str(info.value)
    with pytest.raises(ConfigError) as info:
        HardwareConfig(dac=DacConfig(v_max=0.3))
    assert info.value.field == "hardware.dac.v_max"
    layer = layer_config_from_dict({"inputs": 2, "outputs": 1, "dac": {"bits": 4, "r_out": 50.0}, "adc": {"bits": 6}})
    assert layer.periphery().dac.r_out == 50.0 and layer.periphery().adc.bits == 6
    # a range the user sets is refused even when it equals the default (it would be overwritten all the same)
    with pytest.raises(ConfigError) as info:
        HardwareConfig(dac=DacConfig(v_max=0.2))
    assert info.value.field == "hardware.dac.v_max"
    with pytest.raises(ConfigError) as info:
        run_config_from_text('[sgd]\nhidden = 4\n\n[sgd.adc]\nbits = 6\nv_min = -1.0\n')
    assert info.value.field == "sgd.adc.v_min"
    # ... while the defaults it did not set survive a copy and a TOML round trip (checkpoints hold run files)
    run = run_config_from_text('[sgd]\nhidden = 4\n\n[sgd.dac]\nbits = 6\n')
    run.sgd = dataclasses.replace(run.sgd, dac=dataclasses.replace(run.sgd.dac, bits=5))
    again = run_config_from_text(run_config_to_toml(run))
    assert again.sgd.dac == run.sgd.dac and again.sgd.dac.v_max == 0.2


def test_the_shipped_run_and_study_configs_load():
    root = Path(__file__).resolve().parent.parent
    runs = [p for p in sorted((root / "configs").glob("*.toml"))
            if not p.name.startswith(("predictor", "retention", "nn_pulse"))]
    assert runs
    for path in runs:
        load_run_config(path)
    for path in sorted((root / "configs").glob("retention*.toml")):
        load_retention_study(path)
    pulse_runs = sorted((root / "configs").glob("nn_pulse*.toml"))
    assert pulse_runs
    for path in pulse_runs:
        load_pulse_run(path)
    for path in sorted((root / "studies").glob("*.toml")):
        load_study(path)
