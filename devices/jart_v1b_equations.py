"""The published JART VCM v1b equations in numpy/scipy: the reference ``verilog_a/jart_v1b.va`` is checked against.

Bengel, Siemon, Cueppers, Hoffmann-Eifert, Hardtdegen, von Witzleben, Hellmich, Waser, Menzel,
"Variability-aware modeling of filamentary oxide-based bipolar resistive switching cells using SPICE
level compact models", IEEE TCAS-I 67(12), 4618 (2020), Eqs. (1)-(19) and Table I, with the parameters
of the authors' distributed Verilog-A (JART VCM v1b var). The cell is a Schottky contact (active
electrode AE) in series with the disc, the plug and a current-heated series resistance (ohmic
electrode OE); the filament temperature follows the power in the Schottky contact, disc and plug
through an effective thermal resistance; the disc's oxygen-vacancy concentration ``N`` (1e26 m^-3)
changes by ion hopping with a field-lowered barrier.

Polarity: ``v`` here is V(p, n) of the memcosim device, ``p`` the ohmic and ``n`` the active
electrode, so V(AE, OE) = -v: v > 0 SETs (N up), v < 0 RESETs. Currents are I(p -> n) in amperes.
The variability parameters are the disc bounds ``Ndiscmin`` / ``Ndiscmax`` (1e26 m^-3), the disc
length ``lnew`` (nm) and the filament radius ``rnew`` (m) of the present cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from memcosim.devices.retention import disc_relaxation

Q = 1.602176634e-19  # C
K_B = 1.380649e-23  # J/K
H = 6.62607015e-34  # J s
EPS0 = 8.8541878128e-12  # F/m
M_E = 9.10938e-31  # kg, electron rest mass
A_RICHARDSON = 6.01e5  # A/(m^2 K^2)
ZVO = 2.0  # oxygen-vacancy charge number
T0 = 293.0  # K, ambient temperature
SCAN = 400  # steps of the search for the largest-current operating point


@dataclass(frozen=True)
class JartV1bParameters:
    """Table I of the paper (authors' Verilog-A defaults); lengths of disc and cell in nm."""

    eps: float = 17.0  # static HfO2 permittivity (relative)
    epsphib: float = 5.5  # HfO2 permittivity of the image-force barrier lowering (relative)
    phibn0: float = 0.18  # V, nominal Schottky barrier height
    phin: float = 0.1  # V, Fermi level to conduction band edge in the oxide
    un: float = 4e-6  # m^2/(V s), electron mobility
    Ndiscmax: float = 20.0  # 1e26 m^-3
    Ndiscmin: float = 0.008  # 1e26 m^-3
    Nplug: float = 20.0  # 1e26 m^-3
    a: float = 0.25e-9  # m, ion hopping distance
    nyo: float = 2e13  # Hz, attempt frequency
    dWa: float = 1.35  # eV, activation energy
    Rth0: float = 15.72e6  # K/W, thermal resistance at the nominal radius
    rdet: float = 45e-9  # m, nominal filament radius
    rnew: float = 45e-9  # m, filament radius of this cycle
    lcell: float = 3.0  # nm, disc + plug length
    lnew: float = 0.4  # nm, disc length of this cycle
    Rtheff_scaling: float = 0.27  # RESET / SET thermal resistance ratio
    RTiOx: float = 650.0  # ohm, TiOx series resistance
    R0: float = 719.2437  # ohm, line resistance at T0
    Rthline: float = 90471.47  # K/W, thermal resistance of the lines
    alphaline: float = 3.92e-3  # 1/K, temperature coefficient of the lines
    kret: float = 1.0  # zero-bias disc/plug diffusion prefactor (memcosim's retention term, not in the paper)

    def but(self, **changes: float) -> "JartV1bParameters":
        """These parameters with ``changes``."""
        return replace(self, **changes)


@dataclass(frozen=True)
class OperatingPoint:
    """The electrical solution of one cell: current (A, p -> n), Schottky voltage (V, AE side), temperature (K)."""

    current: float
    v_schottky: float
    temperature: float
    r_disc: float  # ohm
    r_plug: float  # ohm


def area(p: JartV1bParameters) -> float:
    """Filament cross-section, m^2."""
    return math.pi * p.rnew ** 2


def schottky_current(vs: np.ndarray | float, temperature: np.ndarray | float, n: float,
                     p: JartV1bParameters) -> np.ndarray:
    """Current (A, AE -> OE) of the Schottky contact at junction voltage ``vs`` = V(AE) - V(disc) (V) and
    ``temperature`` (K): thermionic emission for vs >= 0 (Eq. 15), thermionic-field emission for vs < 0
    (Eqs. 14, 16-18), the barrier lowered by the image force for vs < phibn0 - phin (Eq. 19)."""
    vs = np.asarray(vs, dtype=float)
    temperature = np.asarray(temperature, dtype=float)
    kt = K_B * temperature
    nd = ZVO * n * 1e26
    psi = np.maximum(p.phibn0 - p.phin - vs, 0.0)
    phibn = np.maximum(p.phibn0 - (Q ** 3 * nd * psi / (8 * math.pi ** 2 * (p.epsphib * EPS0) ** 3)) ** 0.25, 0.0)
    a = area(p)
    w00 = Q * H / (4 * math.pi) * math.sqrt(nd / (M_E * p.eps * EPS0))
    w0 = w00 / np.tanh(w00 / kt)
    epsprime = w00 / (w00 / kt - np.tanh(w00 / kt))
    tfe = (-a * A_RICHARDSON * temperature / K_B
           * np.sqrt(math.pi * w00 * Q * (np.abs(vs) + phibn / np.cosh(w00 / kt) ** 2))
           * np.exp(-Q * phibn / w0) * np.expm1(Q * np.abs(vs) / epsprime))
    te = a * A_RICHARDSON * temperature ** 2 * np.exp(-Q * phibn / kt) * np.expm1(np.minimum(Q * vs / kt, 700.0))
    return np.where(vs < 0, tfe, te)


def resistances(n: float, p: JartV1bParameters) -> tuple[float, float]:
    """(disc, plug) resistances in ohm (Eq. 13)."""
    g = ZVO * Q * p.un * area(p) * 1e26
    return p.lnew * 1e-9 / (n * g), (p.lcell - p.lnew) * 1e-9 / (p.Nplug * g)


def series_resistance(current: float, p: JartV1bParameters) -> float:
    """Series resistance (ohm) of TiOx and the current-heated lines (Eq. 12)."""
    return p.RTiOx + p.R0 * (1 + p.R0 * p.alphaline * current ** 2 * p.Rthline)


def thermal_resistance(v: float, p: JartV1bParameters) -> float:
    """Effective thermal resistance (K/W): Rth0 (rdet/r)^2, scaled by Rtheff_scaling in RESET (v < 0)."""
    rth = p.Rth0 * (p.rdet / p.rnew) ** 2
    return rth * p.Rtheff_scaling if v < 0 else rth


def operating_point(v: float, n: float, p: JartV1bParameters, scan: int = SCAN) -> OperatingPoint:
    """The cell at V(p, n) = ``v`` volts and disc concentration ``n``: the current I with
    V(AE, OE) = V_s + I (R_disc + R_plug + R_series(I)), I = I_schottky(V_s, T) and
    T = T0 + R_th I (V_s + I (R_disc + R_plug)).

    In RESET polarity the image-force lowering (Eq. 19) gives up to three such currents; the one of
    largest magnitude is the branch that starts at 0 V and is the one taken (the first sign change of
    the residual in ``scan`` steps from the bracket's far end u / (R_disc + R_plug + RTiOx + R0)
    toward 0 A, refined by brentq)."""
    u = -v  # V(AE, OE)
    rd, rp = resistances(n, p)
    rth = thermal_resistance(v, p)
    if u == 0.0:
        return OperatingPoint(0.0, 0.0, T0, rd, rp)

    def parts(i):
        vs = u - i * (rd + rp + series_resistance(i, p))
        return vs, np.maximum(T0 + rth * i * (vs + i * (rd + rp)), T0)

    def residual(i):
        vs, temp = parts(i)
        return schottky_current(vs, temp, n, p) - i

    grid = np.linspace(u / (rd + rp + p.RTiOx + p.R0), 0.0, scan + 1)
    f = residual(grid)
    k = int(np.argmax(np.sign(f) != np.sign(f[0])))  # first sign change from the far end
    i = brentq(lambda c: float(residual(c)), min(grid[k], grid[k - 1]), max(grid[k], grid[k - 1]),
               xtol=1e-30, rtol=1e-14, maxiter=500)
    vs, temp = parts(i)
    return OperatingPoint(-i, float(vs), float(temp), rd, rp)


def read_current(v: float, n: float, p: JartV1bParameters = JartV1bParameters()) -> float:
    """Current (A, p -> n) at V(p, n) = ``v`` volts and disc concentration ``n`` (1e26 m^-3)."""
    return operating_point(v, n, p).current


def retention_rate(n: float, p: JartV1bParameters) -> float:
    """dN/dt (1e26 m^-3 per second) of the zero-bias disc/plug diffusion at the ambient T0 (``verilog_a/jart_v1b.va``)."""
    k = disc_relaxation("jart_v1b", {"kret": p.kret, "a": p.a, "nyo": p.nyo, "lnew": p.lnew, "lcell": p.lcell,
                                     "dWa": p.dWa}, T0)
    return float(k) * (p.Nplug - min(max(n, p.Ndiscmin), p.Ndiscmax))


def rate(v: float, n: float, p: JartV1bParameters) -> float:
    """dN/dt (1e26 m^-3 per second) at V(p, n) = ``v``: the published drift (Eqs. 1-11; zero beyond a bound
    in its direction) plus the zero-bias retention term :func:`retention_rate`."""
    return switching_rate(v, n, p) + retention_rate(n, p)


def switching_rate(v: float, n: float, p: JartV1bParameters) -> float:
    """The published dN/dt (1e26 m^-3 per second) at V(p, n) = ``v`` (Eqs. 1-11); zero beyond a bound in its direction."""
    u = -v
    if u == 0.0 or (n < p.Ndiscmin and u > 0) or (n > p.Ndiscmax and u < 0):
        return 0.0
    op = operating_point(v, max(n, 1e-3 * p.Ndiscmin), p)  # trial steps of the integrator may overshoot
    i = -op.current  # AE -> OE
    if u > 0:  # RESET
        field = (op.v_schottky + i * (op.r_disc + op.r_plug)) / (p.lcell * 1e-9)
        flim = 1 - (p.Ndiscmin / n) ** 10
    else:  # SET
        field = i * op.r_disc / (p.lnew * 1e-9)
        flim = 1 - (n / p.Ndiscmax) ** 10
    gamma = ZVO * field * p.a / (math.pi * p.dWa)
    root = math.sqrt(1 - gamma ** 2)
    kt = K_B * op.temperature / Q  # eV
    lo = p.dWa * (root - gamma * math.pi / 2 + gamma * math.asin(gamma))
    hi = p.dWa * (root + gamma * math.pi / 2 + gamma * math.asin(gamma))
    cvo = 0.5 * (p.Nplug + n)
    return -cvo * p.a * p.nyo * (math.exp(-lo / kt) - math.exp(-hi / kt)) * flim / (p.lnew * 1e-9)


def drive(v: float, n0: float, times: np.ndarray, p: JartV1bParameters = JartV1bParameters(),
          rtol: float = 1e-9) -> np.ndarray:
    """States N (1e26 m^-3) at ``times`` (seconds, ascending, > 0) under a constant V(p, n) = ``v`` volts
    from ``n0`` (scipy's Radau, relative tolerance ``rtol``)."""
    times = np.asarray(times, dtype=float)
    sol = solve_ivp(lambda t, y: [rate(v, float(y[0]), p)], (0.0, float(times[-1])), [float(n0)],
                    method="Radau", t_eval=times, rtol=rtol, atol=1e-12 * max(p.Ndiscmax, 1.0))
    if not sol.success:
        raise RuntimeError(f"JART v1b reference integration failed at {v} V from N = {n0}: {sol.message}")
    return sol.y[0]


def time_to_reach(v: float, n0: float, target: float, t_end: float,
                  p: JartV1bParameters = JartV1bParameters(), rtol: float = 1e-9) -> float:
    """Seconds until the state first reaches ``target`` under V(p, n) = ``v`` from ``n0`` (nan if not by ``t_end``)."""
    up = target > n0

    def crossed(t: float, y: np.ndarray) -> float:
        return float(y[0]) - target

    crossed.terminal = True
    crossed.direction = 1 if up else -1
    sol = solve_ivp(lambda t, y: [rate(v, float(y[0]), p)], (0.0, t_end), [float(n0)], method="Radau",
                    events=crossed, rtol=rtol, atol=1e-12 * max(p.Ndiscmax, 1.0))
    return float(sol.t_events[0][0]) if len(sol.t_events[0]) else float("nan")
