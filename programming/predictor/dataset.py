"""Pulse-predictor dataset from ngspice: how long a SET or RESET voltage must be held to reach a target.

Sample ``i`` draws everything from ``numpy.random.default_rng([seed, i])`` (so it does not depend on
the number of workers or shards): start and target conductance, log-uniform in the operating range;
with noise a fresh device (device-to-device offsets) whose parameters random-walk every
``parameter_variation.interval`` (10 ns) of pulse time, whatever the ``step``. The device (a 1x1 array with
programming drivers, built with ``build_crossbar``) is set to the start state and read; the SET
(target above) or RESET voltage is held in ``step`` windows,
reading after each, until the read crosses the target. Of the two reads around the crossing, the one
closest to the target ends the pulse: its signed time (SET > 0, RESET < 0) is the label. The G-t
history continues to ``history_factor`` x the label.

Shards of ``shard_size`` samples are written atomically to ``<out>/shards/`` with the config
fingerprint in the name; a rerun skips shards already there (resume), and the assembled
``<out>/dataset.npz`` + ``dataset.json`` hold the samples, the seed and the timing.
"""

from __future__ import annotations

import io
import json
import math
import os
import signal
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from memcosim.circuits.crossbar import build_crossbar
from memcosim.config import toml
from memcosim.config.array import ArrayConfig, DeviceConfig
from memcosim.config.periphery import PeripheryConfig, ProgrammingConfig
from memcosim.config.variation import ParameterVariationConfig
from memcosim.cosim.device_table import conductance_table
from memcosim.cosim.engine import open_session
from memcosim.cosim.readout import read_cell
from memcosim.devices.presets import get_preset
from memcosim.devices.variation import Variation, nominal_parameters
from memcosim.errors import ConfigError, Interrupted, signal_number
from memcosim.fileio import atomic_write_bytes, atomic_write_text, save_png
from memcosim.programming.predictor.config import DatasetConfig, read_index, read_time
from memcosim.programming.pulses import apply_pulse, hold
from memcosim.signals import unordered_results

_FIELDS = ("g_start", "g_target", "g_requested", "time", "crossed", "steps")


@dataclass
class PulseDataset:
    """Samples: start (measured) / target / requested-start conductances (S), signed pulse ``time`` (s),
    ``crossed`` flags, and the read after every ``step`` (``history(i)``, S, first entry = start)."""

    g_start: np.ndarray
    g_target: np.ndarray
    g_requested: np.ndarray
    time: np.ndarray
    crossed: np.ndarray
    steps: np.ndarray
    histories: np.ndarray  # all histories, concatenated
    offsets: np.ndarray  # history i is histories[offsets[i]:offsets[i+1]]
    step: float
    meta: dict
    growth: float = 1.0  # each window time_growth x the one before (read_time)

    def __len__(self) -> int:
        return int(self.g_start.size)

    def history(self, i: int) -> np.ndarray:
        return self.histories[self.offsets[i]:self.offsets[i + 1]]

    def times(self, i: int) -> np.ndarray:
        """Pulse time (seconds) of every read of ``history(i)``."""
        return read_time(np.arange(self.offsets[i + 1] - self.offsets[i]), self.step, self.growth)

    def subset(self, index: np.ndarray) -> "PulseDataset":
        index = np.asarray(index)
        hs = [self.history(i) for i in index]
        offsets = np.concatenate([[0], np.cumsum([h.size for h in hs])]).astype(np.int64)
        return PulseDataset(*(getattr(self, k)[index] for k in _FIELDS),
                            np.concatenate(hs) if hs else np.zeros(0), offsets, self.step, dict(self.meta), self.growth)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **{k: getattr(self, k) for k in _FIELDS}, histories=self.histories, offsets=self.offsets,
                 step=np.array(self.step), meta=np.array(json.dumps(self.meta)), growth=np.array(self.growth))
        return buf.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> "PulseDataset":
        """The dataset in ``path``; ConfigError naming the file when it is not one (or is truncated)."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                return cls(*(z[k] for k in _FIELDS), z["histories"], z["offsets"], float(z["step"]),
                           json.loads(str(z["meta"])), float(z["growth"]) if "growth" in z.files else 1.0)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ConfigError("dataset", f"{path} is not a pulse dataset, or it is truncated "
                                         f"({type(exc).__name__}: {exc}); delete it to make it again") from None

    @classmethod
    def concatenate(cls, parts: list["PulseDataset"], meta: dict) -> "PulseDataset":
        fields = [np.concatenate([getattr(p, k) for p in parts]) for k in _FIELDS]
        hs = np.concatenate([p.histories for p in parts])
        sizes = np.concatenate([np.diff(p.offsets) for p in parts])
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return cls(*fields, hs, offsets, parts[0].step, meta, parts[0].growth)


def draw_pair(rng: np.random.Generator, config: DatasetConfig) -> tuple[float, float]:
    """A (requested, target) pair of conductances (siemens), log-uniform in the device window [g_min, g_max]
    and at least ``min_change`` apart in relative terms; the target below the start with ``up = "none"``."""
    lo, hi = (math.log(g) for g in config.window)
    while True:
        a, b = np.exp(rng.uniform(lo, hi, 2))
        if abs(b / a - 1) >= config.min_change:
            return (float(max(a, b)), float(min(a, b))) if config.up == "none" else (float(a), float(b))


class SampleMaker:
    """One worker's device and session; :meth:`sample` makes sample ``i``. Opens ngspice in this process."""

    def __init__(self, config: DatasetConfig):
        self.config = config
        self.preset = get_preset(config.device.model)
        self.v_read = config.v_read
        self.table = conductance_table(config.device.model, self.v_read)  # before our session opens
        self.xbar = build_crossbar(ArrayConfig(1, 1, DeviceConfig(config.device.model), states=float(self.table[0][0]),
                                               periphery=PeripheryConfig(programming=ProgrammingConfig())))
        self.session = open_session(self.xbar.netlist)
        names = list(config.variation.spreads)
        self.nominal = nominal_parameters(config.device.model, names)

    def close(self) -> None:
        self.session.close()

    def state_for(self, g: float) -> float:
        s, gt = self.table
        return float(np.exp(np.interp(math.log(g), np.log(gt), np.log(s))))

    def read(self) -> float:
        """Read conductance (siemens) of the device at the dataset's read voltage."""
        return read_cell(self.session, self.xbar, 0, 0, self.v_read)

    def sample(self, i: int) -> tuple[dict, np.ndarray]:
        c = self.config
        rng = np.random.default_rng([c.seed, i])
        g_req, g_target = draw_pair(rng, c)
        vc = c.variation if c.noise else ParameterVariationConfig.off()
        variation = Variation(vc, [self.xbar.cells[0, 0]], self.nominal, rng=rng)
        s, xb = self.session, self.xbar
        if variation.active:
            variation.apply(s)
        else:
            s.set_device_params(xb.cells[0, 0], **self.nominal)
        s.set_states([self.state_for(g_req)])
        g0 = self.read()
        up = g_target > g0
        if up and c.up == "set_then_reset":  # the full SET pulse, then the RESET voltage is held
            apply_pulse(s, xb, c.write_pulses(True, c.step)[0], variation=variation, preset=self.preset)
            falling, amp = True, c.amplitude(False)
        else:
            falling, amp = not up, c.amplitude(up)
        hist = [self.read()] if up and c.up == "set_then_reset" else [g0]

        def crossed() -> bool:
            return hist[-1] <= g_target if falling else hist[-1] >= g_target

        def step_once() -> None:
            # window k is step * time_growth**k long; the walk advances at every variation interval
            # (10 ns) of pulse time counted over the windows (``drive``: Variation.walk_times)
            width = c.step * c.time_growth ** (len(hist) - 1)
            hold(s, xb, amp, width, variation=variation, preset=self.preset, window=width)
            hist.append(self.read())

        while len(hist) <= c.max_steps and not crossed():
            step_once()
        k_cross = len(hist) - 1
        did_cross = crossed()
        k = k_cross
        if did_cross and k > 1 and abs(hist[k - 1] - g_target) < abs(hist[k] - g_target):
            k -= 1
        total = max(k_cross, history_length(k, c.history_factor, c.time_growth))
        while len(hist) <= total:
            step_once()
        row = {"g_start": g0, "g_target": g_target, "g_requested": g_req,
               "time": (1 if up else -1) * float(read_time(k, c.step, c.time_growth)), "crossed": did_cross,
               "steps": k}
        return row, np.array(hist)


def history_length(k: int, factor: float, growth: float) -> int:
    """Windows a history runs to: ``factor`` x the pulse time of ``k`` windows (growth per window ``growth``)."""
    if growth == 1.0:
        return int(math.ceil(factor * k))
    return int(math.ceil(read_index(factor * read_time(k, 1.0, growth), 1.0, growth) - 1e-9))


def make_samples(config: DatasetConfig, start: int, stop: int, maker: SampleMaker | None = None) -> PulseDataset:
    """Samples ``start`` .. ``stop - 1`` made in this process."""
    own = maker is None
    maker = maker or SampleMaker(config)
    try:
        rows, hists = [], []
        for i in range(start, stop):
            row, h = maker.sample(i)
            rows.append(row)
            hists.append(h)
    finally:
        if own:
            maker.close()
    offsets = np.concatenate([[0], np.cumsum([h.size for h in hists])]).astype(np.int64)
    cols = {k: np.array([r[k] for r in rows], dtype=bool if k == "crossed" else (np.int64 if k == "steps" else float))
            for k in _FIELDS}
    return PulseDataset(*(cols[k] for k in _FIELDS), np.concatenate(hists), offsets, config.step,
                        {"first": start, "stop": stop}, config.time_growth)


def _shard_size(config: DatasetConfig, shard: int) -> int:
    return min(config.shard_size, config.samples - shard * config.shard_size)


def _shard_path(config: DatasetConfig, shard: int) -> Path:
    """Shard file: the config fingerprint, the shard number and its sample count (so a larger dataset
    reuses every full shard of a smaller one with the same settings)."""
    return Path(config.out) / "shards" / f"{config.fingerprint()}-{shard:05d}-{_shard_size(config, shard)}.npz"


def _worker(args: tuple[dict, list[int]]) -> list[tuple[int, float]]:
    """Make the listed shards in a fresh process (one session); returns (shard, seconds) for each."""
    data, shards = args
    config = _config_from_plain(data)
    maker = SampleMaker(config)
    done = []
    try:
        for shard in shards:
            t = time.perf_counter()
            a = shard * config.shard_size
            b = min(config.samples, a + config.shard_size)
            part = make_samples(config, a, b, maker)
            atomic_write_bytes(_shard_path(config, shard), part.to_bytes())
            done.append((shard, time.perf_counter() - t))
    finally:
        maker.close()
    return done


def _config_from_plain(data: dict) -> DatasetConfig:
    return toml.from_dict(DatasetConfig, data, "dataset")


def generate(config: DatasetConfig, progress: bool = True) -> PulseDataset:
    """Make (or resume) the dataset with ``config.workers`` processes; write and return it."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # ngspice's OpenMP threads must not spin on shared cores
    n_shards = math.ceil(config.samples / config.shard_size)
    todo = [k for k in range(n_shards) if not _expected_shard(config, k)]
    t0 = time.perf_counter()
    if progress:
        print(f"dataset: {config.samples} samples in {n_shards} shards ({n_shards - len(todo)} cached), "
              f"{config.workers} worker(s), seed {config.seed}, noise {'on' if config.noise else 'off'}", flush=True)
    if todo:
        plain = asdict(config)
        tasks = [(plain, [k]) for k in todo]
        finished = 0
        try:
            with unordered_results(_worker, tasks, config.workers) as results:
                for result in results:
                    finished += len(result)
                    if progress:
                        el = time.perf_counter() - t0
                        print(f"  shard {result[0][0]} done ({finished}/{len(todo)}), {el:.0f} s elapsed, "
                              f"~{el / finished * (len(todo) - finished):.0f} s left", flush=True)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: every finished shard is on disk
            signum = signal_number(exc)
            done = n_shards - sum(1 for k in range(n_shards) if not _expected_shard(config, k))
            raise Interrupted(signum, f"interrupted by {signal.Signals(signum).name}: {done} of {n_shards} shards "
                                      f"are saved in {Path(config.out) / 'shards'}; run the same command again to "
                                      "continue from them") from None
    elapsed = time.perf_counter() - t0
    parts = [PulseDataset.load(_shard_path(config, k)) for k in range(n_shards)]
    previous = _previous_meta(config)
    meta = {"config": asdict(config), "fingerprint": config.fingerprint(), "samples": config.samples,
            "crossed": int(sum(p.crossed.sum() for p in parts)),
            "generation_seconds_this_run": elapsed, "shards_made_this_run": len(todo),
            "seconds_per_sample": (elapsed / sum(_shard_size(config, k) for k in todo) if todo
                                   else previous.get("seconds_per_sample")),
            "workers": config.workers}
    data = PulseDataset.concatenate(parts, meta)
    out = Path(config.out)
    atomic_write_bytes(out / "dataset.npz", data.to_bytes())
    atomic_write_text(out / "dataset.json", json.dumps(meta, indent=2) + "\n")
    plot_dataset(data, out / "dataset.png")
    if progress:
        print(f"dataset: wrote {out / 'dataset.npz'} ({len(data)} samples, {meta['crossed']} crossed the target) "
              f"in {elapsed:.1f} s", flush=True)
    return data


def _expected_shard(config: DatasetConfig, shard: int) -> bool:
    return _shard_path(config, shard).exists()


def _previous_meta(config: DatasetConfig) -> dict:
    try:
        return json.loads((Path(config.out) / "dataset.json").read_text())
    except (OSError, ValueError):
        return {}


def plot_dataset(data: PulseDataset, path: Path, examples: int = 12) -> None:
    """Labels against the requested change, and example G-t histories (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ratio = data.g_target / data.g_start
    ax[0].scatter(ratio, np.abs(data.time) * 1e9, s=3, alpha=0.4, c=np.where(data.time > 0, "tab:red", "tab:blue"))
    ax[0].set(xscale="log", yscale="log", xlabel="G_target / G_start", ylabel="|pulse time| (ns)",
              title=f"{len(data)} samples (red SET, blue RESET)")
    for i in range(min(examples, len(data))):
        h = data.history(i)
        t = np.maximum(data.times(i), 0.1 * data.step) * 1e9
        ax[1].plot(t, h, lw=1)
        ax[1].plot([abs(data.time[i]) * 1e9], [h[int(data.steps[i])]], "k.", ms=5)
        ax[1].axhline(data.g_target[i], color="gray", lw=0.3)
    ax[1].set(yscale="log", xscale="log" if data.growth > 1 else "linear", xlabel="pulse time (ns)", ylabel="read conductance (S)",
              title="G-t histories (dot: end of the labelled pulse)")
    fig.tight_layout()
    save_png(fig, path)
