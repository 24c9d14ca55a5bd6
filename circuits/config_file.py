"""Crossbar configs as TOML files: load (tomllib) and save, losslessly.

Layout: the array's fields at the top level (``rows``, ``columns``, ``model``, ``cell``,
``conductance`` or ``states`` as a number or a matrix, wire resistances ...), then the tables
``[device_params]``, ``[access]`` (1T1R) and ``[periphery.dac]``, ``[periphery.tia]``,
``[periphery.adc]``, ``[periphery.nudge]``, ``[periphery.programming]`` and ``[faults]``
(:class:`memcosim.circuits.faults.FaultConfig`). An unknown key is an
error naming it (``periphery.dac.bitz``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from memcosim.circuits.crossbar import RESISTOR, CrossbarConfig
from memcosim.config.periphery import AccessConfig, PeripheryConfig, ProgrammingConfig
from memcosim.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_TOP = [f.name for f in dataclasses.fields(CrossbarConfig)]
_TABLES = ("device_params", "access", "periphery", "faults")
_BLOCKS = ("dac", "tia", "adc", "nudge", "programming")


def config_from_dict(data: dict) -> CrossbarConfig:
    """A validated :class:`CrossbarConfig` from parsed TOML ``data``."""
    for key, value in data.items():
        if key not in _TOP:
            raise ConfigError(key, f"unknown key; known keys: {', '.join(_TOP)}")
        if key in _TABLES and not isinstance(value, dict):
            raise ConfigError(key, f"must be a table ([{key}]), got {value!r}")
        if key not in _TABLES and isinstance(value, dict):
            raise ConfigError(key, "must be a value, not a table")
    for key in ("rows", "columns"):
        if key not in data:
            raise ConfigError(key, "is required")
    periphery = data.get("periphery")
    if periphery is not None:
        for key, value in periphery.items():
            if key not in _BLOCKS:
                raise ConfigError(f"periphery.{key}", f"unknown block; known blocks: {', '.join(_BLOCKS)}")
            if not isinstance(value, dict):
                raise ConfigError(f"periphery.{key}", "must be a table")
    return CrossbarConfig(**data)


def load_config(path: str | Path) -> CrossbarConfig:
    """Read a TOML config file; errors name the file or the offending key.

    A relative ``.va`` path in ``model`` is taken relative to the config file's folder.
    """
    from memcosim.fileio import read_text_file

    path = Path(path)
    text = read_text_file(path, "config")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{path} is not valid TOML: {exc}") from None
    model = data.get("model")
    if isinstance(model, str) and model.endswith(".va") and not Path(model).is_absolute():
        data["model"] = str(path.parent / model)
    return config_from_dict(data)


def config_to_toml(config: CrossbarConfig) -> str:
    """TOML text that :func:`load_config` reads back to an equal config."""
    lines = ["# memcosim crossbar config (memcosim netlist --config FILE)"]
    top = {
        "rows": config.rows, "columns": config.columns, "model": config.model, "cell": config.cell,
        "differential": config.differential,
    }
    if config.model == RESISTOR or config.conductance is not None:
        top["conductance"] = _matrix(config.conductance)
    else:
        top["states"] = _matrix(config.states)
    for name in ("r_row", "r_column", "r_driver", "c_row", "c_column", "variation", "seed"):
        top[name] = getattr(config, name)
    lines += [f"{k} = {toml_value(v)}" for k, v in top.items()]
    if config.device_params:
        lines += ["", "[device_params]"] + [f"{k} = {toml_value(v)}" for k, v in sorted(config.device_params.items())]
    if config.access is not None:
        lines += ["", "[access]"] + _fields(config.access)
    per = config.periphery
    if per is not None:
        for block in _BLOCKS:
            value = getattr(per, block)
            if value is not None:
                lines += ["", f"[periphery.{block}]"] + _fields(value)
    if config.faults is not None:
        lines += ["", "[faults]"] + _fields(config.faults)
    return "\n".join(lines) + "\n"


def _fields(obj: object) -> list[str]:
    return [f"{f.name} = {toml_value(getattr(obj, f.name))}" for f in dataclasses.fields(obj)]


def _matrix(a: np.ndarray | float) -> object:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 0 or np.all(arr == arr.flat[0]):
        return float(arr.flat[0])
    return arr.tolist()


def toml_value(v: object) -> str:
    """``v`` (bool, integer, float, string, list or list of lists) as TOML value text."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        if v and isinstance(v[0], list):
            return "[\n" + "".join(f"  {toml_value(row)},\n" for row in v) + "]"
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to TOML")


def example_configs() -> dict[str, CrossbarConfig]:
    """The reference arrays kept in ``netlists/`` (file stem -> config): 4x4 and 16x16, 1R and 1T1R,
    every periphery block."""
    def periphery() -> PeripheryConfig:
        p = PeripheryConfig.full()
        p.programming = ProgrammingConfig(scheme="V/2", amplitude=1.2, width=1e-6)
        return p

    lid = {"vth": 0.5, "mu_v": 1e-9}
    return {
        "crossbar_4x4_1r": CrossbarConfig(
            4, 4, model="linear_ion_drift", states=0.5, r_row=2.5, r_column=2.5, r_driver=10.0,
            c_row=1e-15, c_column=1e-15, device_params=lid, periphery=periphery(),
        ),
        "crossbar_4x4_1t1r": CrossbarConfig(
            4, 4, model="linear_ion_drift", states=0.5, r_row=2.5, r_column=2.5, r_driver=10.0,
            cell="1T1R", access=AccessConfig(), device_params=lid, periphery=periphery(),
        ),
        "crossbar_16x16_1r": CrossbarConfig(
            16, 16, model="linear_ion_drift", states=0.5, r_row=2.5, r_column=2.5, r_driver=10.0,
            differential=True, variation=0.05, seed=7, device_params=lid, periphery=periphery(),
        ),
        "crossbar_16x16_1t1r": CrossbarConfig(
            16, 16, model="linear_ion_drift", states=0.5, r_row=2.5, r_column=2.5, r_driver=10.0,
            cell="1T1R", access=AccessConfig(), device_params=lid, periphery=periphery(),
        ),
    }
