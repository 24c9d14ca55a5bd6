"""Settings of the variation of a memristor's model parameters: which instance parameters vary, how
much from device to device (``d2d``) and from cycle to cycle (``c2c``), and how the cycle-to-cycle
walk moves (see :mod:`memcosim.devices.variation` for what these settings do). Not the spread of
the cells' starting values (a float ``variation`` of :class:`~memcosim.config.array.ArrayConfig`, a
crossbar layer or a deployment), which moves no model parameter."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from memcosim import fields as f
from memcosim.errors import ConfigError


@dataclass
class ParameterSpread:
    """Relative spread of one instance parameter: ``d2d`` sigma of the fixed offset, ``c2c`` sigma per step."""

    d2d: float = 0.0
    c2c: float = 0.0

    def __post_init__(self) -> None:
        self.d2d = f.number("parameter_variation.d2d", self.d2d, low=0.0, high=0.5)
        self.c2c = f.number("parameter_variation.c2c", self.c2c, low=0.0, high=0.5)


def jart_spreads() -> dict[str, ParameterSpread]:
    """Default spreads of the ``jart_vcm`` filament radius, disc length and concentration bounds."""
    return {
        "rfil": ParameterSpread(d2d=0.02, c2c=0.004),
        "ldisc": ParameterSpread(d2d=0.01, c2c=0.002),
        "nmin": ParameterSpread(d2d=0.05, c2c=0.01),
        "nmax": ParameterSpread(d2d=0.02, c2c=0.004),
    }


def jart_v1b_spreads() -> dict[str, ParameterSpread]:
    """Default spreads of the ``jart_v1b`` variability parameters (Bengel et al., IEEE TCAS-I 67(12), 2020):
    the disc concentration bounds, the disc length and the filament radius."""
    return {
        "Ndiscmin": ParameterSpread(d2d=0.05, c2c=0.01),
        "Ndiscmax": ParameterSpread(d2d=0.02, c2c=0.004),
        "lnew": ParameterSpread(d2d=0.01, c2c=0.002),
        "rnew": ParameterSpread(d2d=0.02, c2c=0.004),
    }


DEFAULT_SPREADS = {"jart_vcm": jart_spreads, "jart_v1b": jart_v1b_spreads}


def default_spreads(model: str) -> dict[str, ParameterSpread]:
    """The default spreads of ``model``'s variability parameters; ConfigError naming the models that have them."""
    try:
        return DEFAULT_SPREADS[model]()
    except (KeyError, TypeError):
        raise ConfigError("parameter_variation.spreads", f"{model!r} has no default spreads (models with them: "
                          f"{', '.join(sorted(DEFAULT_SPREADS))}): give parameter_variation.spreads") from None


@dataclass
class ParameterVariationConfig:
    """Which instance parameters of the model vary and how much (``spreads``: parameter name ->
    :class:`ParameterSpread`; None: the model's defaults, :func:`default_spreads`, filled in by
    :meth:`for_model`); the cycle-to-cycle walk reverts by ``reversion`` per step and steps every
    ``interval`` s of pulse time; drawn with ``seed``; ``enabled`` = False: no variation."""

    spreads: dict[str, ParameterSpread] | None = None
    reversion: float = 0.1
    interval: float = 10e-9
    seed: int = 0
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.spreads is None:
            spreads = None
        elif not isinstance(self.spreads, dict):
            raise ConfigError("parameter_variation.spreads",
                              f"must be a table of parameter -> spread, got {self.spreads!r}")
        else:
            spreads = {}
        for name, value in (self.spreads or {}).items():
            if not isinstance(value, ParameterSpread):
                raise ConfigError(f"parameter_variation.spreads.{name}",
                                  f"must be a table with d2d and c2c, got {value!r}")
            spreads[str(name)] = value
        self.spreads = spreads
        self.reversion = f.number("parameter_variation.reversion", self.reversion, low=0.0, high=1.0, low_open=True)
        self.interval = f.number("parameter_variation.interval", self.interval, low=0.0, low_open=True, unit="s")
        self.seed = f.integer("parameter_variation.seed", self.seed, 0)
        self.enabled = f.boolean("parameter_variation.enabled", self.enabled)

    def for_model(self, model: str) -> "ParameterVariationConfig":
        """This configuration with ``spreads`` filled in from ``model``'s defaults when it is None."""
        if self.spreads is not None:
            return self
        return dataclasses.replace(self, spreads=default_spreads(model))

    @classmethod
    def off(cls) -> "ParameterVariationConfig":
        """No variation at all (noise-free devices)."""
        return cls(spreads={}, enabled=False)
