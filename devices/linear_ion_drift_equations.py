"""The HP linear ion drift equations in numpy/scipy: the reference ``verilog_a/linear_ion_drift.va`` is checked against.

Strukov, Snider, Stewart, Williams, "The missing memristor found", Nature 453, 80 (2008): the doped
fraction ``x`` = w/D of the film sets ``R = Ron x + Roff (1 - x)`` and drifts with the current,
``dx/dt = mu_v Ron / D^2 * i``, here with the defaults of the model (no window, no threshold).
``v`` is V(p, n) in volts (> 0 SETs: x grows), currents in amperes, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memcosim.devices.pulse_reference import bounded, integrate_pulse


@dataclass(frozen=True)
class LinearIonDriftParameters:
    """The model's default parameters."""

    Ron: float = 100.0  # ohm, x = 1
    Roff: float = 16e3  # ohm, x = 0
    D: float = 10e-9  # m, film thickness
    mu_v: float = 1e-14  # m^2/(V s), dopant mobility
    xmin: float = 0.0
    xmax: float = 1.0

    def but(self, **changes: float) -> "LinearIonDriftParameters":
        """These parameters with ``changes``."""
        return replace(self, **changes)


NOMINAL = LinearIonDriftParameters()


def current(v: float, x: float, p: LinearIonDriftParameters = NOMINAL) -> float:
    """Current (A, p -> n) at ``v`` volts and state ``x`` (clipped to the bounds)."""
    x = min(max(x, p.xmin), p.xmax)
    return v / (p.Ron * x + p.Roff * (1 - x))


def rate(v: float, x: float, p: LinearIonDriftParameters = NOMINAL) -> float:
    """dx/dt (1/s) at ``v`` volts and ``x``: ``mu_v Ron / D^2 * i``; zero beyond a bound."""
    return bounded(p.mu_v * p.Ron / p.D ** 2 * current(v, x, p), x, p.xmin, p.xmax)


def pulse(amplitude: float, width: float, x0: float, p: LinearIonDriftParameters = NOMINAL, rise: float = 1e-9,
          fall: float = 1e-9) -> float:
    """State ``x`` after a trapezoidal pulse from ``x0``."""
    return float(integrate_pulse(lambda v, y: [rate(v, float(y[0]), p)], [x0], amplitude, width, rise, fall)[0])
