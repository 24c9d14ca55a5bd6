"""The SkyWater SKY130 ReRAM cell's published equations in numpy/scipy: the reference ``verilog_a/sky130_reram.va``
is checked against.

SkyWater's model of ``sky130_fd_pr_reram__reram_cell`` (google/skywater-pdk-libs-sky130_fd_pr_reram,
``cells/reram_cell/sky130_fd_pr_reram__reram_cell.va``, v2.0.3), a Stanford/PKU-line HfO2 filament
model: the filament thickness ``Tf`` (nm, within [3.3, 4.9]; the gap is ``Tox - Tf``) grows by vacancy
generation and shrinks by recombination, both thermally activated and lowered by the field over the
gap; the filament temperature follows the Joule power through a thermal capacitance and time constant.
``v`` is V(TE, BE) = V(p, n) in volts (> 0 SETs), currents in amperes, times in seconds.

:func:`pulse` integrates the published equations, the temperature included (``thermal=True``), or with
the temperature at its steady state as the Verilog-A model takes it (``thermal=False``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from memcosim.devices.pulse_reference import bounded, integrate_pulse

Q = 1.602176634e-19  # C
K_B = 1.380649e-23  # J/K


@dataclass(frozen=True)
class Sky130ReramParameters:
    """SkyWater's parameter values (``...reram_cell.va.params.json``); lengths of the filament bounds in nm."""

    Tox: float = 5.0e-9  # m, oxide thickness
    Eact_generation: float = 1.501  # eV
    Eact_recombination: float = 1.500  # eV
    I_k1: float = 6.140e-5  # A
    Tfilament_ref: float = 4.7249e-9  # m
    V_ref: float = 0.430  # V
    velocity_k1: float = 150.0  # m/s
    gamma_k0: float = 16.5
    gamma_k1: float = -1.25  # per nm^3 of gap
    a0: float = 0.25e-9  # m, atomic hopping distance
    Temperature_0: float = 300.0  # K
    C_thermal: float = 3.1825e-16  # J/K
    tau_thermal: float = 0.23e-9  # s
    xmin: float = 3.3  # nm, Tfilament_min
    xmax: float = 4.9  # nm, Tfilament_max

    def but(self, **changes: float) -> "Sky130ReramParameters":
        """These parameters with ``changes``."""
        return replace(self, **changes)


NOMINAL = Sky130ReramParameters()


def current(v: float, tf: float, p: Sky130ReramParameters = NOMINAL) -> float:
    """Current (A, TE -> BE) at ``v`` volts and filament thickness ``tf`` (nm, clipped to the bounds)."""
    tf = min(max(tf, p.xmin), p.xmax)
    gap = p.Tox * 1e9 - tf
    return p.I_k1 * math.exp(-gap / ((p.Tox - p.Tfilament_ref) * 1e9)) * math.sinh(v / p.V_ref)


def steady_temperature(v: float, tf: float, p: Sky130ReramParameters = NOMINAL) -> float:
    """Filament temperature (K) at constant ``v``: ``Temperature_0 + |v I| tau_thermal / C_thermal``."""
    return p.Temperature_0 + abs(v * current(v, tf, p)) * p.tau_thermal / p.C_thermal


def rate(v: float, tf: float, temperature: float, p: Sky130ReramParameters = NOMINAL) -> float:
    """dTf/dt (nm/s) at ``v`` volts, thickness ``tf`` (nm) and ``temperature`` (K); zero beyond a bound."""
    x = min(max(tf, p.xmin), p.xmax)
    gamma = p.gamma_k0 + p.gamma_k1 * (p.Tox * 1e9 - x) ** 3
    kt = K_B * temperature / Q  # eV
    lowering = gamma * p.a0 / p.Tox * v  # eV
    r = p.velocity_k1 * 1e9 * (math.exp((lowering - p.Eact_generation) / kt)
                               - math.exp((-lowering - p.Eact_recombination) / kt))
    return bounded(r, tf, p.xmin, p.xmax)


def pulse(amplitude: float, width: float, tf0: float, p: Sky130ReramParameters = NOMINAL, rise: float = 1e-9,
          fall: float = 1e-9, thermal: bool = True) -> float:
    """Filament thickness (nm) after a trapezoidal pulse from ``tf0`` (the cell at ``Temperature_0`` before it)."""
    if thermal:
        def rhs(v: float, y: np.ndarray) -> list[float]:
            power = abs(v * current(v, float(y[0]), p))
            return [rate(v, float(y[0]), float(y[1]), p), power / p.C_thermal - (y[1] - p.Temperature_0) / p.tau_thermal]
        y = integrate_pulse(rhs, [tf0, p.Temperature_0], amplitude, width, rise, fall, atol=[1e-12, 1e-6])
    else:
        y = integrate_pulse(lambda v, y: [rate(v, float(y[0]), steady_temperature(v, float(y[0]), p), p)], [tf0],
                            amplitude, width, rise, fall)
    return float(y[0])
