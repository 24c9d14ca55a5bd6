"""Read conductance of a device model from ngspice: the table G(state) of one device and the
:class:`~memcosim.devices.device.Device` it makes for models without a closed form.

:func:`conductance_table` reads one ``model`` device (a 1x1 crossbar) at ``v_read`` volts over its
state range (121 states, geometric spacing when the lower bound is > 0) in its own session, once
per (model, v_read, points, parameters) in a process: build tables before opening the session you
work in. :class:`TabulatedDevice` interpolates that table (log conductance against the state, or
its logarithm when the states are > 0). :func:`conductance_device` gives the device whose
conductance law works: the closed form where the model has one, else the table.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.cosim.engine import open_session
from memcosim.cosim.readout import read_cell
from memcosim.cosim.session import in_process_session
from memcosim.devices.catalog import get_device
from memcosim.devices.device import Device, VerilogADevice
from memcosim.devices.presets import ProgrammingPreset
from memcosim.devices.registry import get_model
from memcosim.errors import ConfigError, MemcosimError

POINTS = 121  # states per table

_KEYS: set = set()  # (model, v_read, points, parameters) of the tables read so far


@lru_cache(maxsize=None)
def _table(model: str, v_read: float, points: int, params: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    dev = get_model(model)
    lo, hi = dev.state_min, dev.state_max
    states = np.geomspace(lo, hi, points) if lo > 0 else np.linspace(lo, hi, points)
    xbar = build_crossbar(ArrayConfig(1, 1, DeviceConfig(model, dict(params)), states=lo), check=False)
    g = np.empty(points)
    with open_session(xbar.netlist) as s:
        for k, x in enumerate(states):
            s.set_states([x])
            g[k] = read_cell(s, xbar, 0, 0, v_read)
    _KEYS.add((model, v_read, points, params))
    return states, g


def _read_table(model: str, v_read: float, points: int,
                params: Mapping[str, float] | None) -> tuple[np.ndarray, np.ndarray]:
    key = (model, float(v_read), int(points), tuple(sorted((params or {}).items())))
    if key not in _KEYS and in_process_session() is not None:
        raise MemcosimError(f"the {model} read table needs ngspice to itself for a moment: build it (conductance "
                            "tables, crossbar layers) before opening a session (it is cached)")
    return _table(*key)


def conductance_table(model: str, v_read: float, points: int = POINTS,
                      params: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(states, read conductance in siemens) of one ``model`` device over its state range, from ngspice.

    Opens (and closes) its own session the first time (then cached): call it before opening the
    session you work in; with a session open and no cached table it raises MemcosimError. ConfigError
    when the conductance does not increase with the state.
    """
    s, g = _read_table(model, v_read, points, params)
    if np.any(np.diff(g) <= 0):
        raise ConfigError("model", f"{model}: read conductance is not increasing with the state; no inverse")
    return s.copy(), g.copy()


def states_for_conductance(model: str, target: np.ndarray | float, v_read: float,
                           params: dict[str, float] | None = None) -> np.ndarray:
    """States (model units) whose read conductance is ``target`` (siemens) by :meth:`TabulatedDevice.state_for`;
    ConfigError for a target outside the table's range or a conductance that does not increase with the state."""
    _, g = conductance_table(model, v_read, params=params)
    t = np.asarray(target, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < g[0] * (1 - 1e-9)) or np.any(t > g[-1] * (1 + 1e-9)):
        raise ConfigError("target", f"conductance outside the {model} range [{g[0]:.4g}, {g[-1]:.4g}] S")
    return TabulatedDevice(get_device(model, params), v_read).state_for(t)


class TabulatedDevice(Device):
    """A Verilog-A device whose read conductance at ``v_read`` volts is interpolated in its ngspice table.

    The conductance must be monotonic in the state (ConfigError otherwise). :meth:`state_for` clips
    targets to the table's range; bounds, ON side (declared, else from the table) and preset are the
    device's.
    """

    closed_form = False

    def __init__(self, device: VerilogADevice, v_read: float, points: int = POINTS):
        self.device = device
        self.name = device.name
        self.v_read_table = float(v_read)
        s, g = _read_table(device.name, v_read, points, device.overrides)
        if not (np.all(np.diff(g) > 0) or np.all(np.diff(g) < 0)):
            raise ConfigError("model", f"{device.name}: read conductance is not monotonic in the state")
        order = np.argsort(g)
        self.states, self.g = np.asarray(s)[order], np.asarray(g)[order]  # g increasing

    @property
    def bounds(self) -> tuple[float, float]:
        return self.device.bounds

    @property
    def on_at_max(self) -> bool:
        if self.device.on_at_xmax is not None:
            return self.device.on_at_xmax
        return bool(self.states[-1] > self.states[0])

    @property
    def preset(self) -> ProgrammingPreset:
        return self.device.preset

    def _x(self, s: np.ndarray) -> np.ndarray:
        return np.log(np.clip(s, self.states.min(), self.states.max())) if self.states.min() > 0 else s

    def _axis(self) -> tuple[np.ndarray, np.ndarray]:
        xs = self._x(self.states)
        return xs, np.argsort(xs)

    def conductance(self, states: ArrayLike) -> np.ndarray:
        s = np.asarray(states, dtype=float)
        xs, order = self._axis()
        return np.exp(np.interp(self._x(s), xs[order], np.log(self.g)[order]))

    def state_for(self, conductance: ArrayLike) -> np.ndarray:
        """States (model units) of read conductances (siemens, clipped to the table's range)."""
        xs, _ = self._axis()
        t = np.clip(np.asarray(conductance, dtype=float), self.g[0], self.g[-1])
        x = np.interp(np.log(t), np.log(self.g), xs)
        return np.exp(x) if self.states.min() > 0 else x


def conductance_device(model: str, overrides: Mapping[str, float] | None, v_read: float) -> Device:
    """The device of ``model`` whose read conductance is known: its closed form, or else its ngspice
    table at ``v_read`` volts (read now unless cached: before any other session is opened)."""
    device = get_device(model, overrides)
    if device.closed_form:
        return device
    if not isinstance(device, VerilogADevice):
        raise ConfigError("model", f"{model!r} has no read conductance law")
    return TabulatedDevice(device, v_read)
