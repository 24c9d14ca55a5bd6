"""A weight matrix of any size on crossbar tiles, each its own netlist and ngspice session, on a pool of workers.

:class:`TiledLayer` holds one signed ``inputs`` x ``outputs`` matrix described by a
:class:`~memcosim.cosim.layer.CrossbarLayerConfig` (device, wires, DAC, TIA, ADC, weight mapping; its
``inputs`` and ``outputs`` are the whole matrix) on tiles of :class:`TileSettings` ``rows`` x ``columns``
physical cells (the mapping is :class:`~memcosim.cosim.tile_map.TileMap`). Every tile is a
:class:`~memcosim.cosim.layer.CrossbarCircuit` of ``rows`` inputs and ``columns / 2`` signed outputs: its own
netlist from the crossbar builder, its own row DACs, column TIAs and ADCs (the TIA feedback set for the tile's
rows) and programming drivers, and its own session (``open_session``).

Where the sessions live (``TileSettings``):

* ``workers = N`` (default 1): N local ngspice worker processes (:class:`~memcosim.cosim.worker.TaskWorker`);
  tile ``k`` (in :attr:`TileMap.spots` order) belongs to worker ``k % N``;
* ``scheduler = "tcp://host:port"``: the Dask workers of a running cluster (the same option as
  ``memcosim sweep --scheduler``); tile ``k`` prefers worker ``k % N`` and may move when a worker is lost;
* ``workers = 0``: in this process (the tiles' circuits beside any other in-process session).

A worker keeps the circuits of the tiles it served loaded, several in its one ngspice (``setcirc`` switches
between them; :class:`~memcosim.cosim.session.SessionOptions` ``keep_others``), up to ``TileSettings.loaded_mb``
megabytes (least recently used closed first): a later call on a kept tile skips building and loading its netlist
and costs only its reads. This process keeps every tile's device states after its last completed
write (:meth:`TiledLayer.states`; saved to ``TileSettings.checkpoint`` after every write, when set) and sends
them with each call: a worker that dies or hangs is replaced and the call is repeated on the new worker from
those states, so a crash costs time, never a state.

Reads (:meth:`TiledLayer.forward`) send every tile its whole batch of input vectors in one call; each tile's
outputs come from its ADC codes, and the partial sums are added digitally. Writes go per tile, all tiles at
once across the workers: ideal writes (:meth:`TiledLayer.write_weights`), or any module-level function of a
tile's :class:`~memcosim.cosim.layer.CrossbarLayer` (:meth:`TiledLayer.map_tiles`; programming pulses:
:mod:`memcosim.programming.tile_writes`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from memcosim import fields as f
from memcosim.circuits.periphery.dac import Dac
from memcosim.cosim.cluster import connect
from memcosim.cosim.device_table import conductance_device
from memcosim.cosim.layer import CrossbarCircuit, CrossbarLayer, CrossbarLayerConfig, Readout, Slot, SlotResult, SlotTiming
from memcosim.cosim.ngspice import NgspiceLibrary
from memcosim.cosim.session import SessionOptions
from memcosim.cosim.tile_map import TileMap, TileSpot
from memcosim.cosim.toolchain import require_ngspice
from memcosim.cosim.worker import TaskWorker
from memcosim.errors import ConfigError, WorkerCrash
from memcosim.fileio import atomic_write_bytes

log = logging.getLogger(__name__)

Key = tuple[int, int]


@dataclass
class TileSettings:
    """Tiles of ``rows`` x ``columns`` physical cells (``columns / 2`` signed outputs each) and where their
    sessions run: ``workers`` local ngspice worker processes (0 = in this process), or the running Dask cluster
    at ``scheduler`` (``tcp://host:port``; reached within ``connect_timeout`` seconds). ``max_tiles``: the
    tiles available (0 = any number). ``timeout``: seconds one tile call may take before its worker counts as
    hung. ``retries``: times a call is repeated on a new worker after a crash. ``checkpoint``: an ``.npz`` file
    the tile states are written to (atomically) after every write ("" = none). ``loaded_mb``: megabytes of tile
    circuits each worker keeps loaded in its ngspice (estimated at :data:`BYTES_PER_CELL` per cell; the least
    recently used tiles beyond it are closed and rebuilt when next called; at least one tile is kept)."""

    rows: int = 64
    columns: int = 64
    workers: int = 1
    scheduler: str = ""
    max_tiles: int = 0
    timeout: float = 600.0
    connect_timeout: float = 10.0
    retries: int = 2
    checkpoint: str = ""
    loaded_mb: float = 1000.0

    def __post_init__(self) -> None:
        self.rows = f.integer("tiles.rows", self.rows, 1)
        self.columns = f.integer("tiles.columns", self.columns, 2)
        self.workers = f.integer("tiles.workers", self.workers, 0) if self.workers == 0 else \
            f.workers("tiles.workers", self.workers)
        if not isinstance(self.scheduler, str):
            raise ConfigError("tiles.scheduler", f"must be an address string like 'tcp://host:8786', got "
                                                 f"{self.scheduler!r}")
        self.max_tiles = f.integer("tiles.max_tiles", self.max_tiles, 0)
        self.timeout = f.number("tiles.timeout", self.timeout, low=0.0, low_open=True, unit="s")
        self.connect_timeout = f.number("tiles.connect_timeout", self.connect_timeout, low=0.0, low_open=True,
                                        unit="s")
        self.retries = f.integer("tiles.retries", self.retries, 0)
        if not isinstance(self.checkpoint, (str, Path)):
            raise ConfigError("tiles.checkpoint", f"must be a file path, got {self.checkpoint!r}")
        self.loaded_mb = f.number("tiles.loaded_mb", self.loaded_mb, low=0.0, unit="MB")


@dataclass(frozen=True)
class TileSpec:
    """What a worker needs to build one tile: its grid key, crossbar layer config (``rows`` inputs, ``pairs``
    outputs, the starting weights), netlist title, the id of its tiled layer and the megabytes of tile circuits a
    worker keeps loaded (``TileSettings.loaded_mb``)."""

    key: Key
    config: CrossbarLayerConfig
    title: str
    layer_id: str = ""  # the TiledLayer's own id: tiles of two layers never share a worker's open circuit
    loaded_mb: float = 1000.0


@dataclass
class TiledReadout:
    """One batched read: ``outputs`` (batch x outputs, weight units), the partial sums added after the ADCs;
    ``tiles``: each tile's :class:`~memcosim.cosim.layer.Readout` (its own rows and column pairs, padding
    included)."""

    outputs: np.ndarray
    tiles: dict[Key, Readout]


# -- in the worker -------------------------------------------------------------------------

# The tile circuits this process holds open, least recently used first: (layer id, tile) -> [circuit, version].
_live: "OrderedDict[tuple[str, Key], list]" = OrderedDict()
_live_lock = threading.Lock()
# ngspice memory of one loaded tile circuit per cell (bytes; measured: 64x64 ~35 MB, 128x128 ~140 MB)
BYTES_PER_CELL = 8.5e3


def tiles_kept(spec: "TileSpec") -> int:
    """How many circuits of ``spec``'s size a worker keeps loaded within ``spec.loaded_mb`` (at least 1)."""
    cells = spec.config.inputs * spec.config.columns
    return max(1, int(spec.loaded_mb * 1e6 // (cells * BYTES_PER_CELL)))


def tile_state(layer: CrossbarLayer) -> np.ndarray:
    """A tile's device state, rows x physical columns: device states (model units), or conductances (siemens)
    of resistor cells."""
    return layer.states() if layer.device.has_state else layer.conductances()


def _restore(circuit: CrossbarCircuit, state: np.ndarray) -> None:
    layer = circuit.layers[0]
    if not layer.device.has_state:
        layer.write_conductances(state)
        return
    full = circuit.states
    full[layer.device_index] = state
    circuit.set_states(full)


def _circuit(spec: TileSpec, version: int, state: np.ndarray | None) -> list:
    """The tile's open circuit in this process (and its version) at ``version``, state ``state``: kept from an
    earlier call (restored to ``state`` if it was written elsewhere since), or built and loaded (each tile its
    own ngspice circuit; the least recently used tiles beyond :func:`tiles_kept` are closed first)."""
    key = (spec.layer_id, spec.key)
    entry = _live.get(key)
    if entry is not None and entry[0].session.closed:  # closed by an in-process session opened since
        del _live[key]
        entry = None
    if entry is not None:
        _live.move_to_end(key)
        if entry[1] != version and state is not None:
            entry[1] = None
            _restore(entry[0], state)
        entry[1] = version
        return entry
    while len(_live) >= tiles_kept(spec):
        _, (old, _) = _live.popitem(last=False)
        old.close()
    circuit = CrossbarCircuit([spec.config], SessionOptions(worker=False, keep_others=True), title=spec.title)
    entry = [circuit, None]
    _live[key] = entry
    if state is not None and not np.array_equal(tile_state(circuit.layers[0]), state):
        _restore(circuit, state)  # the tile was written since: its starting weights are not its state
    entry[1] = version
    return entry


def tile_task(spec: TileSpec, version: int, state: np.ndarray | None, fn: Callable[..., Any], args: tuple,
              writes: bool) -> tuple[Any, np.ndarray | None]:
    """Run ``fn(layer, *args)`` on the tile's :class:`CrossbarLayer` in this process; returns ``fn``'s result
    and, for a write (the circuit is then at ``version + 1``) or when the caller has no state of the tile yet
    (``state`` None: a new tile at its starting weights), the tile's state afterwards."""
    with _live_lock:
        entry = _circuit(spec, version, state)
        layer = entry[0].layers[0]
        try:
            result = fn(layer, *args)
        except BaseException:
            entry[1] = None  # the state may be half-written: restore it next time
            raise
        if writes:
            entry[1] = version + 1
        return result, tile_state(layer) if writes or state is None else None


def close_live_tiles(layer_id: str | None = None) -> int:
    """Close the tile circuits this process holds open (those of the tiled layer ``layer_id``, or all);
    returns how many were closed."""
    with _live_lock:
        keys = [k for k in _live if layer_id is None or k[0] == layer_id]
        for k in keys:
            _live.pop(k)[0].close()
        return len(keys)


def live_tiles() -> dict[Key, int]:
    """The tiles whose circuits this process holds open (least recently used first), each with the operating
    points its circuit has read so far."""
    with _live_lock:
        return {key: entry[0].reads for (_, key), entry in _live.items()}


def read_batch(layer: CrossbarLayer, x: np.ndarray) -> Readout:
    """A batched read of one tile (runs in its worker): ``x`` batch x tile rows, the solution forgotten first
    so that the result does not depend on what the worker solved before."""
    layer.session.forget_solution()
    return layer.forward(x)


def write_tile_weights(layer: CrossbarLayer, weights: np.ndarray) -> None:
    """Ideal write of one tile's weights (rows x pairs; runs in its worker)."""
    layer.write_weights(weights)


def write_tile_conductances(layer: CrossbarLayer, g: np.ndarray) -> None:
    """Ideal write of one tile's conductances (rows x columns, siemens; runs in its worker)."""
    layer.write_conductances(g)


def pulse_tile_slots(layer: CrossbarLayer, slots: list[Slot], timing: SlotTiming | None) -> SlotResult:
    """A tile's pulse slots in one transient through its own programming drivers (runs in its worker; the
    slots select layer 0, the tile)."""
    return layer.circuit.pulse_slots(slots, timing)


def worker_ready() -> int:
    """Load the ngspice library in this process (a new worker's first call); returns the process id."""
    require_ngspice(NgspiceLibrary.get())
    return os.getpid()


def initial_state(layer: CrossbarLayer) -> None:
    """Nothing: a call that builds a new tile and reads back its starting state."""


# -- pools ---------------------------------------------------------------------------------

class _Progress:
    """Logs (INFO, ``memcosim.cosim.tiles``) how many of a call's tiles are done, every 10 % of a call of 20
    tiles or more."""

    def __init__(self, total: int):
        self.total, self.count, self.step = total, 0, max(1, total // 10)
        self.lock = threading.Lock()

    def done(self) -> None:
        with self.lock:
            self.count += 1
            if self.total >= 20 and (self.count % self.step == 0 or self.count == self.total):
                log.info("tiles: %d of %d done", self.count, self.total)


Task = tuple[TileSpec, int, "np.ndarray | None", Callable[..., Any], tuple, bool]


class LocalPool:
    """``workers`` local ngspice worker processes; each runs its own tiles one after another, in parallel with
    the others. A call whose worker dies or hangs is repeated (up to ``retries`` times) on the new worker."""

    def __init__(self, workers: int, timeout: float, retries: int):
        self.retries = retries
        self.workers = [TaskWorker(timeout) for _ in range(workers)]
        self.crashes: list[str] = []  # what happened, one line per replaced worker
        try:  # every process started and ngspice loaded before the first tile call (in parallel)
            with ThreadPoolExecutor(workers) as ex:
                list(ex.map(lambda w: w.call(worker_ready), self.workers))
        except BaseException:
            self.close()
            raise

    @property
    def size(self) -> int:
        return len(self.workers)

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers)

    def run(self, owner: Mapping[Key, int], tasks: dict[Key, Task]) -> dict[Key, Any]:
        per_worker: dict[int, list[Key]] = {}
        for key in tasks:
            per_worker.setdefault(owner[key] % len(self.workers), []).append(key)
        out: dict[Key, Any] = {}
        progress = _Progress(len(tasks))

        def serve(k: int) -> None:
            w = self.workers[k]
            for key in per_worker[k]:
                for attempt in range(self.retries + 1):
                    try:
                        out[key] = w.call(tile_task, *tasks[key])
                        progress.done()
                        break
                    except WorkerCrash as exc:
                        self.crashes.append(f"tile {key}: {exc}")
                        log.warning("tile %s: %s; repeating the call from the tile's last completed state", key, exc)
                        if attempt == self.retries:
                            raise

        if len(per_worker) == 1:
            serve(next(iter(per_worker)))
        else:
            with ThreadPoolExecutor(len(per_worker)) as ex:
                for fut in [ex.submit(serve, k) for k in per_worker]:
                    fut.result()
        return out

    def close(self) -> None:
        for w in self.workers:
            w.stop()


class InProcessPool:
    """The tiles in this process, one after another (``workers = 0``)."""

    size = 1
    restarts = 0
    crashes: list[str] = []

    def __init__(self, layer_id: str):
        self.layer_id = layer_id

    def run(self, owner: Mapping[Key, int], tasks: dict[Key, Task]) -> dict[Key, Any]:
        return {key: tile_task(*task) for key, task in tasks.items()}

    def close(self) -> None:
        close_live_tiles(self.layer_id)


class DaskPool:
    """The Dask workers of a running cluster (or a new local one): tile ``k`` prefers worker ``k % N``; Dask
    moves a lost worker's calls to another worker, which builds the tile from the states sent with it."""

    def __init__(self, scheduler: str, workers: int, timeout: float, retries: int, layer_id: str = ""):
        self.client = connect(scheduler, workers, timeout, field="tiles.scheduler")
        self.layer_id = layer_id
        self.local = not scheduler
        self.retries = retries
        self.addresses = sorted(self.client.scheduler_info()["workers"])
        if not self.addresses:
            self.close()
            raise ConfigError("tiles.scheduler", f"the Dask cluster at {scheduler!r} has no workers")
        self.crashes: list[str] = []
        self.restarts = 0

    @property
    def size(self) -> int:
        return len(self.addresses)

    def run(self, owner: Mapping[Key, int], tasks: dict[Key, Task]) -> dict[Key, Any]:
        futures = {}
        for key, task in tasks.items():
            where = self.addresses[owner[key] % len(self.addresses)]
            futures[key] = self.client.submit(tile_task, *task, workers=[where], allow_other_workers=True,
                                              pure=False, retries=self.retries)
        progress = _Progress(len(futures))
        out = {}
        for key, fut in futures.items():
            out[key] = fut.result()
            progress.done()
        return out

    def close(self) -> None:
        cluster = self.client.cluster if self.local else None
        if not self.local:  # the cluster outlives this layer: its workers close this layer's tile circuits
            try:
                self.client.run(close_live_tiles, self.layer_id)
            except Exception as exc:  # noqa: BLE001 - a lost worker holds nothing any more
                log.warning("closing the tiles of layer %s on the Dask workers: %s", self.layer_id, exc)
        self.client.close()
        if cluster is not None:
            cluster.close()


# -- the tiled layer -----------------------------------------------------------------------

def _seed(seed: int, key: Key) -> int:
    digest = hashlib.sha256(f"{seed}/{key[0]}/{key[1]}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class TiledLayer:
    """A signed weight matrix (``config.inputs`` x ``config.outputs``) on crossbar tiles (see the module text).

    Use as a context manager (or call :meth:`close`): it owns worker processes or a Dask client.
    """

    def __init__(self, config: CrossbarLayerConfig, tiles: TileSettings | None = None, title: str = "tile",
                 tia_feedback: Mapping[Key, float] | None = None):
        if not isinstance(config, CrossbarLayerConfig):
            raise ConfigError("layer", f"must be a CrossbarLayerConfig, got {type(config).__name__}")
        tiles = tiles or TileSettings()
        if not isinstance(tiles, TileSettings):
            raise ConfigError("tiles", f"must be a TileSettings, got {type(tiles).__name__}")
        self.config, self.settings = config, tiles
        self.map = TileMap(config.inputs, config.outputs, tiles.rows, tiles.columns, tiles.max_tiles)
        self.spots: dict[Key, TileSpot] = {s.key: s for s in self.map.spots}
        self.owner = {s.key: k for k, s in enumerate(self.map.spots)}
        feedback = dict(tia_feedback or {})
        for key, ohm in feedback.items():
            if key not in self.spots:
                raise ConfigError("tia_feedback", f"no tile {key!r} (the grid is {self.map.row_tiles} x "
                                                  f"{self.map.column_tiles})")
            f.number(f"tia_feedback[{key}]", ohm, low=0.0, low_open=True, unit="ohm")
        w0 = config.initial_weights()
        self.layer_id = uuid.uuid4().hex
        self.specs: dict[Key, TileSpec] = {}
        for key, spot in self.spots.items():
            c = dataclasses.replace(config, inputs=tiles.rows, outputs=self.map.pairs,
                                    initial=self.map.tile_weights(w0, spot), init_spread=0.0,
                                    seed=_seed(config.seed, key),
                                    faults=None if config.faults is None else
                                    dataclasses.replace(config.faults, seed=_seed(config.faults.seed, key)),
                                    tia=config.tia if key not in feedback else
                                    dataclasses.replace(config.tia, r_feedback=float(feedback[key])))
            self.specs[key] = TileSpec(key, c, f"{title} {key[0]},{key[1]}: {tiles.rows}x{tiles.columns}",
                                       self.layer_id, tiles.loaded_mb)
        first = next(iter(self.specs.values())).config
        self.tile_config = dataclasses.replace(first, initial=0.0)  # what every tile shares
        self.device = conductance_device(first.device.model, first.device.params, first.device.v_read)
        self._dac = Dac(first.periphery().dac)
        self.versions: dict[Key, int] = {key: 0 for key in self.specs}
        self._states: dict[Key, np.ndarray] = {}
        if tiles.scheduler:
            self.pool: LocalPool | InProcessPool | DaskPool = DaskPool(tiles.scheduler, tiles.workers,
                                                                       tiles.connect_timeout,
                                                                       tiles.retries, self.layer_id)
        elif tiles.workers == 0:
            self.pool = InProcessPool(self.layer_id)
        else:
            self.pool = LocalPool(tiles.workers, tiles.timeout, tiles.retries)

    def close(self) -> None:
        """Stop the workers (or close the Dask client)."""
        pool, self.pool = getattr(self, "pool", None), None
        if pool is not None:
            pool.close()

    def __enter__(self) -> "TiledLayer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def shape(self) -> tuple[int, int]:
        """(inputs, outputs) of the whole matrix."""
        return (self.config.inputs, self.config.outputs)

    @property
    def restarts(self) -> int:
        """Worker processes replaced after a crash or hang so far (local pool)."""
        return self.pool.restarts

    # -- running functions on tiles ------------------------------------------------------------
    def map_tiles(self, fn: Callable[..., Any], args: Mapping[Key, tuple] | None = None, writes: bool = False,
                  keys: list[Key] | None = None) -> dict[Key, Any]:
        """``fn(tile_layer, *args[key])`` on every tile (or those of ``keys``), in parallel across the workers;
        returns each tile's result. ``fn`` must be a module-level function of an importable module. With
        ``writes`` the tiles' states are read back afterwards, kept here and checkpointed."""
        if self.pool is None:
            raise ConfigError("tiles", "this tiled layer is closed")
        keys = list(self.specs) if keys is None else keys
        tasks = {}
        for key in keys:
            if key not in self.specs:
                raise ConfigError("tiles", f"no tile {key!r} (the grid is {self.map.row_tiles} x {self.map.column_tiles})")
            tasks[key] = (self.specs[key], self.versions[key], self._states.get(key), fn,
                          tuple(args[key]) if args is not None else (), writes)
        replies = self.pool.run(self.owner, tasks)
        for key, (_, state) in replies.items():
            if state is not None:  # a write, or the first call on a new tile (its starting state)
                self._states[key] = state
                self.versions[key] += writes
        if writes:
            if self.settings.checkpoint:
                self.save_states(self.settings.checkpoint)
        return {key: result for key, (result, _) in replies.items()}

    # -- state ------------------------------------------------------------------------------
    def states(self) -> dict[Key, np.ndarray]:
        """Every tile's state after its last completed write (rows x columns; see :func:`tile_state`). Tiles
        are built on their first call: before it, this reads each new tile's starting state."""
        missing = [key for key in self.specs if key not in self._states]
        if missing:
            self.map_tiles(initial_state, keys=missing)
        return {key: s.copy() for key, s in self._states.items()}

    def save_states(self, path: str | Path) -> Path:
        """Write every tile's state to an ``.npz`` file (atomically)."""
        buf = io.BytesIO()
        arrays = {f"tile_{r}_{c}": s for (r, c), s in self.states().items()}
        np.savez(buf, shape=np.array([*self.shape, self.map.rows, self.map.columns]), **arrays)
        return atomic_write_bytes(path, buf.getvalue())

    def load_states(self, path: str | Path) -> None:
        """Restore the states written by :meth:`save_states` (checked before anything changes); the workers
        load them on their next call."""
        try:
            data = np.load(path)
        except (OSError, ValueError) as exc:
            raise ConfigError("tiles.checkpoint", f"cannot read tile states from {path}: {exc}") from None
        want = [*self.shape, self.map.rows, self.map.columns]
        if "shape" not in data or data["shape"].tolist() != want:
            raise ConfigError("tiles.checkpoint", f"{path} holds a different tiling (matrix and tile shape "
                                                  f"{data['shape'].tolist() if 'shape' in data else '?'}, need {want})")
        self.set_states({key: data[f"tile_{key[0]}_{key[1]}"] for key in self.specs
                         if f"tile_{key[0]}_{key[1]}" in data}, f"{path}: ")

    def set_states(self, states: Mapping[Key, np.ndarray], where: str = "") -> None:
        """Every tile's device state from ``states`` (rows x columns per tile, as :meth:`states` returns), checked
        before anything changes; the workers load them on their next call."""
        new = {}
        current = self.states()
        for key in self.specs:
            s = states.get(key)
            if s is None or np.shape(s) != current[key].shape or not np.all(np.isfinite(s)):
                raise ConfigError("tiles.checkpoint", f"{where}tile {key} is missing or malformed")
            new[key] = np.array(s, dtype=float)
        for key, s in new.items():
            self._states[key] = s
            self.versions[key] += 1

    def tile_conductances(self) -> dict[Key, np.ndarray]:
        """Read conductance of every cell (siemens, rows x columns per tile) from the tiles' states."""
        states = self.states()
        if not self.device.has_state:
            return states
        return {key: self.device.conductance(s) for key, s in states.items()}

    def weights(self) -> np.ndarray:
        """The weights the tiles hold now (inputs x outputs): (G+ - G-) / k per pair."""
        k = self.tile_config.k
        return self.map.assemble({key: (g[:, 0::2] - g[:, 1::2]) / k for key, g in self.tile_conductances().items()})

    # -- writes -----------------------------------------------------------------------------
    def write_weights(self, weights: np.ndarray) -> None:
        """``ideal`` write of the whole matrix (inputs x outputs, weight units, clipped to +-w_max): each tile
        sets its cells to the conductance pairs of its block, all tiles in parallel."""
        w = self.map.check_weights(weights)
        self.map_tiles(write_tile_weights, {key: (self.map.tile_weights(w, s),) for key, s in self.spots.items()},
                       writes=True)

    def pulse_slots(self, slots: Mapping[Key, list[Slot]], timing: SlotTiming | None = None) -> dict[Key, SlotResult]:
        """Parallel pulse updates per tile: each tile of ``slots`` runs its slots (``Slot.select`` keyed 0, the
        tile; rows and physical columns of the tile) in one transient through its own drivers
        (:meth:`CrossbarCircuit.pulse_slots`; the energy of each supply group in the result), all tiles at once
        across the workers."""
        for key, tile_slots in slots.items():
            for n, slot in enumerate(tile_slots):
                if not isinstance(slot, Slot) or set(slot.select) - {0}:
                    raise ConfigError(f"slots[{key}][{n}]", "must be a Slot selecting layer 0 (the tile)")
        return self.map_tiles(pulse_tile_slots, {key: (list(v), timing) for key, v in slots.items()},
                              writes=True, keys=list(slots))

    def write_conductances(self, conductances: Mapping[Key, np.ndarray]) -> None:
        """``ideal`` write of the tiles in ``conductances``: each ``rows`` x ``columns`` siemens (plus device on
        physical column ``2j``, minus on ``2j + 1``; inside the device window), all tiles in parallel."""
        checked = {}
        for key, g in conductances.items():
            if key not in self.specs:
                raise ConfigError("conductances", f"no tile {key!r} (the grid is {self.map.row_tiles} x "
                                                  f"{self.map.column_tiles})")
            g = np.asarray(g, dtype=float)
            if g.shape != (self.map.rows, self.map.columns) or not np.all(np.isfinite(g)):
                raise ConfigError(f"conductances[{key}]", f"need {self.map.rows} x {self.map.columns} finite "
                                                          f"conductances (siemens), got shape {g.shape}")
            checked[key] = (g,)
        self.map_tiles(write_tile_conductances, checked, writes=True, keys=list(checked))

    def write_pair_conductances(self, plus: np.ndarray, minus: np.ndarray) -> None:
        """``ideal`` write of the whole matrix as conductance pairs: ``plus`` and ``minus`` (inputs x outputs,
        siemens) on each output's + and - column; padding cells at ``g_min``."""
        g_min = self.tile_config.device.g_min
        p = self.map.check_weights(plus, "plus")
        m = self.map.check_weights(minus, "minus")
        per_tile = {}
        for key, spot in self.spots.items():
            g = np.full((self.map.rows, self.map.columns), g_min)
            n_in, n_out = spot.inputs.stop - spot.inputs.start, spot.outputs.stop - spot.outputs.start
            g[:n_in, 0:2 * n_out:2] = p[spot.inputs, spot.outputs]
            g[:n_in, 1:2 * n_out:2] = m[spot.inputs, spot.outputs]
            per_tile[key] = g
        self.write_conductances(per_tile)

    # -- reads ------------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> TiledReadout:
        """Read ``x @ W`` for a batch ``x`` (batch x inputs, units of the DAC full scale): every tile reads its
        rows' inputs for the whole batch in one call (DAC, array, TIA, ADC), and the outputs of the row tiles
        of each column tile are added digitally."""
        x = self.map.check_inputs(x)
        reads = self.map_tiles(read_batch, {key: (self.map.tile_inputs(x, s),) for key, s in self.spots.items()})
        y = self.map.add_outputs(len(x), {key: r.outputs for key, r in reads.items()})
        return TiledReadout(y, reads)

    def dac_codes(self, x: np.ndarray) -> np.ndarray:
        """DAC codes of inputs ``x`` (batch x inputs, units of the full scale ``v_read``; clipped)."""
        return self._dac.code(self.map.check_inputs(x) * self.tile_config.device.v_read)

    def dac_voltages(self, codes: np.ndarray) -> np.ndarray:
        """Row voltages (volts) the tiles' DACs drive for DAC ``codes`` (e.g. a tile read's ``dac_codes``)."""
        return self._dac.voltage(codes)

    def ideal_outputs(self, x: np.ndarray) -> np.ndarray:
        """``x @ W`` in software from the DAC-quantized inputs and the tiles' present conductances (no wires,
        no ADC): batch x outputs, weight units."""
        v = self.dac_voltages(self.dac_codes(x))
        g = self.map.assemble({key: (c[:, 0::2] - c[:, 1::2]) for key, c in self.tile_conductances().items()})
        return v @ g / (self.tile_config.device.v_read * self.tile_config.k)
