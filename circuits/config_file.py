"""Crossbar configs as TOML files (``memcosim netlist --config FILE``): read and written by the one
loader (:mod:`memcosim.config.toml`), with the array's registry checks and old keys migrated.

Layout: the array's values at the top level (``rows``, ``columns``, ``cell``, ``differential``,
``conductance`` or ``states`` as a number or a matrix, ``variation``, ``seed``), then the tables
``[device]`` (``model``, ``g_min``, ``g_max``, ``v_read``) with ``[device.params]``, ``[wires]``,
``[access]`` (1T1R), ``[periphery.dac]``, ``[periphery.tia]``, ``[periphery.adc]``,
``[periphery.nudge]``, ``[periphery.programming]``, ``[faults]`` and ``[blocks.<slot>]`` (a user's
sub-circuit or a PDK device in a slot, :mod:`memcosim.config.blocks`)
(:class:`memcosim.config.array.ArrayConfig`). An unknown key is an error naming it and its line
(``periphery.dac.bitz``).
"""

from __future__ import annotations

from pathlib import Path

from memcosim.circuits.crossbar import check_array
from memcosim.config import renames, toml
from memcosim.config.array import ArrayConfig, DeviceConfig, WireConfig
from memcosim.config.periphery import AccessConfig, PeripheryConfig, ProgrammingConfig
from memcosim.config.pulse import PulseConfig
from memcosim.errors import ConfigError

COMMENT = "memcosim crossbar config (memcosim netlist --config FILE)"


def config_from_document(doc: toml.TomlDocument) -> ArrayConfig:
    """A checked :class:`ArrayConfig` from a parsed file (old keys migrated; errors with their line)."""
    toml.migrate(doc, renames.ARRAY)
    for key in ("rows", "columns"):
        if key not in doc.data:
            raise ConfigError(key, f"is required ({doc.path})")
    config = toml.fill(ArrayConfig, doc.data, doc)
    try:
        check_array(config)
    except ConfigError as exc:
        raise toml.located(exc, doc) from None
    return config


def config_from_dict(data: dict) -> ArrayConfig:
    """A checked :class:`ArrayConfig` from parsed TOML tables (errors name the key, without lines)."""
    return config_from_document(toml.TomlDocument(data, {}, "<table>"))


def load_config(path: str | Path) -> ArrayConfig:
    """Read a crossbar TOML file; errors name the file, the offending key and its line.

    A relative ``.va`` path in ``device.model``, and the relative files of ``[blocks.<slot>]`` tables
    (``file``, ``libraries``), are taken relative to the config file's folder.
    """
    path = Path(path)
    doc = toml.read(path)
    toml.migrate(doc, renames.ARRAY)
    device = doc.data.get("device")
    model = device.get("model") if isinstance(device, dict) else None
    if isinstance(model, str) and model.endswith(".va") and not Path(model).is_absolute():
        device["model"] = str(path.parent / model)
    blocks = doc.data.get("blocks")
    for table in blocks.values() if isinstance(blocks, dict) else ():
        if not isinstance(table, dict):
            continue
        if isinstance(table.get("file"), str) and table["file"]:
            table["file"] = _beside(path, table["file"])
        libraries = table.get("libraries")
        for lib in libraries if isinstance(libraries, list) else ():
            if isinstance(lib, dict) and isinstance(lib.get("file"), str) and lib["file"]:
                lib["file"] = _beside(path, lib["file"])
    return config_from_document(doc)


def _beside(config_path: Path, file: str) -> str:
    """``file`` as given when absolute, else relative to the folder of ``config_path``."""
    p = Path(file)
    return str(p if p.is_absolute() else (config_path.parent / p).resolve())


def config_to_toml(config: ArrayConfig) -> str:
    """TOML text that :func:`load_config` reads back to an equal config."""
    return toml.dumps(config, COMMENT)


def example_configs() -> dict[str, ArrayConfig]:
    """The reference arrays kept in ``netlists/`` (file stem -> config): 4x4 and 16x16, 1R and 1T1R,
    every periphery block."""
    def periphery() -> PeripheryConfig:
        p = PeripheryConfig.full()
        p.programming = ProgrammingConfig("V/2", PulseConfig(amplitude=1.2, width=1e-6))
        return p

    lid = {"vth": 0.5, "mu_v": 1e-9}
    wires = WireConfig(r_row=2.5, r_column=2.5, r_driver=10.0)
    return {
        "crossbar_4x4_1r": ArrayConfig(
            4, 4, DeviceConfig("linear_ion_drift", lid), WireConfig(2.5, 2.5, 1e-15, 1e-15, 10.0), states=0.5,
            periphery=periphery(),
        ),
        "crossbar_4x4_1t1r": ArrayConfig(
            4, 4, DeviceConfig("linear_ion_drift", lid), wires, states=0.5, cell="1T1R", access=AccessConfig(),
            periphery=periphery(),
        ),
        "crossbar_16x16_1r": ArrayConfig(
            16, 16, DeviceConfig("linear_ion_drift", lid), wires, states=0.5, differential=True, variation=0.05,
            seed=7, periphery=periphery(),
        ),
        "crossbar_16x16_1t1r": ArrayConfig(
            16, 16, DeviceConfig("linear_ion_drift", lid), wires, states=0.5, cell="1T1R", access=AccessConfig(),
            periphery=periphery(),
        ),
    }
