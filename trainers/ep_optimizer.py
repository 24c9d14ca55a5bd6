"""Conductance steps from EP gradients: plain SGD or Adam per cell, with a per-epoch learning-rate decay.

The EP trainer estimates ``dL/dG`` (V^2/S) for every cell; a step rule turns it into the conductance
change (siemens) the update mode then realizes. Adam (Kingma & Ba 2015) keeps two moment estimates per
cell in the digital periphery; it evens out the very different gradient scales of the layers, the
bias rows and the cells near the window edges, which plain SGD has to cover with one learning rate.
"""

from __future__ import annotations

import numpy as np

from memcosim.errors import ConfigError


class StepRule:
    """Plain SGD: ``dG = -scale * layer_lr[l] * decay**epoch * dL/dG`` siemens (``scale`` in S^2/V^2)."""

    name = "sgd"

    def __init__(self, scale: float, layer_lr: list[float], decay: float = 1.0):
        self.scale = float(scale)
        self.layer_lr = list(layer_lr)
        self.decay = float(decay)

    def factor(self, epoch: int) -> float:
        """The learning-rate multiplier of epoch ``epoch`` (counted from 0)."""
        return self.decay ** epoch

    def step(self, grad: list[np.ndarray], epoch: int) -> list[np.ndarray]:
        """Conductance change (siemens) per cell for the batch-mean gradient ``grad`` (V^2/S)."""
        f = self.scale * self.factor(epoch)
        return [-f * m * g for g, m in zip(grad, self.layer_lr)]

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        pass


class AdamRule(StepRule):
    """Adam: ``dG = -scale * layer_lr[l] * decay**epoch * m_hat / (sqrt(v_hat) + eps)`` siemens per cell.

    ``scale`` (siemens) is the largest step of one batch; ``m_hat`` / ``v_hat`` are the bias-corrected
    running means of the gradient and of its square (``beta1``, ``beta2``).
    """

    name = "adam"

    def __init__(self, scale: float, layer_lr: list[float], shapes: list[tuple[int, int]], decay: float = 1.0,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-12):
        super().__init__(scale, layer_lr, decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]
        self.t = 0

    def step(self, grad: list[np.ndarray], epoch: int) -> list[np.ndarray]:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        f = self.scale * self.factor(epoch)
        out = []
        for l, g in enumerate(grad):
            self.m[l] = b1 * self.m[l] + (1 - b1) * g
            self.v[l] = b2 * self.v[l] + (1 - b2) * g * g
            m_hat = self.m[l] / (1 - b1 ** self.t)
            v_hat = self.v[l] / (1 - b2 ** self.t)
            out.append(-f * self.layer_lr[l] * m_hat / (np.sqrt(v_hat) + self.eps))
        return out

    def state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {f"adam_m{l}": m.copy() for l, m in enumerate(self.m)}
        arrays.update({f"adam_v{l}": v.copy() for l, v in enumerate(self.v)})
        arrays["adam_t"] = np.array(self.t)
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        m, v = [], []
        for l, cur in enumerate(self.m):
            a, b = arrays.get(f"adam_m{l}"), arrays.get(f"adam_v{l}")
            if a is None or b is None or a.shape != cur.shape or b.shape != cur.shape:
                raise ConfigError("checkpoint", f"layer {l} Adam moments missing or of the wrong shape")
            m.append(np.array(a, dtype=float))
            v.append(np.array(b, dtype=float))
        if "adam_t" not in arrays:
            raise ConfigError("checkpoint", "the Adam step count is missing")
        self.m, self.v, self.t = m, v, int(arrays["adam_t"])


def make_rule(optimizer: str, lr: float, window: tuple[float, float], v_input: float, layer_lr: list[float],
              shapes: list[tuple[int, int]], decay: float = 1.0) -> StepRule:
    """The step rule ``optimizer`` (``sgd`` or ``adam``) for window (g_min, g_max) siemens and ``v_input`` volts."""
    w = window[1] - window[0]
    if optimizer == "adam":
        return AdamRule(lr * w, layer_lr, shapes, decay)
    return StepRule(lr * w * w / v_input ** 2, layer_lr, decay)
