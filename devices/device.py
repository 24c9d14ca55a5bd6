"""The device interface: what memcosim asks of a cell's device, whatever model it is.

A :class:`Device` is one device model with its parameter overrides. It answers: the read conductance
(siemens) of a state and the state for a read conductance, the state bounds and which bound is ON
(highest read conductance), and the model's programming preset (read voltage in volts, conductance
window in siemens, safe SET / RESET amplitudes in volts; :mod:`memcosim.devices.presets`).

Implementations: :class:`VerilogADevice` is a memristor model of ``verilog_a/`` (state bounds from its
``xmin`` / ``xmax``); the shipped models are subclasses (:mod:`memcosim.devices.conductance` holds the
ones with a closed-form read conductance, :mod:`memcosim.devices.catalog` the others and the lookup by
name, :func:`~memcosim.devices.catalog.get_device`). A model without a closed form gets its read
conductance from an ngspice table one layer up, where a session can be opened
(:class:`memcosim.cosim.device_table.TabulatedDevice`). :class:`Resistor` is the linear cell
(``model = "resistor"``): its state is its conductance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from memcosim.config.array import RESISTOR
from memcosim.devices.presets import ProgrammingPreset, get_preset
from memcosim.devices.registry import DeviceModel
from memcosim.errors import ConfigError


class Device(ABC):
    """One device model with its parameter overrides (states in the model's units, conductance in siemens)."""

    name: str
    closed_form: bool = True  # conductance() and state_for() need no simulator
    has_state: bool = True  # False for cells without a state node (resistors)

    @property
    @abstractmethod
    def bounds(self) -> tuple[float, float]:
        """(lowest, highest) state, in the model's state units."""

    @abstractmethod
    def conductance(self, states: ArrayLike) -> np.ndarray:
        """Read conductance (siemens) of devices in ``states`` (clipped to the bounds)."""

    @abstractmethod
    def state_for(self, conductance: ArrayLike) -> np.ndarray:
        """States whose read conductance is ``conductance`` (siemens)."""

    @property
    def on_at_max(self) -> bool:
        """True when the upper state bound is the ON state (highest read conductance)."""
        lo, hi = self.bounds
        g = self.conductance(np.array([lo, hi]))
        return bool(g[1] > g[0])

    @property
    def on_state(self) -> float:
        """The state bound of highest read conductance."""
        return self.bounds[1] if self.on_at_max else self.bounds[0]

    @property
    def off_state(self) -> float:
        """The state bound of lowest read conductance."""
        return self.bounds[0] if self.on_at_max else self.bounds[1]

    def conductance_range(self) -> tuple[float, float]:
        """(lowest, highest) read conductance in siemens over the state bounds."""
        g = self.conductance(np.array(self.bounds))
        return float(g.min()), float(g.max())

    @property
    def preset(self) -> ProgrammingPreset:
        """The model's programming preset; ConfigError naming the models that have one otherwise."""
        return get_preset(self.name)

    @property
    def v_read(self) -> float:
        """Read voltage (volts) of the preset."""
        return self.preset.v_read

    @property
    def window(self) -> tuple[float, float]:
        """(g_low, g_high): the preset's operating conductance range (siemens) for programming targets."""
        return self.preset.g_low, self.preset.g_high


class VerilogADevice(Device):
    """A memristor model of ``verilog_a/`` (or a ``.va`` file) with parameter overrides.

    Without a closed-form read conductance: :meth:`conductance` and :meth:`state_for` raise ConfigError
    (use :class:`memcosim.cosim.device_table.TabulatedDevice`), and the ON side is known only where the
    model declares it (``on_at_xmax``).
    """

    closed_form = False
    on_at_xmax: bool | None = None  # declared ON side (models without a closed form)
    # instance parameters that replace a state bound when > 0 (per-device bounds): name -> "xmin" / "xmax"
    bound_parameters: dict[str, str] = {}

    def __init__(self, model: DeviceModel, overrides: Mapping[str, float] | None = None):
        self.model = model
        self.name = model.name
        self.overrides = {k: float(v) for k, v in (overrides or {}).items()}
        self.parameters = {**model.parameters, **self.overrides}
        self.check_parameters()

    def check_parameters(self) -> None:
        """ConfigError naming ``device.params.<name>`` when the parameters contradict what they mean
        (:meth:`relations`: positive resistances and lengths, ordered bounds, ...), before a netlist
        is written: ngspice would only answer that the analysis aborted."""
        for names, holds, meaning in self.relations():
            if not holds:
                name = next((n for n in names if n in self.overrides), names[0])
                values = ", ".join(f"{n} = {self.parameters[n]:g}" for n in names)
                raise ConfigError(f"device.params.{name}", f"{meaning}; got {values}")

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        """What the parameters must satisfy: (parameters involved, whether it holds, the rule). Every
        model: ordered state bounds; each model adds its own (the shipped ones in their classes)."""
        p = self.parameters
        return [(("xmin", "xmax"), p["xmin"] < p["xmax"], "the state bounds need xmin < xmax")]

    def positive(self, *names: str, unit: str) -> list[tuple[tuple[str, ...], bool, str]]:
        """Relations saying each of ``names`` (in ``unit``) is > 0 (skipping parameters the model lacks)."""
        return [((n,), self.parameters[n] > 0, f"{n} must be > 0 {unit}")
                for n in names if n in self.parameters]

    @property
    def bounds(self) -> tuple[float, float]:
        return self.parameters["xmin"], self.parameters["xmax"]

    def nominal(self, names: Sequence[str]) -> dict[str, float]:
        """Nominal values of parameters ``names`` (model units); a bound parameter <= 0 stands for the
        state bound it replaces. ConfigError naming ``parameter_variation.spreads.<name>`` for an unknown one."""
        lo, hi = self.bounds
        out = {}
        for n in names:
            if n not in self.parameters:
                raise ConfigError(f"parameter_variation.spreads.{n}", f"{self.name} has no parameter {n!r}")
            v = float(self.parameters[n])
            bound = self.bound_parameters.get(n)
            if bound is not None and v <= 0:
                v = lo if bound == "xmin" else hi
            out[n] = v
        return out

    def clip(self, states: ArrayLike) -> np.ndarray:
        """``states`` as floats clipped to the bounds."""
        lo, hi = self.bounds
        return np.clip(np.asarray(states, dtype=float), lo, hi)

    def conductance(self, states: ArrayLike) -> np.ndarray:
        raise ConfigError("conductance", f"model {self.name!r} has no closed-form read conductance here; give states")

    def state_for(self, conductance: ArrayLike) -> np.ndarray:
        raise ConfigError("conductance", f"model {self.name!r} has no closed-form read conductance here; give states")

    @property
    def on_at_max(self) -> bool:
        if self.on_at_xmax is not None:
            return self.on_at_xmax
        if not self.closed_form:
            raise ConfigError("model", f"cannot tell the ON state of model {self.name!r}: it declares no ON side "
                              "and has no closed-form read conductance")
        return super().on_at_max

    def check_range(self, conductance: ArrayLike) -> np.ndarray:
        """``conductance`` as floats; ConfigError naming the first cell outside :meth:`conductance_range`."""
        g = np.asarray(conductance, dtype=float)
        lo, hi = self.conductance_range()
        bad = ~((g >= lo * (1 - 1e-12)) & (g <= hi * (1 + 1e-12)))
        if np.any(bad):
            idx = tuple(int(k) for k in np.argwhere(bad)[0])
            raise ConfigError("conductance", f"target {g[idx]:g} S of cell {idx} is outside the {self.name} "
                                             f"range [{lo:.6g}, {hi:.6g}] S")
        return g


class Resistor(Device):
    """A linear resistor cell: its state is its conductance (siemens), from 0 up, ON at the top."""

    name = RESISTOR
    has_state = False

    @property
    def bounds(self) -> tuple[float, float]:
        return 0.0, float("inf")

    @property
    def on_at_max(self) -> bool:
        return True

    def conductance(self, states: ArrayLike) -> np.ndarray:
        return np.asarray(states, dtype=float)

    def state_for(self, conductance: ArrayLike) -> np.ndarray:
        return np.asarray(conductance, dtype=float)

    @property
    def preset(self) -> ProgrammingPreset:
        raise ConfigError("model", "resistor cells have no programming preset: give the window and voltages")
