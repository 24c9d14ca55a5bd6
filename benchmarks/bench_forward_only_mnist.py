"""Forward-only learning at the paper's scale: MNIST digits 0-3 at 14x14, two arrays of >= 8,064 cells.

Compares the ngspice runs (``memcosim train configs/forward_only_mnist_ff.toml`` and
``configs/forward_only_mnist_competitive.toml``, their ``history.csv`` in ``docs/forward_only_mnist/<rule>/``, and
variants of a run file in ``<rule>_<what>/``, e.g. ``competitive_10us``: the same run file with 10 us pulses; a
``run.toml`` beside a ``history.csv`` is the run file that run used, for its cell and digit counts)
with the backprop reference of the same architecture (``inputs + bias -> hidden clip(0, 1) -> 4 classes``,
hidden as in the run files) trained in software (numpy floats, plain per-sample SGD, weights clipped to
+-w_max: :func:`memcosim.trainers.backprop_baseline.backprop_baseline`) on the same split:

* ``same training digits``: the run files' ``train_limit`` training digits, tested on their ``test_limit``
  test digits (what the ngspice runs saw);
* ``whole training split``: all 1,600 training digits of classes 0-3, the same test digits.

Part ``steps`` (``MEMCOSIM_BENCH_FOM_PARTS=steps``, a minute per variant, ngspice): the relative conductance decrease
of one RESET slot in the competitive run file's circuit, both layers in the slot, each at its own pulse, for the
variants of ``MEMCOSIM_BENCH_FOM_VARIANTS`` (see :func:`_variants`: per-layer pulses, half-select scheme, window top):
layer 0 on the rows of the first training digit's pixels above 0.25, layer 1 on every other row, every third
physical column (median, smallest and largest decrease of the selected cells, the medians in the first and the last
third of the selected rows, the largest of the others).

Part ``stepmap`` (``MEMCOSIM_BENCH_FOM_PARTS=stepmap``, ngspice): the per-cell step of the run file's pulses, one
slot per training digit with rows drawn as the trainer draws them; written to ``docs/forward_only_mnist/step_map.csv``.

Part ``twin`` (``MEMCOSIM_BENCH_FOM_PARTS=twin``, seconds): the numpy twin the hyperparameters were chosen in: the
trainer's own rule code (``ForwardOnlyTrainer`` with ``ideal`` updates) on arrays replaced by ideal linear reads with
the run file's DAC and ADC quantization, each RESET pulse lowering a conductance by a fraction: ``MEMCOSIM_BENCH_FOM_STEP``
one number for every cell, two (per layer), or ``map``: each cell's own step from ``step_map.csv`` (a fit
``log step = a_row + b_column`` to the measured cells: the position-dependent step of the real lines); no state
dependence of the step. Test accuracy and RESET slots per epoch for the run files' settings and other training-set
sizes (``MEMCOSIM_BENCH_FOM_TWIN_RUNS``, ``DIGITSxEPOCHS``, 0x0 = the run file's; ``MEMCOSIM_BENCH_FOM_TWIN_RULES``).

Part ``fftwin`` (``MEMCOSIM_BENCH_FOM_PARTS=fftwin``, ~2 min): the FF rule's settings in the same twin, several
seeds, next to backprop on the same digits (:func:`ff_twin_rows`).

Part ``ffeval`` (``MEMCOSIM_BENCH_FOM_PARTS=ffeval``, ngspice, ~3 s per test digit under load): a trained FF
checkpoint read on more test digits (:func:`ff_eval_rows`).

Backprop runs ``MEMCOSIM_BENCH_FOM_SEEDS`` seeds (default 3; mean and standard deviation of the final test
accuracy) for ``MEMCOSIM_BENCH_FOM_EPOCHS`` epochs (default 20). Writes ``forward_only_mnist.json`` (results/)
and ``docs/forward_only_mnist/summary.csv`` + ``summary.png`` (test accuracy per epoch of each ngspice run
next to the backprop references). Seconds: the backprop part takes ~1 min; the ngspice runs are not rerun here.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from benchmarks.common import report

PARTS = os.environ.get("MEMCOSIM_BENCH_FOM_PARTS", "accuracy").split(",")
WIDTHS = [float(w) for w in os.environ.get("MEMCOSIM_BENCH_FOM_WIDTHS", "1e-7,2e-6,1e-5").split(",")]
STEP = os.environ.get("MEMCOSIM_BENCH_FOM_STEP", "0.03")  # fractions (one, or per layer) or "map"
TWIN_RUNS = [tuple(int(v) for v in r.split("x")) for r in
             os.environ.get("MEMCOSIM_BENCH_FOM_TWIN_RUNS", "0x0,200x2,1600x1").split(",")]
TWIN_RULES = os.environ.get("MEMCOSIM_BENCH_FOM_TWIN_RULES", ",".join(("ff", "competitive"))).split(",")
SEEDS = int(os.environ.get("MEMCOSIM_BENCH_FOM_SEEDS", "3"))
EPOCHS = int(os.environ.get("MEMCOSIM_BENCH_FOM_EPOCHS", "20"))
ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DOCS = ROOT / "docs" / "forward_only_mnist"
RULES = ("ff", "competitive")


def _histories(rule: str) -> dict[str, list[dict]]:
    """Per-epoch rows of each ngspice run of ``rule`` kept in ``docs/forward_only_mnist/<rule>*/history.csv``
    (folder name -> rows; the run file's own run in ``<rule>/``, variants in ``<rule>_<what>/``)."""
    runs = {}
    for path in sorted(DOCS.glob(f"{rule}*/history.csv")):
        if path.parent.name != rule and not path.parent.name.startswith(f"{rule}_"):
            continue
        with path.open() as fh:
            runs[path.parent.name] = [{k: float(v) for k, v in row.items() if v not in ("", None)}
                                      for row in csv.DictReader(fh)]
    return runs


def _backprop(dataset, hidden: int) -> list[float]:
    """Final test accuracy of backprop over the seeds."""
    from memcosim.trainers.backprop_baseline import backprop_baseline

    return [backprop_baseline(dataset, hidden, epochs=EPOCHS, seed=s)[-1]["test_acc"] for s in range(SEEDS)]


def _variants() -> list[tuple[str, dict]]:
    """Circuit variants to measure: ``MEMCOSIM_BENCH_FOM_VARIANTS``, ``;``-separated, each ``run`` (the run file as
    it is) or ``,``-separated changes to it: ``A0/W0`` then ``A1/W1`` (RESET volts/seconds of the first and the second
    layer), ``V/3`` or ``V/2`` (half-select scheme), ``gmax=S`` (the window's top, siemens). Default: ``run``."""
    text = os.environ.get("MEMCOSIM_BENCH_FOM_VARIANTS", "")
    out = []
    for item in [v.strip() for v in text.split(";") if v.strip()] or ["run"]:
        change: dict = {"pulses": []}
        for token in [t.strip() for t in item.split(",")] if item != "run" else []:
            if token in ("V/2", "V/3"):
                change["scheme"] = token
            elif token.startswith("gmax="):
                change["g_max"] = float(token[5:])
            else:
                a, w = token.split("/")
                change["pulses"].append((float(a), float(w)))
        out.append(("run file" if item == "run" else item, change))
    return out


STEPS_RULE = os.environ.get("MEMCOSIM_BENCH_FOM_STEPS_RULE", "competitive")  # whose run file the steps part measures


def _step_trainer(change: dict):
    """The ``STEPS_RULE`` run file's trainer (``MEMCOSIM_BENCH_FOM_STEPS_RULE``: ``competitive``, the default, or
    ``ff``) with the ``change`` of :func:`_variants` (empty: the run file's)."""
    from memcosim.config.pulse import PulseConfig
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    cfg = load_run_config(CONFIGS / f"forward_only_mnist_{STEPS_RULE}.toml")
    s = cfg.forward_only
    if change.get("pulses"):
        s.layer_reset = [PulseConfig(a, w, s.reset.rise) for a, w in change["pulses"]]
        s.layer_set = [PulseConfig(s.set.amplitude, w, s.reset.rise) for _, w in change["pulses"]]
    s.scheme = change.get("scheme", s.scheme)
    s.device.g_max = change.get("g_max", s.device.g_max)
    s.__post_init__()
    cfg.train.progress = False
    return ForwardOnlyTrainer(cfg), s


def _slot_drop(tr, select: dict) -> tuple[list[np.ndarray], float]:
    """Relative decrease ``1 - G_after / G_before`` of every cell of each layer after ONE slot on ``select``
    (layer -> (rows, columns)), each layer at its own pulse; device states restored. Also the wall seconds."""
    import time

    saved = tr.circuit.states
    g0 = [layer.conductances() for layer in tr.circuit.layers]
    t = time.perf_counter()
    tr.circuit.pulse_slots([tr.slot("reset", select)], tr.timing)
    seconds = time.perf_counter() - t
    drops = [1.0 - layer.conductances() / g for layer, g in zip(tr.circuit.layers, g0)]
    tr.circuit.set_states(saved)
    return drops, seconds


def step_rows() -> list[dict]:
    """Relative conductance decrease of one RESET slot per layer and pulse variant (``STEPS_RULE`` run file's circuit):
    both layers in one slot, each with its own pulse; layer 0: the first training digit's rows above 0.25, layer 1:
    every other row; every third physical column. Median, spread and the medians in the first and last third of the
    selected rows (position along the column lines)."""
    rows = []
    for name, change in _variants():
        tr, s = _step_trainer(change)
        with tr:
            x0 = tr.embed(tr.dataset.x_train[:1], tr.dataset.y_train[:1])[0]  # ff: with the true label's rows
            select = {}
            for k, layer in enumerate(tr.circuit.layers):
                c = layer.config
                cols = np.zeros(c.columns, bool)
                cols[::3] = True
                select[k] = (x0 > 0.25 if k == 0 else np.arange(c.inputs) % 2 == 0, cols)
            drops, seconds = _slot_drop(tr, select)
            for k, layer in enumerate(tr.circuit.layers):
                c, (r_sel, c_sel), drop = layer.config, select[k], drops[k]
                sel = r_sel[:, None] & c_sel[None, :]
                idx = np.flatnonzero(r_sel)
                thirds = np.array_split(idx, 3)
                p = s.reset_of(k)
                rows.append({"variant": name, "layer": k, "g_max S": c.device.g_max, "scheme": c.scheme,
                             "amplitude V": p.amplitude, "width s": p.width,
                             "rows x columns": f"{c.inputs}x{c.columns}", "selected": int(sel.sum()),
                             "median %": round(100 * float(np.median(drop[sel])), 3),
                             "min %": round(100 * float(drop[sel].min()), 3),
                             "max %": round(100 * float(drop[sel].max()), 3),
                             "first third %": round(100 * float(np.median(drop[thirds[0]][:, c_sel])), 3),
                             "last third %": round(100 * float(np.median(drop[thirds[-1]][:, c_sel])), 3),
                             "others max %": round(100 * float(drop[~sel].max()), 4), "transient s": round(seconds, 1)})
    report("forward_only_mnist_steps", rows, notes="one RESET slot, both layers at once, "
           "0.25 ohm wire segments, stanford_pku pairs initialised at g_max; decrease = 1 - G_after / G_before")
    return rows


MAP = DOCS / "step_map.csv"


def step_map_rows() -> list[dict]:
    """The per-cell RESET step of the competitive run file's pulses, for the twin (part ``stepmap``): one slot per
    training digit (``MEMCOSIM_BENCH_FOM_MAP_DIGITS``, default 4), rows chosen as the trainer does (row i with
    probability x_i, seed 0) and every other physical column (even columns, then odd); the decrease of every selected
    cell goes to ``docs/forward_only_mnist/step_map.csv`` (layer, row, column, decrease)."""
    from memcosim.fileio import atomic_write_text

    digits = int(os.environ.get("MEMCOSIM_BENCH_FOM_MAP_DIGITS", "4"))
    rng = np.random.default_rng(0)
    out, rows = ["layer,row,column,decrease"], []
    tr, s = _step_trainer({})
    with tr:
        for n in range(digits):
            [(x0, x1)] = tr.pass_inputs(tr.dataset.x_train[n:n + 1])
            x0 = x0[0]
            select = {}
            for k, layer in enumerate(tr.circuit.layers):
                c = layer.config
                x = x0 if k == 0 else x1[0]
                cols = np.arange(c.columns) % 2 == n % 2
                select[k] = (rng.random(c.inputs) < np.clip(x, 0.0, 1.0), cols)
            drops, seconds = _slot_drop(tr, select)
            for k in range(2):
                r_sel, c_sel = select[k]
                for i in np.flatnonzero(r_sel):
                    for j in np.flatnonzero(c_sel):
                        out.append(f"{k},{i},{j},{drops[k][i, j]:.6g}")
                sel = r_sel[:, None] & c_sel[None, :]
                rows.append({"digit": n, "layer": k, "selected": int(sel.sum()),
                             "median %": round(100 * float(np.median(drops[k][sel])), 3),
                             "min %": round(100 * float(drops[k][sel].min()), 3),
                             "max %": round(100 * float(drops[k][sel].max()), 3), "transient s": round(seconds, 1)})
    atomic_write_text(MAP, "\n".join(out) + "\n")
    report("forward_only_mnist_step_map", rows, notes=f"per-cell RESET decrease written to {MAP.name}")
    return rows


def step_factors(shapes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Per-cell RESET steps (fractions, rows x physical columns per layer) from ``step_map.csv``: a fit
    ``log step = a_row + b_column`` to the measured cells (alternating means), rows never measured take the
    nearest measured row's ``a``."""
    data = np.loadtxt(MAP, delimiter=",", skiprows=1, ndmin=2)
    out = []
    for k, (n_rows, n_cols) in enumerate(shapes):
        d = data[data[:, 0] == k]
        i, j, y = d[:, 1].astype(int), d[:, 2].astype(int), np.log(np.maximum(d[:, 3], 1e-6))
        a, b = np.zeros(n_rows), np.zeros(n_cols)
        for _ in range(20):
            a_sum = np.bincount(i, y - b[j], n_rows)
            a = np.where(np.bincount(i, None, n_rows) > 0, a_sum / np.maximum(np.bincount(i, None, n_rows), 1), np.nan)
            b_sum = np.bincount(j, y - np.nan_to_num(a)[i], n_cols)
            b = b_sum / np.maximum(np.bincount(j, None, n_cols), 1)
        known = np.flatnonzero(np.isfinite(a))
        nearest = known[np.abs(np.arange(n_rows)[:, None] - known[None, :]).argmin(axis=1)]
        a = a[nearest]
        out.append(np.exp(a[:, None] + b[None, :]))
    return out


class _TwinLayer:
    """A layer of the twin: conductance pairs read as ``x @ G`` with DAC and ADC quantization (no circuit)."""

    def __init__(self, config):
        c = self.config = config
        w = c.initial_weights()
        self.g = np.empty((c.inputs, c.columns))
        self.g[:, 0::2] = c.device.g_max - np.maximum(-w, 0.0) * c.k  # mapping "high", as the trainer's layers
        self.g[:, 1::2] = c.device.g_max - np.maximum(w, 0.0) * c.k

    def conductances(self) -> np.ndarray:
        return self.g.copy()

    def write_conductances(self, g: np.ndarray) -> None:
        self.g = np.clip(g, self.config.device.g_min, self.config.device.g_max)

    def forward(self, x: np.ndarray):
        from types import SimpleNamespace

        c = self.config
        levels = 2 ** c.dac.bits - 1
        v = np.round(np.clip(x, 0.0, 1.0) * levels) / levels * c.device.v_read
        full_scale = c.inputs * c.device.v_read * c.device.g_max * c.adc_fill
        lsb = full_scale * 1.02 / 2 ** c.adc.bits
        i = np.clip(np.round(v @ self.g / lsb) * lsb, 0.0, full_scale)
        return SimpleNamespace(outputs=(i[:, 0::2] - i[:, 1::2]) / (c.device.v_read * c.k))


def _twin_trainer(cfg, data, s, seed: int, step: str | None = None):
    """The forward-only trainer's rule on :class:`_TwinLayer` arrays (no circuit); counts RESET slots.
    ``step``: as ``MEMCOSIM_BENCH_FOM_STEP`` (the default)."""
    step = STEP if step is None else step
    from types import SimpleNamespace

    from memcosim.trainers.base import Trainer
    from memcosim.trainers.crossbar_config import layer_configs
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    class TwinTrainer(ForwardOnlyTrainer):
        def __init__(self) -> None:  # the rule's state without ForwardOnlyTrainer's circuit
            Trainer.__init__(self, cfg, data)
            self.s, self.n_classes, self.step = s, data.n_classes, None
            rows0 = data.n_features + (data.n_classes * s.label_repeat if s.rule == "ff" else 0) + 1
            out1 = s.hidden if s.rule == "ff" else data.n_classes * s.units_per_class
            layers = layer_configs(s, rows0, out1, seed, s.reset, {}, {}, mapping="high", init_spread=s.init_spread)
            self.circuit = SimpleNamespace(layers=[_TwinLayer(c) for c in layers], reads=0, session=None)
            self.counters = {"reset_pulses": 0, "updates": 0, "conductance_increases": 0, "slots": 0}

        def updates_for(self, x0, h0, x1, h1, label: int):
            out = super().updates_for(x0, h0, x1, h1, label)
            self.counters["slots"] += len({u[0] for u in out})  # one slot per pass with updates
            return out

        def _apply(self, updates) -> None:  # ideal updates, each cell lowered by its own step
            for _, _, k, rows, cols, _ in updates:
                layer = self.circuit.layers[k]
                g = layer.conductances()
                mask = rows[:, None] & cols[None, :]
                g[mask] = np.maximum(g[mask] * (1.0 - steps[k][mask]), layer.config.device.g_min)
                layer.write_conductances(g)
                self.counters["reset_pulses"] += int(mask.sum())

    shapes = [(c.inputs, c.columns) for c in layer_configs(s, data.n_features + (data.n_classes * s.label_repeat
              if s.rule == "ff" else 0) + 1, s.hidden if s.rule == "ff" else data.n_classes * s.units_per_class,
              seed, s.reset, {}, {})]
    if step == "map":
        steps = step_factors(shapes)
    else:
        values = [float(v) for v in step.split(",")]
        steps = [np.full(shape, values[min(k, len(values) - 1)]) for k, shape in enumerate(shapes)]

    return TwinTrainer()


def twin_rows() -> list[dict]:
    """Test accuracy and RESET slots per epoch of the numpy twin, per rule and training-set size."""
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.datasets import dataset_for

    rows = []
    for rule in TWIN_RULES:
        for train, epochs in TWIN_RUNS:
            cfg = load_run_config(CONFIGS / f"forward_only_mnist_{rule}.toml")
            t, s = cfg.train, cfg.forward_only
            t.update, t.progress, t.checkpoint = "ideal", False, ""
            t.train_limit, t.epochs = (train, epochs) if train else (t.train_limit, t.epochs)
            data = dataset_for(cfg)
            tr = _twin_trainer(cfg, data, s, t.seed)
            slots = []
            for row in tr.fit(log=None):
                slots.append(row["slots"] - sum(slots))
                rows.append({"rule": rule, "train digits": len(data.x_train), "test digits": len(data.x_test),
                             "epoch": row["epoch"], "test acc %": round(100 * row["test_acc"], 1),
                             "RESET slots in epoch": slots[-1], "step": STEP})
    step = ("each cell's RESET step measured in the circuit (step_map.csv)" if STEP == "map" else
            f"RESET step {STEP} (per layer if two) for every cell (no wires)")
    report("forward_only_mnist_twin", rows, notes=f"numpy twin: the trainer's rule, ideal linear reads with DAC/ADC "
           f"quantization, {step}")
    return rows


FF_VARIANTS = {  # name -> [forward_only] settings over the FF run file's
    "run file: random negative, total gate": {},
    "random negative, layer gate (the first run file's rule)": {"gate": "layer"},
    "hardest negative, total gate": {"negative": "hardest"},
    "hardest negative, total gate, threshold rows x > 0.5": {"negative": "hardest", "selection": "threshold",
                                                              "x_threshold": 0.5},
}
FF_STEP = os.environ.get("MEMCOSIM_BENCH_FOM_FF_STEP", "0.0035,0.024")
FF_RUNS = [tuple(int(v) for v in r.split("x")) for r in
           os.environ.get("MEMCOSIM_BENCH_FOM_FF_RUNS", "64x3,200x3,400x3").split(",")]
FF_SEEDS = int(os.environ.get("MEMCOSIM_BENCH_FOM_FF_SEEDS", "4"))


def ff_twin_rows() -> list[dict]:
    """Part ``fftwin``: the FF rule's settings (:data:`FF_VARIANTS`) in the numpy twin, per training-set size and
    epochs (``MEMCOSIM_BENCH_FOM_FF_RUNS``, ``<digits>x<epochs>``), over ``MEMCOSIM_BENCH_FOM_FF_SEEDS`` values of
    ``train.seed`` (each its own stratified split, initial weights and order), every test digit of the split, the
    per-layer RESET steps ``MEMCOSIM_BENCH_FOM_FF_STEP`` (default: the medians measured in the FF run file's
    circuit by the steps part, 0.35 % and 2.4 %); next to backprop (20 epochs) on the same digits of each seed."""
    import dataclasses

    from memcosim.trainers.backprop_baseline import backprop_baseline
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.datasets import dataset_for

    rows = []
    for train, epochs in FF_RUNS:
        backprop = []
        for seed in range(FF_SEEDS):
            cfg = load_run_config(CONFIGS / "forward_only_mnist_ff.toml")
            cfg.train = dataclasses.replace(cfg.train, train_limit=train, test_limit=0, seed=seed)
            data = dataset_for(cfg)
            backprop.append(backprop_baseline(data, cfg.forward_only.hidden, epochs=EPOCHS, seed=seed)[-1]["test_acc"])
        for name, settings in FF_VARIANTS.items():
            acc, slots = np.zeros((FF_SEEDS, epochs)), np.zeros((FF_SEEDS, epochs))
            for seed in range(FF_SEEDS):
                cfg = load_run_config(CONFIGS / "forward_only_mnist_ff.toml")
                cfg.train = dataclasses.replace(cfg.train, train_limit=train, test_limit=0, seed=seed, epochs=epochs,
                                                update="ideal", progress=False, checkpoint="")
                cfg.forward_only = dataclasses.replace(cfg.forward_only, **settings)
                data = dataset_for(cfg)
                tr = _twin_trainer(cfg, data, cfg.forward_only, seed, FF_STEP)
                tr.epoch_extras = lambda tr=tr: {"slots": tr.counters["slots"]}
                history = tr.fit(log=None)
                acc[seed] = [h["test_acc"] for h in history]
                slots[seed] = np.diff([0] + [h["slots"] for h in history])
            rows.append({"FF settings": name, "train digits": train, "test digits": len(data.x_test),
                         "epochs": epochs, "test acc % per epoch (mean)": " / ".join(f"{100 * a:.1f}" for a in acc.mean(0)),
                         "last epoch min-max %": f"{100 * acc[:, -1].min():.1f}-{100 * acc[:, -1].max():.1f}",
                         "RESET slots per epoch (mean)": " / ".join(f"{v:.0f}" for v in slots.mean(0)),
                         "backprop % (mean)": round(100 * float(np.mean(backprop)), 1)})
    report("forward_only_mnist_ff_twin", rows, notes=f"numpy twin of the FF run file, {FF_SEEDS} seeds (split, init, "
           f"order), per-layer RESET steps {FF_STEP}; backprop: {EPOCHS} epochs on the same digits")
    return rows


def ff_eval_rows() -> list[dict]:
    """Part ``ffeval``: a trained FF checkpoint (``MEMCOSIM_BENCH_FOM_CHECKPOINT``, written by ``memcosim train
    configs/forward_only_mnist_ff.toml``; the run file in ``docs/forward_only_mnist/<run>/run.toml``, ``<run>`` from
    ``MEMCOSIM_BENCH_FOM_RUN``, default ``ff``; the 64-digit network of ``ff_64/`` with ``ff_64``) read on the first
    ``MEMCOSIM_BENCH_FOM_TEST`` test digits of the split (default 120; ngspice, 8 operating points per digit):
    accuracy overall, on the run's own test digits and per class."""
    import dataclasses

    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.datasets import dataset_for
    from memcosim.trainers.forward_only import ForwardOnlyTrainer

    n = int(os.environ.get("MEMCOSIM_BENCH_FOM_TEST", "120"))
    cfg = load_run_config(DOCS / os.environ.get("MEMCOSIM_BENCH_FOM_RUN", "ff") / "run.toml")
    cfg.train.progress = False
    split = dataset_for(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, test_limit=0)))
    x, y = split.x_test[:n], split.y_test[:n]
    with ForwardOnlyTrainer(cfg) as tr:
        tr.load_checkpoint(os.environ["MEMCOSIM_BENCH_FOM_CHECKPOINT"])
        right = np.zeros(0, bool)
        for k in range(0, n, 8):
            tr.circuit.session.forget_solution()
            right = np.append(right, np.argmax(tr.predict(x[k:k + 8]), axis=1) == y[k:k + 8])
            print(f"ffeval: {len(right)}/{n} test digits, accuracy {right.mean():.3f}", flush=True)
        own = len(tr.dataset.x_test)
        rows = [{"epochs trained": tr.epoch, "test digits": n, "accuracy %": round(100 * float(right.mean()), 1),
                 f"first {own} (the run's test) %": round(100 * float(right[:own].mean()), 1),
                 **{f"class {c} %": round(100 * float(right[y == c].mean()), 1) for c in range(split.n_classes)}}]
    report("forward_only_mnist_ff_eval", rows, notes="FF checkpoint, ngspice reads, 4 label passes x 2 layers per digit")
    return rows


def main() -> None:
    if "ffeval" in PARTS:
        ff_eval_rows()
    if "fftwin" in PARTS:
        ff_twin_rows()
    if "steps" in PARTS:
        step_rows()
    if "stepmap" in PARTS:
        step_map_rows()
    if "twin" in PARTS:
        twin_rows()
    if "accuracy" in PARTS:
        accuracy_rows()


def accuracy_rows() -> None:
    import dataclasses

    from memcosim.fileio import atomic_write_csv, save_png
    from memcosim.trainers.config import load_run_config
    from memcosim.trainers.datasets import dataset_for

    rows = []
    curves = {}
    for rule in RULES:
        cfg = load_run_config(CONFIGS / f"forward_only_mnist_{rule}.toml")
        s, t = cfg.forward_only, cfg.train
        same = dataset_for(cfg)
        whole = dataset_for(dataclasses.replace(cfg, train=dataclasses.replace(t, train_limit=0)))
        n_in = same.n_features
        rows0 = n_in + (same.n_classes * s.label_repeat if rule == "ff" else 0) + 1
        out1 = s.hidden if rule == "ff" else same.n_classes * s.units_per_class
        cells = rows0 * 2 * s.hidden + (s.hidden + 1) * 2 * out1
        for run, hist in _histories(rule).items():
            curves[run] = hist
            last = hist[-1]
            run_cells, run_data = cells, same
            if (DOCS / run / "run.toml").is_file():  # the run file the run used (kept beside its history)
                rc = load_run_config(DOCS / run / "run.toml")
                run_data = dataset_for(rc)
                rows0 = run_data.n_features + (run_data.n_classes * rc.forward_only.label_repeat if rule == "ff" else 0) + 1
                out1 = rc.forward_only.hidden if rule == "ff" else run_data.n_classes * rc.forward_only.units_per_class
                run_cells = rows0 * 2 * rc.forward_only.hidden + (rc.forward_only.hidden + 1) * 2 * out1
            rows.append({"run": f"{run}, ngspice, reset-only pulses", "cells": run_cells,
                         "train digits": len(run_data.x_train), "test digits": len(run_data.x_test),
                         "epochs": int(last["epoch"]),
                         "test acc %": round(100 * last["test_acc"], 1), "sd %": "",
                         "s per epoch": round(float(np.mean([h["seconds"] for h in hist])), 0)})
        for label, data in (("same training digits", same), ("whole training split", whole)):
            acc = _backprop(data, s.hidden)
            rows.append({"run": f"backprop ({rule} hidden {s.hidden}), {label}", "cells": "",
                         "train digits": len(data.x_train), "test digits": len(data.x_test), "epochs": EPOCHS,
                         "test acc %": round(100 * float(np.mean(acc)), 1), "sd %": round(100 * float(np.std(acc)), 1),
                         "s per epoch": ""})
    report("forward_only_mnist", rows, notes="MNIST digits 0-3 at 14x14 (2x2 blocks averaged); backprop: numpy "
           f"floats, {SEEDS} seeds, {EPOCHS} epochs; the ngspice rows are read from docs/forward_only_mnist/<rule>/history.csv")
    atomic_write_csv(DOCS / "summary.csv", rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    colors = {"ff": "C0", "competitive": "C1"}
    for run, hist in curves.items():
        ax.plot([h["epoch"] for h in hist], [100 * h["test_acc"] for h in hist], "o-" if "_" not in run else "s:",
                color=colors[run.split("_")[0]], label=f"{run} (ngspice, reset-only)")
    for rule in RULES:
        for r in rows:
            if r["run"].startswith(f"backprop ({rule}") and "same" in r["run"]:
                ax.axhline(r["test acc %"], color=colors[rule], ls="--", lw=1,
                           label=f"backprop, hidden as {rule}, same digits")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST 0-3 at 14x14: forward-only in ngspice vs backprop")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_png(fig, DOCS / "summary.png")
    print(f"wrote {DOCS / 'summary.csv'} and {DOCS / 'summary.png'}")


if __name__ == "__main__":
    main()
