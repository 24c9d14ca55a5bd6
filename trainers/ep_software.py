"""Software equilibrium propagation on the same network (numpy): the baseline next to ngspice.

The network of :mod:`memcosim.circuits.ep_network` with ideal wires (and the amplifiers' 1-ohm-scale
output resistance and the DAC left out), solved by damped Newton on Kirchhoff's current law for a
batch of samples at once. Its operating point is the stationary point of

    E = sum_l c_l [sum_ij G_ij (r_i - n_j)^2 / 2] + sum_hidden c_l D(h) - c_last I . o,

(r_i a row voltage, n_j a neuron voltage, D the diode pair's co-content, I the nudge currents in
amperes, c_l = (B/A)^l the layer weights that the bidirectional amplifiers impose), so the EP
gradient of layer l is scaled by c_l / c_last (:func:`ep_gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memcosim.circuits.ep_network import EpNetworkConfig

K_OVER_Q = 8.617333262e-5  # V/K


@dataclass
class Equilibrium:
    """Solved node voltages of a batch: ``neurons[l]`` (batch x n_{l+1}, volts), outputs last."""

    neurons: list[np.ndarray]
    cell_volts: list[np.ndarray]  # per layer: batch x rows x columns, row minus neuron (volts)

    @property
    def outputs(self) -> np.ndarray:
        return self.neurons[-1]


class SoftwareNetwork:
    """Batched numpy solver of the EP network for given conductances (siemens)."""

    def __init__(self, config: EpNetworkConfig, temperature: float = 27.0):
        self.config = config
        self.vt = config.diode_n * K_OVER_Q * (temperature + 273.15)  # volts

    # -- network pieces -------------------------------------------------------------------
    def diode(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current (A) leaving a hidden node through its diode pair, and its derivative (S)."""
        c = self.config
        a = np.exp(np.minimum((h - c.diode_bias) / self.vt, 80.0))
        b = np.exp(np.minimum((-h - c.diode_bias) / self.vt, 80.0))
        return c.diode_is * (a - b), c.diode_is * (a + b) / self.vt

    def row_volts(self, l: int, x_volts: np.ndarray, neurons: list[np.ndarray]) -> np.ndarray:
        """Row voltages of layer ``l`` (batch x rows): +p, -p interleaved, p = inputs (or gain x h), bias."""
        c = self.config
        base = x_volts if l == 0 else c.gain * neurons[l - 1]
        p = np.concatenate([base, np.full((base.shape[0], 1), c.v_bias)], axis=1)
        r = np.empty((p.shape[0], 2 * p.shape[1]))
        r[:, 0::2], r[:, 1::2] = p, -p
        return r

    def solve(self, g: list[np.ndarray], x_volts: np.ndarray, nudge: np.ndarray | None = None,
              start: list[np.ndarray] | None = None, tol: float = 1e-13, max_iter: int = 100) -> Equilibrium:
        """Operating point for input volts ``x_volts`` (batch x n_0) and nudge currents (A, batch x n_L)."""
        c = self.config
        x_volts = np.atleast_2d(np.asarray(x_volts, dtype=float))
        B = x_volts.shape[0]
        sizes = c.sizes[1:]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        n = int(offsets[-1])
        W = [gl[0::2] - gl[1::2] for gl in g]  # signed weights (n_in + 1) x n_out
        S = [gl.sum(axis=0) for gl in g]  # column conductance sums
        T = [(gl[0::2] + gl[1::2])[:-1].sum(axis=1) for gl in g]  # per input neuron, bias excluded
        u = np.zeros((B, n)) if start is None else np.concatenate(start, axis=1).copy()
        I = np.zeros((B, sizes[-1])) if nudge is None else np.atleast_2d(nudge)
        L = len(sizes)
        A, Bk = c.gain, c.backward_gain

        def split(v: np.ndarray) -> list[np.ndarray]:
            return [v[:, offsets[k]:offsets[k + 1]] for k in range(L)]

        def kcl(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Current leaving every neuron (A) and its Jacobian (S)."""
            nz = split(v)
            res = np.zeros_like(v)
            jac = np.zeros((B, n, n))
            for l in range(L):
                sl = slice(offsets[l], offsets[l + 1])
                p = self.row_volts(l, x_volts, nz)[:, 0::2]
                fl = nz[l] * S[l] - p @ W[l]
                diag = np.broadcast_to(S[l], (B, sizes[l])).copy()
                if l > 0:  # the previous layer's neurons drive this layer's rows through gain A
                    jac[:, sl, offsets[l - 1]:offsets[l]] = -A * W[l][:-1].T
                if l < L - 1:  # hidden: diodes, and B x the current the amplifiers deliver forward
                    i_d, g_d = self.diode(nz[l])
                    fl += i_d + Bk * (A * nz[l] * T[l + 1] - nz[l + 1] @ W[l + 1][:-1].T)
                    diag += g_d + Bk * A * T[l + 1]
                    jac[:, sl, offsets[l + 1]:offsets[l + 2]] = -Bk * W[l + 1][:-1]
                else:
                    fl -= I
                res[:, sl] = fl
                idx = np.arange(offsets[l], offsets[l + 1])
                jac[:, idx, idx] = diag
            return res, jac

        for _ in range(max_iter):
            res, jac = kcl(u)
            step = np.linalg.solve(jac, res[..., None])[..., 0]
            # damp: no hidden node moves more than 2 thermal voltages per iteration (diodes)
            big = np.max(np.abs(step), axis=1, keepdims=True)
            scale = np.minimum(1.0, 2 * self.vt / np.maximum(big, 1e-300)) if L > 1 else 1.0
            u = u - scale * step
            if np.max(np.abs(step)) < tol:
                break
        nz = split(u)
        volts = [self.row_volts(l, x_volts, nz)[:, :, None] - nz[l][:, None, :] for l in range(L)]
        return Equilibrium(nz, volts)


def ep_gradient(free: list[np.ndarray], nudged: list[np.ndarray], beta: float,
                layer_weights: list[float] | None = None) -> list[np.ndarray]:
    """EP estimate of dL/dG (V^2/S) per cell, averaged over the batch axis when present.

    ``free`` / ``nudged``: voltage across every cell (volts) in the free and nudged phases; ``beta``
    (S): nudge current ``beta (t - o)``; ``layer_weights``: the energy weights ``c_l``
    (:meth:`EpNetworkConfig.energy_weights`). dL/dG = (c_l / c_last) [(dV_beta)^2 - (dV_0)^2] / (2 beta).
    """
    c = layer_weights or [1.0] * len(free)
    out = []
    for v0, vb, cl in zip(free, nudged, c):
        g = (vb * vb - v0 * v0) * (cl / (c[-1] * 2.0 * beta))
        out.append(g.mean(axis=0) if g.ndim == 3 else g)
    return out
