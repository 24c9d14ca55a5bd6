"""Checks of a :class:`~memcosim.config.array.DeviceConfig` against the device registry: the model
exists and every overridden parameter is one of its parameters. Errors name the TOML key
(``device.model``, ``device.params.vth``) under the table the device config came from."""

from __future__ import annotations

from memcosim import fields as f
from memcosim.config.array import DeviceConfig
from memcosim.devices.registry import DeviceModel, get_model
from memcosim.errors import ConfigError, ModelError


def check_device(device: DeviceConfig, where: str = "device") -> DeviceModel | None:
    """The registry's model of ``device`` (None for resistor cells); ConfigError naming ``where.model``
    or ``where.params.<name>`` when the model is unknown or has no such parameter."""
    if device.resistor:
        return None
    try:
        model = get_model(device.model)
    except ModelError as exc:
        raise ConfigError(f"{where}.model", str(exc)) from None
    for key, value in device.params.items():
        try:
            model.parameter_name(key)
        except ModelError as exc:
            raise ConfigError(f"{where}.params.{key}", str(exc)) from None
        f.number(f"{where}.params.{key}", value)
    return model

