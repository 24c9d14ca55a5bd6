"""Forward-only learning with reset-only updates (after Renaudineau et al., "Forward-only learning in memristor
arrays with month-scale stability"): two crossbar layers, inference-style reads only, single sub-1 V RESET pulses.

Both layers sit in one netlist/session (:class:`~memcosim.cosim.layer.CrossbarCircuit`), on
differential pairs initialised high (``mapping = "high"``: both devices near ``g_max``), so every
weight change is a conductance decrease: weight up = RESET of the - device, weight down = RESET of
the + device, one pulse per selected cell. Per layer the goodness of activations ``a = clip(h, 0, 1)``
is ``G = mean(a^2)`` over a group of units, and the local loss ``softplus(-(G - theta))`` (positive)
or ``softplus(G - theta)`` (negative) gives each unit's error ``dL/dh``; cells where an active input
row meets a unit with a large error get one RESET pulse: stochastically (row i with probability x_i,
column j with |dL/dh_j| / max |dL/dh|) or by thresholds (:class:`ForwardOnlyConfig`).

* ``ff`` (two passes): the label is written into ``n_classes`` extra input rows (repeated
  ``label_repeat`` times); a positive pass with the true label, a negative pass with a random wrong
  label (seeded) or, with ``negative = "hardest"``, the wrong label of highest summed goodness (every
  label read); the second layer reads the first's activations normalised to unit length (``normalize``).
  Prediction: the label whose passes give the largest goodness summed over both layers (one pass
  pair per class).
* ``competitive`` (one pass): no label in the input; the first layer's ``hidden`` units and the second
  layer's outputs are split into one group per class; the true class's group is a positive, the
  strongest wrong group a negative, both from the same single pass. Prediction: the group goodness
  summed over both layers.

With ``margin > 0`` a layer is updated for a sample only while its goodness margin (positive minus
negative pass; true minus strongest wrong group) is below ``margin``: correctly separated samples
cost no pulse, and learning settles instead of wearing the conductances down. For ``ff`` with
``gate = "total"`` the margin of the goodness summed over both layers gates both layers (with
``negative = "hardest"`` that is the prediction's own margin: a sample the network already classifies
with room to spare costs no slot).

Each pass's RESET pulses in both layers share one slot (the layers are separate arrays with their
own lines), and every slot of a batch runs in ONE transient; the energy of
every update is the session's, summed over every supply group of the circuit (programming drivers,
row DACs, TIAs, ...: ``-V I dt`` of each supply over the simulated transient), and,
every ``compare_every``-th update, compared with programming the same weight changes with SET/RESET
(up: SET the + device with the ``set`` pulse; down: RESET it), measured on the same states and then undone.
"""

from __future__ import annotations

import numpy as np

from memcosim.cosim.session import SessionOptions
from memcosim.errors import ConfigError
from memcosim.trainers.base import Trainer
from memcosim.trainers.config import RunConfig
from memcosim.cosim.layer import CrossbarCircuit, Slot, SlotTiming
from memcosim.trainers.crossbar_config import ForwardOnlyConfig, layer_configs
from memcosim.trainers.datasets import DatasetLike, dataset_for
from memcosim.trainers.sgd import CrossbarTrainerMixin, add_energy, check_sizes, energy_counters, softmax


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class ForwardOnlyTrainer(CrossbarTrainerMixin, Trainer):
    """Forward-Forward (``ff``) or single-pass competitive training with reset-only pulses (or ``ideal`` decreases)."""

    table = "forward_only"

    def __init__(self, config: RunConfig, dataset: DatasetLike | None = None, options: SessionOptions | None = None):
        dataset = dataset_for(config, dataset)
        super().__init__(config, dataset)
        s = config.forward_only or ForwardOnlyConfig()
        config.forward_only = s
        n_in, n_cls = check_sizes("forward_only", s.inputs, s.n_classes, dataset, "n_classes")
        self.s, self.n_classes = s, n_cls
        if s.rule == "competitive" and s.hidden % n_cls:
            raise ConfigError("forward_only.hidden", f"the competitive rule splits the hidden units into one group "
                              f"per class: {s.hidden} is not a multiple of {n_cls} classes")
        rows0 = n_in + (n_cls * s.label_repeat if s.rule == "ff" else 0) + 1
        out1 = s.hidden if s.rule == "ff" else n_cls * s.units_per_class
        layers = layer_configs(s, rows0, out1, config.train.seed, s.reset, {}, {}, mapping="high",
                               init_spread=s.init_spread)
        self.timing = SlotTiming(s.slot_width, s.reset.rise, s.gap, widths={k: s.reset_of(k).width for k in range(2)})
        self.circuit = CrossbarCircuit(layers, options, title=f"memcosim forward-only {s.rule}")
        self.counters = {"reset_pulses": 0, "updates": 0, "transients": 0, "energy": 0.0,
                         "compared_pulses": 0, "compared_energy_reset_only": 0.0, "compared_energy_set_reset": 0.0,
                         "conductance_increases": 0, **energy_counters(self.circuit)}
        self.step = self._measure_step() if config.train.update == "ideal" else None

    # -- ideal mode: the conductance decrease of one RESET pulse, measured once -----------------
    def _measure_step(self) -> float:
        """Relative conductance decrease of one RESET pulse on cell (0, 0) of layer 0 (states restored)."""
        layer = self.circuit.layers[0]
        saved = self.circuit.states
        rows = np.zeros(layer.config.inputs, bool)
        cols = np.zeros(layer.config.columns, bool)
        rows[0], cols[0] = True, True
        g0 = layer.conductances()[0, 0]
        try:
            self.circuit.pulse_slots([Slot(self.s.reset_of(0).amplitude, {0: (rows, cols)})], self.timing)
            g1 = layer.conductances()[0, 0]
        finally:
            self.circuit.set_states(saved)
        if not g1 < g0:
            key = "forward_only.layer_reset[0].amplitude" if self.s.layer_reset else "forward_only.reset.amplitude"
            raise ConfigError(key, f"a {self.s.reset_of(0).amplitude} V RESET pulse did not lower "
                              f"the conductance ({g0:.4g} -> {g1:.4g} S): lower it or widen the pulse")
        return float(1.0 - g1 / g0)

    # -- forward ---------------------------------------------------------------------------------
    def embed(self, x: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """The first layer's inputs for features ``x``: ``x``, the label one-hot (``label_scale``, repeated
        ``label_repeat`` times; not for the ``competitive`` rule) and a bias column of ones."""
        ones = np.ones((len(x), 1))
        if self.s.rule == "competitive":
            return np.hstack([x, ones])
        lab = np.zeros((len(x), self.n_classes))
        lab[np.arange(len(x)), labels] = self.s.label_scale
        return np.hstack([x, np.tile(lab, self.s.label_repeat), ones])

    def _passes(self, x: np.ndarray, labels: np.ndarray | None):
        """Layer inputs and activations of a batch: (x0, h0, x1, h1) with bias columns in x0, x1."""
        x0 = self.embed(np.atleast_2d(x), labels)
        h0 = self.circuit.layers[0].forward(x0).outputs
        a0 = np.clip(h0, 0.0, 1.0)
        if self.s.rule == "ff" and self.s.normalize:
            a0 = a0 / np.maximum(np.linalg.norm(a0, axis=1, keepdims=True), 1e-6)
        x1 = np.hstack([a0, np.ones((len(a0), 1))])
        h1 = self.circuit.layers[1].forward(x1).outputs
        return x0, h0, x1, h1

    def pass_inputs(self, x: np.ndarray, labels: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """The inputs each layer reads in one inference of ``x`` (``[(x0, x1)]`` per pass, bias columns
        included): one pass for ``competitive``, one pass per class label for ``ff`` (its prediction).
        Runs the reads of layer 0 (ngspice) to get layer 1's inputs."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.s.rule == "competitive":
            x0, _, x1, _ = self._passes(x, None)
            return [(x0, x1)]
        return [self._passes(x, np.full(len(x), c))[0::2] for c in range(self.n_classes)]

    def _group_goodness(self, h: np.ndarray, groups: int) -> np.ndarray:
        a = np.clip(h, 0.0, 1.0)
        return np.mean((a * a).reshape(len(a), groups, -1), axis=2)

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.s.rule == "competitive":
            _, h0, _, h1 = self._passes(x, None)
            return self._group_goodness(h0, self.n_classes) + self._group_goodness(h1, self.n_classes)
        scores = np.empty((len(x), self.n_classes))
        for c in range(self.n_classes):
            _, h0, _, h1 = self._passes(x, np.full(len(x), c))
            scores[:, c] = self._group_goodness(h0, 1)[:, 0] + self._group_goodness(h1, 1)[:, 0]
        return scores

    def loss(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cross-entropy of the goodness scores scaled by 1/theta (a monitoring figure)."""
        p = softmax(np.atleast_2d(scores) / self.s.theta)
        return -np.log(np.maximum(p[np.arange(len(y)), np.asarray(y, dtype=int)], 1e-300))

    # -- training --------------------------------------------------------------------------------
    def _unit_error(self, h: np.ndarray, group: np.ndarray, positive: bool) -> tuple[np.ndarray, float]:
        """dL/dh of the units in ``group`` (zeros elsewhere) and the logistic factor of the goodness loss."""
        a = np.clip(h, 0.0, 1.0)
        n = int(group.sum())
        g = float(np.sum(a[group] ** 2) / n)
        factor = _sigmoid(-(g - self.s.theta)) if positive else _sigmoid(g - self.s.theta)
        d = np.zeros_like(h)
        sign = -1.0 if positive else 1.0
        d[group] = sign * factor * 2.0 * a[group] / n * ((h[group] > 0) & (h[group] < 1))
        if positive and self.s.revive > 0:  # silent units of a positive group: pushed up as if at activation `revive`
            silent = group & (h <= 0)
            d[silent] = -factor * 2.0 * self.s.revive / n
        return d, factor

    def _selection(self, x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows (active inputs), and for the RESET slot the physical columns: weight up -> the - device,
        down -> the + device; plus the signed direction per output (for the SET/RESET comparison)."""
        big = np.abs(d).max()
        if big == 0:
            rows, cols = np.zeros(len(x), bool), np.zeros(len(d), bool)
        elif self.s.selection == "stochastic":  # row i fires with probability x_i, column j with |d_j| / max|d|
            rows = self.rng.random(len(x)) < np.clip(x, 0.0, 1.0)
            cols = self.rng.random(len(d)) < np.abs(d) / big
        else:
            rows = x > self.s.x_threshold
            cols = np.abs(d) > self.s.d_threshold * big
        up, down = cols & (d < 0), cols & (d > 0)
        reset_cols = np.zeros(2 * len(d), bool)
        reset_cols[0::2], reset_cols[1::2] = down, up
        return rows, reset_cols, np.where(up, 1, np.where(down, -1, 0))

    def updates_for(self, x0, h0, x1, h1, label: int):
        """[(pass, layer, rows, reset columns, direction)] of one sample (pass 0 positive, 1 negative for ``ff``)."""
        s = self.s
        out = []
        if s.rule == "ff":
            good = [self._group_goodness(h, 1)[:, 0] for h in (h0, h1)]  # [layer][pass]
            gaps = [g[0] - g[1] for g in good]
            if s.gate == "total":  # the prediction's margin decides for both layers
                gaps = [sum(gaps)] * 2
            for xk, hk, k, positive in ((x0[0], h0[0], 0, True), (x1[0], h1[0], 1, True),
                                        (x0[1], h0[1], 0, False), (x1[1], h1[1], 1, False)):
                d, factor = self._unit_error(hk, np.ones(len(hk), bool), positive)
                if self._gate(factor, gaps[k]):
                    out.append((0 if positive else 1, k, *self._selection(xk, d)))
            return out
        groups0 = np.repeat(np.arange(self.n_classes), s.hidden // self.n_classes)
        groups1 = np.repeat(np.arange(self.n_classes), s.units_per_class)
        for xk, hk, k, grp in ((x0[0], h0[0], 0, groups0), (x1[0], h1[0], 1, groups1)):
            gg = self._group_goodness(hk[None, :], self.n_classes)[0]
            rival = int(np.argmax(np.where(np.arange(self.n_classes) == label, -np.inf, gg)))
            d_pos, f_pos = self._unit_error(hk, grp == label, True)
            d_neg, f_neg = self._unit_error(hk, grp == rival, False)
            gap = gg[label] - gg[rival]
            d = (d_pos if self._gate(f_pos, gap) else 0) + (d_neg if self._gate(f_neg, gap) else 0)
            if np.any(d):
                out.append((0, k, *self._selection(xk, d)))
        return out

    def _gate(self, factor: float, gap: float) -> bool:
        """Whether a layer is updated: goodness margin ``gap`` below ``margin`` (or, with ``margin = 0``,
        the logistic factor of the goodness loss above ``min_error``)."""
        if self.s.margin > 0:
            return bool(gap < self.s.margin)
        return bool(factor > self.s.min_error)

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        y = np.asarray(y, dtype=int)
        s = self.s
        updates = []
        scores = np.empty((len(x), self.n_classes))
        for b in range(len(x)):
            if s.rule == "competitive":
                x0, h0, x1, h1 = self._passes(x[b:b + 1], None)
                scores[b] = (self._group_goodness(h0, self.n_classes) + self._group_goodness(h1, self.n_classes))[0]
                updates += [(b, *u) for u in self.updates_for(x0, h0, x1, h1, int(y[b]))]
                continue
            if s.negative == "hardest":  # every label read (one batch of n_classes reads); negative = best wrong
                passes = self._passes(np.repeat(x[b:b + 1], self.n_classes, axis=0), np.arange(self.n_classes))
                scores[b] = self._group_goodness(passes[1], 1)[:, 0] + self._group_goodness(passes[3], 1)[:, 0]
                wrong = int(np.argmax(np.where(np.arange(self.n_classes) == y[b], -np.inf, scores[b])))
                x0, h0, x1, h1 = (a[[y[b], wrong]] for a in passes)
            else:  # a random wrong label (seeded), embedded in the same batch of two reads
                wrong = int(self.rng.choice([c for c in range(self.n_classes) if c != y[b]]))
                x0, h0, x1, h1 = self._passes(np.repeat(x[b:b + 1], 2, axis=0), np.array([y[b], wrong]))
                g = self._group_goodness(h0, 1)[:, 0] + self._group_goodness(h1, 1)[:, 0]
                scores[b] = -np.inf
                scores[b, y[b]], scores[b, wrong] = g[0], g[1]
            updates += [(b, *u) for u in self.updates_for(x0, h0, x1, h1, int(y[b]))]
        self._apply(updates)
        return float(np.sum(self.loss(np.where(np.isfinite(scores), scores, -1e3), y))), \
            int(np.sum(np.argmax(scores, axis=1) == y))

    @staticmethod
    def slot_groups(updates) -> list[list]:
        """Updates grouped by (sample, pass), in order: each group's layers share one slot."""
        groups: dict[tuple[int, int], list] = {}
        for b, p, k, rows, cols, direction in updates:
            groups.setdefault((b, p), []).append((k, rows, cols, direction))
        return list(groups.values())

    def _apply(self, updates) -> None:
        if not updates:
            return
        self.counters["updates"] += 1
        before = [layer.conductances() for layer in self.circuit.layers]
        if self.config.train.update == "ideal":
            for _, _, k, rows, cols, _ in updates:
                layer = self.circuit.layers[k]
                g = layer.conductances()
                mask = rows[:, None] & cols[None, :]
                g[mask] = np.maximum(g[mask] * (1.0 - self.step), layer.config.device.g_min)
                layer.write_conductances(g)
                self.counters["reset_pulses"] += int(mask.sum())
        else:
            groups = self.slot_groups(updates)
            slots = [self.slot("reset", {k: (rows, cols) for k, rows, cols, _ in group}) for group in groups]
            compare = self.s.energy_compare and self.counters["updates"] % self.s.compare_every == 1 % self.s.compare_every
            saved = self.circuit.states if compare else None
            r = self.circuit.pulse_slots(slots, self.timing)
            self.counters["reset_pulses"] += r.cell_pulses
            add_energy(self.counters, r)
            self.counters["transients"] += 1
            if compare:
                self._compare(groups, saved, r.energy, r.cell_pulses)
        for layer, g in zip(self.circuit.layers, before):
            self.counters["conductance_increases"] += int(np.sum(layer.conductances() > g * (1 + 1e-9)))

    def slot(self, kind: str, select: dict) -> Slot:
        """A slot of ``kind`` (``reset`` or ``set``) pulses on the ``select`` masks, each layer at its own amplitude."""
        pulse = self.s.reset_of if kind == "reset" else self.s.set_of
        return Slot(pulse(0).amplitude, select, amplitudes={k: pulse(k).amplitude for k in select})

    def _compare(self, groups, saved: np.ndarray, reset_energy: float, pulses: int) -> None:
        """Energy (all supply groups) of the same weight changes by SET/RESET programming of the + devices, then undo."""
        after = self.circuit.states
        slots = []
        for group in groups:
            set_sel, reset_sel = {}, {}
            for k, rows, _, direction in group:
                n = len(direction)
                set_cols, reset_cols = np.zeros(2 * n, bool), np.zeros(2 * n, bool)
                set_cols[0::2], reset_cols[0::2] = direction > 0, direction < 0
                set_sel[k], reset_sel[k] = (rows, set_cols), (rows, reset_cols)
            slots += [self.slot("set", set_sel), self.slot("reset", reset_sel)]
        self.circuit.set_states(saved)
        r = self.circuit.pulse_slots(slots, self.timing)
        self.circuit.set_states(after)
        self.counters["compared_pulses"] += pulses
        self.counters["compared_energy_reset_only"] += reset_energy
        self.counters["compared_energy_set_reset"] += r.energy
