"""Devices with a closed-form read conductance: their read current is linear in the voltage.

* ``linear_ion_drift``: R = Ron x + Roff (1 - x), x in [xmin, xmax] (dimensionless).
* ``vteam``: with u = (w - won) / (woff - won), R = Ron + (Roff - Ron) u (``iv = 0``) or
  R = Ron exp(ln(Roff / Ron) u) (``iv = 1``), w in nm.

Resistances in ohm, conductances in siemens. :meth:`state_for` raises ConfigError naming the first
target outside the model's conductance range.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from memcosim.devices.device import VerilogADevice


class LinearIonDrift(VerilogADevice):
    """HP linear ion drift (Strukov et al., Nature 453, 80, 2008): R = Ron x + Roff (1 - x)."""

    closed_form = True

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        p = self.parameters
        return (super().relations() + self.positive("Ron", "Roff", unit="ohm") + self.positive("D", unit="m")
                + self.positive("mu_v", unit="m^2/(V s)")
                + [(("Ron", "Roff"), p["Ron"] < p["Roff"],
                    "the ON resistance (x = 1) must be below the OFF resistance: Ron < Roff (ohm)"),
                   (("xmin",), p["xmin"] >= 0, "the state is a fraction of the film: xmin >= 0"),
                   (("xmax",), p["xmax"] <= 1, "the state is a fraction of the film: xmax <= 1")])

    def conductance(self, states: ArrayLike) -> np.ndarray:
        p = self.parameters
        x = self.clip(states)
        return 1.0 / (p["Ron"] * x + p["Roff"] * (1.0 - x))

    def state_for(self, conductance: ArrayLike) -> np.ndarray:
        p = self.parameters
        r = 1.0 / self.check_range(conductance)
        return self.clip((r - p["Roff"]) / (p["Ron"] - p["Roff"]))


class Vteam(VerilogADevice):
    """VTEAM (Kvatinsky et al., IEEE TCAS-II 62(8), 786, 2015): linear (``iv = 0``) or exponential
    (``iv = 1``) resistance in the normalized state u = (w - won) / (woff - won)."""

    closed_form = True

    def relations(self) -> list[tuple[tuple[str, ...], bool, str]]:
        p = self.parameters
        return super().relations() + self.positive("Ron", "Roff", unit="ohm") + [
            (("Ron", "Roff"), p["Ron"] < p["Roff"], "the ON resistance must be below the OFF resistance: Ron < Roff (ohm)"),
            (("won", "woff"), p["won"] < p["woff"], "the ON end of the state range must be below the OFF end: won < woff (nm)"),
            (("v_off",), p["v_off"] > 0, "the OFF (RESET) threshold is positive: v_off > 0 V"),
            (("v_on",), p["v_on"] < 0, "the ON (SET) threshold is negative: v_on < 0 V"),
        ]

    @property
    def exponential(self) -> bool:
        """True for the exponential I-V (``iv = 1``)."""
        return int(self.parameters.get("iv", 0)) == 1

    def conductance(self, states: ArrayLike) -> np.ndarray:
        p = self.parameters
        u = (self.clip(states) - p["won"]) / (p["woff"] - p["won"])
        if self.exponential:
            return 1.0 / (p["Ron"] * np.exp(np.log(p["Roff"] / p["Ron"]) * u))
        return 1.0 / (p["Ron"] + (p["Roff"] - p["Ron"]) * u)

    def state_for(self, conductance: ArrayLike) -> np.ndarray:
        p = self.parameters
        r = 1.0 / self.check_range(conductance)
        if self.exponential:
            u = np.log(r / p["Ron"]) / np.log(p["Roff"] / p["Ron"])
        else:
            u = (r - p["Ron"]) / (p["Roff"] - p["Ron"])
        return self.clip(p["won"] + u * (p["woff"] - p["won"]))
