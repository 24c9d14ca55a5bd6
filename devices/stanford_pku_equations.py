"""The Stanford-PKU HfOx RRAM equations in numpy/scipy: the reference ``verilog_a/stanford_pku.va`` is checked against.

Yu, Guan, Wong, IEEE TED 58(9), 2011 and Jiang et al., "A compact model for metal-oxide resistive random
access memory with experiment verification", IEEE TED 63(5), 1884 (2016): the tunnelling gap ``g`` (nm)
between the filament tip and the electrode sets the current, and moves by field- and heat-assisted
vacancy hopping with a gap-dependent field enhancement and the original's field threshold ``F_min``.
``v`` is V(p, n) in volts (> 0 SETs: the gap shrinks), currents in amperes, times in seconds. The
parameters are memcosim's defaults (``verilog_a/README.md`` lists where they deviate from the papers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from memcosim.devices.pulse_reference import bounded, integrate_pulse

Q = 1.602176634e-19  # C
K_B = 1.380649e-23  # J/K


@dataclass(frozen=True)
class StanfordPkuParameters:
    """The model's parameters (gap lengths in nm)."""

    I0: float = 1e-4  # A
    g0: float = 0.25  # nm
    V0: float = 0.25  # V
    Vel0: float = 10.0  # m/s
    Ea: float = 1.0  # eV
    a0: float = 0.25  # nm
    tox: float = 5.0  # nm
    gamma0: float = 16.0
    beta: float = 0.8
    g1: float = 1.0  # nm
    F_min: float = 1.4e9  # V/m
    T0: float = 298.0  # K
    Rth: float = 2.1e3  # K/W
    xmin: float = 0.1  # nm
    xmax: float = 1.7  # nm

    def but(self, **changes: float) -> "StanfordPkuParameters":
        """These parameters with ``changes``."""
        return replace(self, **changes)


NOMINAL = StanfordPkuParameters()


def current(v: float, g: float, p: StanfordPkuParameters = NOMINAL) -> float:
    """Current (A, p -> n) at ``v`` volts and gap ``g`` (nm, clipped to the bounds): ``I0 exp(-g/g0) sinh(v/V0)``."""
    g = min(max(g, p.xmin), p.xmax)
    return p.I0 * math.exp(-g / p.g0) * math.sinh(v / p.V0)


def rate(v: float, g: float, p: StanfordPkuParameters = NOMINAL) -> float:
    """dg/dt (nm/s) at ``v`` volts and gap ``g`` (nm); zero below the field threshold and beyond a bound."""
    x = min(max(g, p.xmin), p.xmax)
    gamma = max(p.gamma0 - p.beta * (x / p.g1) ** 3, 0.0)
    if gamma * abs(v) / (p.tox * 1e-9) < p.F_min:
        return 0.0
    kt = K_B * (p.T0 + abs(v * current(v, x, p)) * p.Rth) / Q  # eV
    r = -p.Vel0 * 1e9 * math.exp(-p.Ea / kt) * math.sinh(gamma * p.a0 / p.tox * v / kt)
    return bounded(r, g, p.xmin, p.xmax)


def pulse(amplitude: float, width: float, g0: float, p: StanfordPkuParameters = NOMINAL, rise: float = 1e-9,
          fall: float = 1e-9) -> float:
    """Gap (nm) after a trapezoidal pulse from ``g0``."""
    return float(integrate_pulse(lambda v, y: [rate(v, float(y[0]), p)], [g0], amplitude, width, rise, fall)[0])
