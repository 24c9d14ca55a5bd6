"""The pulse-SGD update rule: which rows and physical columns of a layer a sample's SET and RESET slots select.

One home for the rule, shared by :class:`~memcosim.trainers.sgd.SGDTrainer` (one array per layer) and
:mod:`memcosim.nn.pulse` (tiled ``CircuitLinear`` layers). A layer holds signed weights on differential pairs
(plus device on physical column ``2j``, minus on ``2j + 1``). For a sample with layer input ``x`` (DAC units,
one entry per row) and output error ``d = dL/dy`` (one entry per output), the SGD step ``-lr x d^T`` raises the
weights where ``d < 0`` and lowers them where ``d > 0``. A raise is a SET pulse on the plus device and a RESET
pulse on the minus device; a lowering is the reverse. Both polarities of a sample share two slots (one SET,
one RESET) whose rows cross the selected columns in the half-select scheme (a rank-one coincidence):

* :func:`manhattan` (sign rule): rows with ``x > x_threshold`` cross the columns with
  ``|d| > d_threshold * max|d|``; every crossing moves by one device step. With ``fire < 1`` each selected
  column fires with probability ``fire`` (annealing).
* :func:`stochastic` (Gokmen & Vlasov 2016): ``bl`` slot pairs per sample; row ``i`` fires with probability
  ``x_i``, column ``j`` with ``min(1, |d_j| lr / (bl dw))`` (``dw``: the weight change of one coincidence);
  a cell moves where both fire, so its expected change is ``-lr x_i d_j``.

Each function returns the selections as :class:`Coincidence` s (row mask, SET column mask, RESET column mask),
one per slot pair; the caller turns them into slots of its arrays (or tiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Coincidence:
    """One SET slot and one RESET slot of a layer: the selected ``rows`` (one per layer input) and the physical
    columns of the SET slot (``set_columns``) and of the RESET slot (``reset_columns``), two per output."""

    rows: np.ndarray
    set_columns: np.ndarray
    reset_columns: np.ndarray


def pair_columns(up: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Physical column masks (SET slot, RESET slot) for the outputs whose weights go ``up`` / ``down``:
    up = SET the plus device and RESET the minus device; down = the reverse."""
    set_cols = np.zeros(2 * len(up), bool)
    reset_cols = np.zeros(2 * len(up), bool)
    set_cols[0::2], set_cols[1::2] = up, down
    reset_cols[0::2], reset_cols[1::2] = down, up
    return set_cols, reset_cols


def manhattan(x: np.ndarray, d: np.ndarray, x_threshold: float, d_threshold: float, fire: float = 1.0,
              rng: np.random.Generator | None = None) -> Coincidence | None:
    """The Manhattan coincidence of one sample (see the module text), or None when its error is all zero.
    ``fire < 1`` draws from ``rng`` (one draw per output)."""
    x, d = np.asarray(x, dtype=float), np.asarray(d, dtype=float)
    big = np.abs(d).max()
    if big == 0:
        return None
    rows = x > x_threshold
    cols = np.abs(d) > d_threshold * big
    if fire < 1.0:
        cols &= rng.random(cols.shape) < fire
    set_cols, reset_cols = pair_columns(cols & (d < 0), cols & (d > 0))
    return Coincidence(rows, set_cols, reset_cols)


def stochastic(pairs: Sequence[tuple[np.ndarray, np.ndarray]], lr: float, dw: float, bl: int,
               rng: np.random.Generator) -> list[list[Coincidence]]:
    """The stochastic coincidences of one sample over several layers: ``pairs`` = ``[(x, d)]`` per layer;
    returns ``bl`` lists, each with one :class:`Coincidence` per layer (draws: per slot pair, per layer, rows
    then columns)."""
    probs = [(np.clip(x, 0, 1), np.clip(np.abs(d) * lr / (bl * dw), 0, 1), np.asarray(d)) for x, d in pairs]
    out = []
    for _ in range(bl):
        per_layer = []
        for px, pd, d in probs:
            rows = rng.random(px.shape) < px
            cols = rng.random(pd.shape) < pd
            per_layer.append(Coincidence(rows, *pair_columns(cols & (d < 0), cols & (d > 0))))
        out.append(per_layer)
    return out
