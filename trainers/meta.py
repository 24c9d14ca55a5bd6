"""Few-shot meta-learning on chip: a Reptile initialization of the ``[sgd]`` crossbar network, adapted by pulses.

Three parts (settings: :class:`~memcosim.trainers.crossbar_config.MetaConfig`, network and pulses: ``[sgd]``):

1. **The twin.** :class:`CrossbarTwin` is the two-layer network of :class:`~memcosim.trainers.sgd.SGDTrainer`
   in torch (weights ``inputs + 1`` x ``outputs`` per layer with the bias row, hidden activation
   ``clip(h, 0, 1)``, weights bounded by ``w_max``, inputs on the DAC's levels) with the same update rule as
   the circuit: a Manhattan update adds one coincidence step per selected (row, column) and sample, the step
   up and down being the weight change of one coincidence *measured in the circuit* (``SGDTrainer.dw``).
2. **Meta-training** in the twin. The conventional baseline (``pretrained``) is the network trained with Adam
   and cross-entropy on the training classes with fixed labels. Reptile (Nichol et al. 2018, first order)
   starts from it with the output layer at 0 and meta-trains the hidden layer: for a task drawn from the
   training classes, ``updates`` Manhattan updates on its support set from ``theta`` (output layer at 0) give
   ``phi``; ``theta += eps (phi - theta)`` on the hidden layer, ``eps`` annealed from ``meta_lr`` to 0. Since
   a new task's labels are arbitrary, the adapted network learns its output layer on chip from 0; the control
   ``pretrained_zero_head`` (the baseline with its output layer at 0, no meta-training) separates what the
   zero output layer gives from what meta-training gives.
3. **Adaptation on chip**: Reptile's and the baseline's initialization are each written into the devices (ideal
   state write; the control is adapted in the twin only), then for every
   held-out task the devices start from it, take ``updates`` pulse updates (the trainer's Manhattan slots, one
   transient per update) on the support set and are read on the query set in ngspice before and after.

Meta-training checkpoints its state every few hundred iterations and the per-task results are saved after
every task, so an interrupted run resumes where it stopped (same seed, same tasks, same results).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from memcosim.errors import ConfigError, MemcosimError
from memcosim.fileio import atomic_write_bytes, atomic_write_text, save_png
from memcosim.trainers.config import RunConfig
from memcosim.trainers.crossbar_config import MetaConfig, SgdConfig
from memcosim.trainers.datasets import Dataset, load_dataset
from memcosim.trainers.sgd import SGDTrainer

CHECKPOINT_EVERY = 250  # meta-iterations between checkpoints of the initialization


@dataclass
class Task:
    """One few-shot task: its classes (label k = ``classes[k]``), support and query features and labels."""

    classes: list[int]
    x_support: np.ndarray
    y_support: np.ndarray
    x_query: np.ndarray
    y_query: np.ndarray


class TaskSampler:
    """Draws ``ways``-way tasks with ``shots`` support and ``queries`` query samples per class from a class pool."""

    def __init__(self, x: np.ndarray, y: np.ndarray, classes: list[int], ways: int, shots: int, queries: int):
        self.x, self.ways, self.shots, self.queries = x, ways, shots, queries
        self.index = {c: np.flatnonzero(y == c) for c in classes}
        for c, idx in self.index.items():
            if idx.size < shots + queries:
                raise ConfigError("meta.shots", f"class {c} has {idx.size} samples, fewer than shots + queries = "
                                  f"{shots + queries}")
        self.classes = list(classes)

    def sample(self, rng: np.random.Generator, ordered: bool = False) -> Task:
        """A task; ``ordered``: its classes in ascending order (fixed labels), else in a random order."""
        chosen = [int(c) for c in rng.choice(self.classes, self.ways, replace=False)]
        if ordered:
            chosen.sort()
        xs, ys, xq, yq = [], [], [], []
        for label, c in enumerate(chosen):
            pick = rng.choice(self.index[c], self.shots + self.queries, replace=False)
            xs.append(self.x[pick[:self.shots]])
            xq.append(self.x[pick[self.shots:]])
            ys += [label] * self.shots
            yq += [label] * self.queries
        return Task(chosen, np.vstack(xs), np.array(ys), np.vstack(xq), np.array(yq))


class CrossbarTwin:
    """The ``[sgd]`` network in torch: ``w0`` ((inputs + 1) x hidden), ``w1`` ((hidden + 1) x outputs), bounded
    by ``w_max``; inputs and hidden activations on the DAC's levels in [0, 1]; each layer's outputs rounded to
    its read resolution ``steps[k]`` (one ADC code, :attr:`CrossbarLayer.output_step`; 0 = exact)."""

    def __init__(self, w0: torch.Tensor, w1: torch.Tensor, s: SgdConfig, steps: tuple[float, float] = (0.0, 0.0)):
        self.w = [w0.detach().clone().double(), w1.detach().clone().double()]
        self.s, self.steps = s, tuple(steps)
        self.levels = float((1 << s.dac.bits) - 1)

    def copy(self) -> "CrossbarTwin":
        return CrossbarTwin(self.w[0], self.w[1], self.s, self.steps)

    def _adc(self, y: torch.Tensor, k: int) -> torch.Tensor:
        step = self.steps[k]
        return y if step <= 0 else y + (torch.round(y / step) * step - y).detach()

    def _dac(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.clamp(x, 0.0, 1.0)
        return x + (torch.round(x * self.levels) / self.levels - x).detach()  # straight-through rounding

    def forward(self, x: torch.Tensor, w: list[torch.Tensor] | None = None):
        """(inputs with bias, hidden pre-activation, hidden with bias, output scores) of a batch ``x``."""
        w = self.w if w is None else w
        ones = torch.ones(len(x), 1, dtype=torch.float64)
        xa = torch.cat([self._dac(x), ones], 1)
        h = self._adc(xa @ w[0], 0)
        aa = torch.cat([self._dac(h), ones], 1)
        return xa, h, aa, self._adc(aa @ w[1], 1)

    def scores(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.forward(torch.as_tensor(x, dtype=torch.float64))[3].numpy()

    @torch.no_grad()
    def manhattan(self, x: np.ndarray, y: np.ndarray, dw: tuple[float, float]) -> int:
        """One Manhattan update over the batch, as the circuit applies it (``dw``: weight change of one
        coincidence up, down); returns the number of coincidences (cell pulses / 2)."""
        s = self.s
        xa, h, aa, z = self.forward(torch.as_tensor(x, dtype=torch.float64))
        d_out = torch.softmax(z, 1)
        d_out[torch.arange(len(y)), torch.as_tensor(y)] -= 1.0
        keep = (d_out.abs().max(1).values >= s.min_error).double()[:, None]
        d_hid = (d_out @ self.w[1][:-1].T) * ((h > 0) & (h < 1))
        count = 0
        for k, inp, d in ((0, xa, d_hid), (1, aa, d_out)):
            big = d.abs().max(1, keepdim=True).values
            rows = (inp > s.x_threshold).double() * keep
            cols = (d.abs() > s.d_threshold * big) & (big > 0)
            step = (cols & (d < 0)).double() * dw[0] + (cols & (d > 0)).double() * dw[1]
            self.w[k] += rows.T @ step
            self.w[k].clamp_(-s.w_max, s.w_max)
            count += int((rows.T @ cols.double()).sum())
        return count


def initial_twin(s: SgdConfig, n_in: int, n_out: int, seed: int, steps: tuple[float, float] = (0.0, 0.0)) -> CrossbarTwin:
    """Weights uniform in +-init_scale sqrt(3 / fan_in) per layer, as the ``[sgd]`` layers start; ``steps``: the
    layers' read resolution (see :class:`CrossbarTwin`)."""
    rng = np.random.default_rng([seed, 7])
    w0 = rng.uniform(-1, 1, (n_in + 1, s.hidden)) * s.init_scale * np.sqrt(3 / (n_in + 1))
    w1 = rng.uniform(-1, 1, (s.hidden + 1, n_out)) * s.init_scale * np.sqrt(3 / (s.hidden + 1))
    return CrossbarTwin(torch.from_numpy(w0), torch.from_numpy(w1), s, steps)


def pretrain(twin: CrossbarTwin, sampler: TaskSampler, m: MetaConfig, rng: np.random.Generator) -> CrossbarTwin:
    """The conventional baseline: ``twin`` trained with Adam and cross-entropy on the training classes with fixed
    labels (tasks with their classes in ascending order), about ``pretrain_epochs`` passes over the samples."""
    net = twin.copy()
    w = [p.clone().requires_grad_(True) for p in net.w]
    opt = torch.optim.Adam(w, lr=m.pretrain_lr)
    per_task = m.ways * (m.shots + m.queries)
    samples = sum(idx.size for idx in sampler.index.values())
    for _ in range(max(1, m.pretrain_epochs * samples // per_task)):
        t = sampler.sample(rng, ordered=True)
        x = torch.as_tensor(np.vstack([t.x_support, t.x_query]))
        y = torch.as_tensor(np.concatenate([t.y_support, t.y_query]))
        loss = torch.nn.functional.cross_entropy(net.forward(x, w)[3], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for p in w:
                p.clamp_(-net.s.w_max, net.s.w_max)
    net.w = [p.detach() for p in w]
    return net


def zero_head(twin: CrossbarTwin) -> CrossbarTwin:
    """A copy of ``twin`` with the output layer's weights at 0 (every class equally likely before adaptation)."""
    net = twin.copy()
    net.w[1].zero_()
    return net


def reptile(twin: CrossbarTwin, sampler: TaskSampler, m: MetaConfig, dw: tuple[float, float], start: int,
            rng: np.random.Generator, checkpoint: Callable[[int, CrossbarTwin], None] | None = None,
            progress: bool = True, every: int = CHECKPOINT_EVERY) -> CrossbarTwin:
    """Reptile from iteration ``start`` to ``m.iterations`` on the hidden layer of ``twin`` (changed in place and
    returned), the output layer held at 0: each inner loop is ``m.updates`` Manhattan updates with the circuit's
    coincidence step ``dw`` from a zero output layer, as the chip adapts a new task. ``checkpoint(iteration,
    twin)`` is called every ``every`` iterations and at the end."""
    bar = _bar(m.iterations, "meta-training (Reptile, twin)", progress)
    bar.update(start)
    twin.w[1].zero_()
    for it in range(start, m.iterations):
        t = sampler.sample(rng)
        phi = twin.copy()
        for _ in range(m.updates):
            phi.manhattan(t.x_support, t.y_support, dw)
        twin.w[0] += m.meta_lr * (1.0 - it / m.iterations) * (phi.w[0] - twin.w[0])
        bar.update(1)
        if checkpoint is not None and ((it + 1) % every == 0 or it + 1 == m.iterations):
            checkpoint(it + 1, twin)
    bar.close()
    return twin


def accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(scores, axis=1) == y))


def adapt_on_chip(trainer: SGDTrainer, states: np.ndarray, task: Task, updates: int) -> tuple[float, float, int]:
    """Query accuracy before and after ``updates`` pulse updates on the support set (reads and pulses in
    ngspice), the devices starting at ``states``; and the cell pulses the updates took."""
    trainer.circuit.set_states(states)
    pulses = trainer.counters["cell_pulses"]
    before = accuracy(trainer.predict(task.x_query), task.y_query)
    for _ in range(updates):
        trainer.circuit.session.forget_solution()
        trainer.train_batch(task.x_support, task.y_support)
    after = accuracy(trainer.predict(task.x_query), task.y_query)
    return before, after, int(trainer.counters["cell_pulses"] - pulses)


def run_meta(config: RunConfig, out: str | Path, progress: bool = True, log: Callable[[str], None] = print) -> dict:
    """Meta-train, pretrain, and adapt both initializations on chip over the held-out tasks; writes
    ``meta_state.npz`` (resumable), ``tasks.json`` / ``tasks.csv`` (one row per task and initialization) and
    ``summary.json`` in ``out``; returns the summary. An interrupted run continues from these files."""
    m = config.meta or MetaConfig()
    config.meta = m
    if config.train.update != "pulse":
        raise ConfigError("train.update", "meta-learning adapts on chip with pulse updates: set update = 'pulse'")
    t = config.train
    data = load_dataset(t.dataset, t.test_fraction, t.seed, scale=t.scale)  # every class: tasks pick theirs
    missing = sorted(set(m.train_classes + m.test_classes) - set(range(data.n_classes)))
    if missing:
        raise ConfigError("meta.test_classes" if missing[0] in m.test_classes else "meta.train_classes",
                          f"dataset {data.name!r} has no class {missing[0]} (classes 0..{data.n_classes - 1})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_sampler = TaskSampler(data.x_train, data.y_train, m.train_classes, m.ways, m.shots, m.queries)
    x_all, y_all = np.vstack([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
    test_sampler = TaskSampler(x_all, y_all, m.test_classes, m.ways, m.shots, m.queries)
    tasks = [test_sampler.sample(np.random.default_rng([m.seed, 3, k])) for k in range(m.test_tasks)]
    first = tasks[0]
    support = Dataset("meta-support", first.x_support, first.y_support, first.x_query, first.y_query, m.ways)
    stamp = repr((config.train.dataset, config.train.test_fraction, config.train.seed, config.sgd, m))
    trainer = SGDTrainer(config, support)
    try:
        dw = trainer.dw
        log(f"coincidence step measured in the circuit: up {dw[0]:+.4g}, down {dw[1]:+.4g}")
        state_path = out / "meta_state.npz"
        steps = tuple(layer.output_step for layer in trainer.circuit.layers)
        base = initial_twin(config.sgd, data.n_features, m.ways, m.seed, steps)
        pretrained = pretrain(base, train_sampler, m, np.random.default_rng([m.seed, 2]))
        twin, start, rng = zero_head(pretrained), 0, np.random.default_rng([m.seed, 1])
        if state_path.is_file():
            twin, start, rng = _load_state(state_path, stamp, config.sgd, steps)
            log(f"resuming meta-training at iteration {start} from {state_path}")

        def save(it: int, net: CrossbarTwin) -> None:
            _save_state(state_path, stamp, it, net, rng)

        meta = reptile(twin, train_sampler, m, dw, start, rng, save, progress)
        inits = {"reptile": meta, "pretrained": pretrained}
        twin_only = {**inits, "pretrained_zero_head": zero_head(pretrained)}
        twin_after = {name: float(np.mean([_twin_adapted(net, t, m.updates, dw) for t in tasks]))
                      for name, net in twin_only.items()}
        states = {}
        for name, net in inits.items():
            for layer, w in zip(trainer.circuit.layers, net.w):
                layer.write_weights(w.numpy())
            states[name] = trainer.circuit.states
        rows_path = out / "tasks.json"
        rows = json.loads(rows_path.read_text()) if rows_path.is_file() else []
        done = {(r["task"], r["init"]) for r in rows}
        bar = _bar(len(tasks) * len(inits), "adapting on chip (ngspice)", progress)
        bar.update(len(done))
        for k, task in enumerate(tasks):
            for name, net in inits.items():
                if (k, name) in done:
                    continue
                before, after, pulses = adapt_on_chip(trainer, states[name], task, m.updates)
                rows.append({"task": k, "init": name, "classes": task.classes, "before": before, "after": after,
                             "twin_after": _twin_adapted(net, task, m.updates, dw), "cell_pulses": pulses})
                atomic_write_text(rows_path, json.dumps(rows, indent=1) + "\n")
                bar.update(1)
        bar.close()
    finally:
        trainer.close()
    summary = summarize(rows, m)
    summary["twin_after"] = twin_after
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    _write_csv(rows, out / "tasks.csv")
    save_meta_plot(summary, out / "meta_accuracy.png")
    return summary


def save_meta_plot(summary: dict, path: str | Path) -> Path:
    """Query accuracy (percent) before and after adaptation per initialization: on chip (ngspice), with the
    standard error over tasks, and the twin's prediction including the zero-output-layer control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in INITS if n in summary]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [100 * summary[n]["before"] for n in names], 0.4, label="before (ngspice)", color="0.7")
    ax.bar(x + 0.2, [100 * summary[n]["after"] for n in names], 0.4,
           yerr=[100 * summary[n]["after_stderr"] for n in names], capsize=4,
           label=f"after {summary['updates']} pulse updates (ngspice)")
    twin = summary.get("twin_after", {})
    control = [n for n in twin if n not in names]
    ax.scatter(x + 0.2, [100 * twin[n] for n in names if n in twin], marker="D", color="k", zorder=3,
               label="after, torch twin")
    ax.scatter(np.arange(len(names), len(names) + len(control)), [100 * twin[n] for n in control], marker="D",
               color="k", zorder=3)
    ax.set_xticks(np.arange(len(names) + len(control)), names + [f"{n}\n(twin only)" for n in control], fontsize=8)
    ax.axhline(100 / summary["ways"], color="0.5", ls=":", lw=1, label="chance")
    ax.set_ylabel("query accuracy (%)")
    ax.set_title(f"{summary['ways']}-way {summary['shots']}-shot, {summary['tasks']} held-out tasks")
    ax.set_ylim(0, max(60.0, 100 * max(twin.values(), default=0) + 10))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    fig.tight_layout()
    return save_png(fig, path)


INITS = ("reptile", "pretrained")  # adapted on chip; the control pretrained_zero_head runs in the twin only


def _twin_adapted(net: CrossbarTwin, task: Task, updates: int, dw: tuple[float, float]) -> float:
    """Query accuracy of the twin started at ``net`` after ``updates`` Manhattan updates on the support set."""
    t = net.copy()
    for _ in range(updates):
        t.manhattan(task.x_support, task.y_support, dw)
    return accuracy(t.scores(task.x_query), task.y_query)


def summarize(rows: list[dict], m: MetaConfig) -> dict:
    """Per initialization: mean query accuracy before and after adaptation on chip, the standard error over
    tasks, the twin's prediction and the pulses per task; the gain of Reptile over each other initialization
    (points, mean over tasks)."""
    summary: dict = {"tasks": len({r["task"] for r in rows}), "ways": m.ways, "shots": m.shots, "queries": m.queries,
                     "updates": m.updates}
    for name in INITS:
        rs = [r for r in rows if r["init"] == name]
        if not rs:
            continue
        after = np.array([r["after"] for r in rs])
        summary[name] = {"before": float(np.mean([r["before"] for r in rs])), "after": float(after.mean()),
                         "after_stderr": float(after.std(ddof=1) / np.sqrt(len(rs))) if len(rs) > 1 else 0.0,
                         "twin_after": float(np.mean([r["twin_after"] for r in rs])),
                         "cell_pulses_per_task": float(np.mean([r["cell_pulses"] for r in rs]))}
    for other in INITS[1:]:
        if "reptile" in summary and other in summary:
            summary[f"gain_over_{other}_points"] = 100 * (summary["reptile"]["after"] - summary[other]["after"])
    return summary


def _write_csv(rows: list[dict], path: Path) -> Path:
    lines = ["task,init,classes,before,after,twin_after,cell_pulses"]
    for r in rows:
        lines.append(f"{r['task']},{r['init']},{' '.join(map(str, r['classes']))},{r['before']:.4f},{r['after']:.4f},"
                     f"{r['twin_after']:.4f},{r['cell_pulses']}")
    return atomic_write_text(path, "\n".join(lines) + "\n")


def _save_state(path: Path, stamp: str, iteration: int, twin: CrossbarTwin, rng: np.random.Generator) -> None:
    buf = io.BytesIO()
    np.savez(buf, w0=twin.w[0].numpy(), w1=twin.w[1].numpy(),
             meta=np.array(json.dumps({"iteration": iteration, "rng": rng.bit_generator.state, "config": stamp})))
    atomic_write_bytes(path, buf.getvalue())


def _load_state(path: Path, stamp: str, s: SgdConfig, steps: tuple[float, float]) -> tuple[CrossbarTwin, int, np.random.Generator]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        w0, w1 = data["w0"], data["w1"]
    if meta["config"] != stamp:
        raise MemcosimError(f"meta: {path} was written for a different run configuration; use another --out")
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng"]
    return CrossbarTwin(torch.from_numpy(w0), torch.from_numpy(w1), s, steps), int(meta["iteration"]), rng


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
