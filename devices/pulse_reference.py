"""A device model's published equations integrated with scipy over one programming pulse.

The reference that the ngspice transients of the Verilog-A models are checked against (one module
of equations per model: ``memcosim.devices.<model>_equations``). A pulse is a trapezoid in V(p, n):
``rise`` seconds from 0 V to ``amplitude`` volts, ``width`` seconds at it, ``fall`` seconds back to
0 V, as :class:`memcosim.programming.pulses.PulseSpec` applies it. Each of the three pieces is one
``solve_ivp`` (Radau, stiff; LSODA if Radau stalls where a state reaches its bound and its rate stops)
between its corners, so the integrator never steps over a corner.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy.integrate import solve_ivp

Rhs = Callable[[float, np.ndarray], Sequence[float]]  # (volts, state vector) -> d(state)/dt per second


def trapezoid(amplitude: float, width: float, rise: float = 1e-9, fall: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Corner times (seconds from 0) and voltages (volts) of a trapezoidal pulse."""
    times = np.array([0.0, rise, rise + width, rise + width + fall])
    return times, np.array([0.0, amplitude, amplitude, 0.0])


def integrate_pulse(rhs: Rhs, y0: Sequence[float], amplitude: float, width: float, rise: float = 1e-9,
                    fall: float = 1e-9, rtol: float = 1e-9, atol: float | Sequence[float] = 1e-12) -> np.ndarray:
    """The state vector after a trapezoidal pulse (``rhs(v, y)`` the published rate equations at V(p, n) = v)."""
    times, volts = trapezoid(amplitude, width, rise, fall)
    y = np.asarray(y0, dtype=float)
    for t0, t1, v0, v1 in zip(times[:-1], times[1:], volts[:-1], volts[1:]):
        slope = (v1 - v0) / (t1 - t0)
        for method in ("Radau", "LSODA"):  # LSODA where Radau stalls on a rate that stops at a bound
            sol = solve_ivp(lambda t, s: rhs(v0 + slope * (t - t0), s), (t0, t1), y, method=method, rtol=rtol,
                            atol=atol, first_step=min(1e-13, (t1 - t0) / 100))
            if sol.success:
                break
        if not sol.success:
            raise RuntimeError(f"reference integration failed between {t0:g} and {t1:g} s: {sol.message}")
        y = sol.y[:, -1]
    return y


def bounded(rate: float, x: float, low: float, high: float) -> float:
    """``rate`` (state units per second), zero at or beyond a bound in its own direction."""
    if (rate > 0 and x >= high) or (rate < 0 and x <= low):
        return 0.0
    return rate
