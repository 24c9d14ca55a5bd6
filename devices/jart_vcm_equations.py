"""The ``jart_vcm`` equations in numpy/scipy: the reference ``verilog_a/jart_vcm.va`` is checked against.

``jart_vcm`` is memcosim's JART-style filament model (after Bengel, Hardtdegen, Menzel et al., JART VCM
v1b, IEEE TCAS-I 67(12), 4618, 2020, and Menzel et al. 2015; the published model is ``jart_v1b``,
:mod:`memcosim.devices.jart_v1b_equations`), with its own equations as ``verilog_a/README.md`` states
them: a two-ideality Schottky contact at T0 in series with the disc, the plug and ``R0``; the disc's
vacancy concentration ``N`` (1e26 m^-3) changes by Mott-Gurney ion hopping accelerated by Joule heating
and limited near the bounds by the JART factor. ``v`` is V(p, n) in volts (> 0 SETs: N grows);
currents are I(p -> n) in amperes, times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scipy.optimize import brentq

from memcosim.devices.pulse_reference import bounded, integrate_pulse

Q = 1.602176634e-19  # C
K_B = 1.380649e-23  # J/K


@dataclass(frozen=True)
class JartVcmParameters:
    """The model's default parameters (lengths in m)."""

    T0: float = 293.0  # K
    zvo: float = 2.0
    a: float = 0.25e-9  # m
    nu0: float = 2e13  # Hz
    dWa: float = 1.35  # eV
    lcell: float = 3e-9  # m
    Nplug: float = 20.0  # 1e26 m^-3
    un: float = 4e-6  # m^2/(V s)
    R0: float = 1400.0  # ohm
    Ast: float = 6.01e5  # A/(m^2 K^2)
    phiB0: float = 0.2311  # eV
    cphi: float = 0.0688  # eV per (1e26 m^-3)^(1/4)
    nf: float = 2.0
    nr: float = 8.0
    Rth_set: float = 5e5  # K/W
    Rth_reset: float = 4e6  # K/W
    pF: float = 10.0
    rfil: float = 45e-9  # m
    ldisc: float = 0.3e-9  # m
    xmin: float = 0.008  # 1e26 m^-3
    xmax: float = 20.0  # 1e26 m^-3

    def but(self, **changes: float) -> "JartVcmParameters":
        """These parameters with ``changes``."""
        return replace(self, **changes)


NOMINAL = JartVcmParameters()


def junction(v: float, n: float, p: JartVcmParameters = NOMINAL) -> tuple[float, float]:
    """Forward junction voltage u (V, V(n, p) side) and current I(p -> n) (A) at ``v`` volts and ``n``:
    ``u + Rs Is (exp(u/(nf Vt)) - exp(-u/(nr Vt))) = -v``."""
    n = min(max(n, p.xmin), p.xmax)
    vt = K_B * p.T0 / Q
    ld = min(p.ldisc, 0.99 * p.lcell)
    area = math.pi * p.rfil ** 2
    rs = (ld / (p.zvo * Q * n * 1e26 * p.un * area) + (p.lcell - ld) / (p.zvo * Q * p.Nplug * 1e26 * p.un * area)
          + p.R0)
    i_s = p.Ast * p.T0 ** 2 * area * math.exp(-(p.phiB0 - p.cphi * n ** 0.25) / vt)

    def ij(u: float) -> float:
        return i_s * (math.exp(u / (p.nf * vt)) - math.exp(-u / (p.nr * vt)))

    vj = -v
    u = 0.0 if vj == 0 else brentq(lambda u: u + rs * ij(u) - vj, min(0.0, vj), max(0.0, vj), xtol=1e-15, rtol=1e-14)
    return u, -ij(u)


def current(v: float, n: float, p: JartVcmParameters = NOMINAL) -> float:
    """Current (A, p -> n) at ``v`` volts and disc concentration ``n`` (1e26 m^-3, clipped to the bounds)."""
    return junction(v, n, p)[1]


def rate(v: float, n: float, p: JartVcmParameters = NOMINAL) -> float:
    """dN/dt (1e26 m^-3 per second) at ``v`` volts and ``n``; zero beyond a bound."""
    x = min(max(n, p.xmin), p.xmax)
    u, i = junction(v, x, p)
    ld = min(p.ldisc, 0.99 * p.lcell)
    v_cell = v - i * p.R0
    if v > 0:
        field, rth = -u / ld, p.Rth_set
    else:
        field, rth = v_cell / p.lcell, p.Rth_reset
    kt = K_B * (p.T0 + abs(i * v_cell) * rth) / Q  # eV
    s = math.sinh(p.zvo * p.a * field / (2 * kt))
    limit = 1 - (x / p.xmax) ** p.pF if s > 0 else 1 - (p.xmin / x) ** p.pF
    r = 0.5 * (x + p.Nplug) * p.a * p.nu0 / ld * max(limit, 0.0) * math.exp(-p.dWa / kt) * 2 * s
    return bounded(r, n, p.xmin, p.xmax)


def pulse(amplitude: float, width: float, n0: float, p: JartVcmParameters = NOMINAL, rise: float = 1e-9,
          fall: float = 1e-9) -> float:
    """Disc concentration N (1e26 m^-3) after a trapezoidal pulse from ``n0``."""
    return float(integrate_pulse(lambda v, y: [rate(v, float(y[0]), p)], [n0], amplitude, width, rise, fall,
                                 atol=1e-12 * p.xmax)[0])
