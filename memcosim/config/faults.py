"""Fault settings of an array: how often each fault occurs (a rate per site) and the seed of the draw.

What each fault does and how a rate becomes a map of faulty sites is :mod:`memcosim.circuits.faults`.
"""

from __future__ import annotations

from dataclasses import dataclass

from memcosim import fields as f
from memcosim.errors import ConfigError

FAULT_KINDS = ("stuck", "open_row", "open_column", "short_row", "short_column", "dead_dac", "dead_adc", "drift")


@dataclass
class FaultConfig:
    """How often each fault occurs (probability per site, 0..1) and the seed of the draw.

    ``stuck_on`` + ``stuck_off`` <= 1 (fractions of cells); ``open_row`` / ``open_column``:
    fractions of wire segments; ``short_row`` / ``short_column``: fractions of bridge sites between
    neighbouring lines; ``dead_dac`` / ``dead_adc``: fractions of row / column channels; ``drift``:
    fraction of devices that drift, ``drift_tau`` seconds (> 0), ``drift_sigma`` lognormal spread of
    tau, ``drift_toward`` the rest state as a fraction of the state range above OFF (0 = OFF).
    ``r_open`` / ``r_short`` ohms; ``g_on`` / ``g_off`` siemens for stuck resistor cells (0 = the
    largest / smallest conductance of the array).
    """

    stuck_on: float = 0.0
    stuck_off: float = 0.0
    open_row: float = 0.0
    open_column: float = 0.0
    short_row: float = 0.0
    short_column: float = 0.0
    dead_dac: float = 0.0
    dead_adc: float = 0.0
    drift: float = 0.0
    drift_tau: float = 1e4
    drift_sigma: float = 0.0
    drift_toward: float = 0.0
    r_open: float = 1e12
    r_short: float = 1.0
    g_on: float = 0.0
    g_off: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("stuck_on", "stuck_off", "open_row", "open_column", "short_row", "short_column",
                     "dead_dac", "dead_adc", "drift", "drift_toward"):
            setattr(self, name, f.number(f"faults.{name}", getattr(self, name), low=0.0, high=1.0))
        if self.stuck_on + self.stuck_off > 1.0:
            raise ConfigError("faults.stuck_off", f"stuck_on + stuck_off must be <= 1, got "
                              f"{self.stuck_on} + {self.stuck_off}")
        self.drift_tau = f.number("faults.drift_tau", self.drift_tau, low=0.0, low_open=True, unit="s")
        self.drift_sigma = f.number("faults.drift_sigma", self.drift_sigma, low=0.0)
        self.r_open = f.number("faults.r_open", self.r_open, low=0.0, low_open=True, unit="ohm")
        self.r_short = f.number("faults.r_short", self.r_short, low=0.0, low_open=True, unit="ohm")
        self.g_on = f.number("faults.g_on", self.g_on, low=0.0, unit="S")
        self.g_off = f.number("faults.g_off", self.g_off, low=0.0, unit="S")
        self.seed = f.integer("faults.seed", self.seed, 0)

    @property
    def any(self) -> bool:
        """True when any fault has a non-zero rate."""
        return any(getattr(self, k) > 0 for k in ("stuck_on", "stuck_off", "open_row", "open_column", "short_row",
                                                  "short_column", "dead_dac", "dead_adc", "drift"))
