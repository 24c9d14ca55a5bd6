"""The VTEAM equations in numpy/scipy: the reference ``verilog_a/vteam.va`` is checked against.

Kvatinsky, Ramadan, Friedman, Kolodny, "VTEAM: a general model for voltage-controlled memristors",
IEEE TCAS-II 62(8), 786 (2015), with the Biolek window (p = 1) and the linear I-V of the defaults. The
paper's equations act on the device voltage ``u = V(n, p) = -v`` (``v`` = V(p, n) in volts): above
``v_off`` the state ``w`` (nm) grows towards ``woff`` (OFF), below ``v_on`` it falls towards ``won`` (ON),
and between the thresholds it holds. Currents in amperes, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memcosim.devices.pulse_reference import bounded, integrate_pulse


@dataclass(frozen=True)
class VteamParameters:
    """The model's default parameters (lengths in nm)."""

    Ron: float = 10e3  # ohm at w = won
    Roff: float = 1e6  # ohm at w = woff
    won: float = 0.0  # nm
    woff: float = 3.0  # nm
    v_off: float = 0.5  # V, in V(n, p)
    v_on: float = -0.5  # V, in V(n, p)
    k_off: float = 1e8  # nm/s
    k_on: float = -1e8  # nm/s
    alpha_off: float = 3.0
    alpha_on: float = 3.0
    p_win: float = 1.0  # Biolek window exponent
    xmin: float = 0.0  # nm
    xmax: float = 3.0  # nm

    def but(self, **changes: float) -> "VteamParameters":
        """These parameters with ``changes``."""
        return replace(self, **changes)


NOMINAL = VteamParameters()


def current(v: float, w: float, p: VteamParameters = NOMINAL) -> float:
    """Current (A, p -> n) at ``v`` volts and state ``w`` (nm, clipped): ``v / (Ron + (Roff - Ron) u)``."""
    u = (min(max(w, p.xmin), p.xmax) - p.won) / (p.woff - p.won)
    return v / (p.Ron + (p.Roff - p.Ron) * u)


def rate(v: float, w: float, p: VteamParameters = NOMINAL) -> float:
    """dw/dt (nm/s) at V(p, n) = ``v`` volts and ``w`` (nm): the paper's rate times the Biolek window."""
    u_dev = -v
    if u_dev > p.v_off:
        r = p.k_off * (u_dev / p.v_off - 1) ** p.alpha_off
    elif u_dev < p.v_on:
        r = p.k_on * (u_dev / p.v_on - 1) ** p.alpha_on
    else:
        return 0.0
    x = (min(max(w, p.xmin), p.xmax) - p.won) / (p.woff - p.won)
    window = 1 - x ** (2 * p.p_win) if r > 0 else 1 - (x - 1) ** (2 * p.p_win)
    return bounded(r * max(window, 0.0), w, p.xmin, p.xmax)


def pulse(amplitude: float, width: float, w0: float, p: VteamParameters = NOMINAL, rise: float = 1e-9,
          fall: float = 1e-9) -> float:
    """State ``w`` (nm) after a trapezoidal pulse from ``w0``."""
    return float(integrate_pulse(lambda v, y: [rate(v, float(y[0]), p)], [w0], amplitude, width, rise, fall)[0])
