"""The co-simulation session: one long-lived in-process ngspice that a trainer talks to step by step.

A session loads the device models and a netlist once. Then, step after step, it sets source
values and device parameters (``alter``), runs operating points and transients, and returns the
requested node voltages and source currents as numpy arrays, without re-parsing the netlist.

Device state is owned by the session: in an operating point every memristor's state is pinned
to its instance parameter ``x0`` (a read never moves it); a transient integrates the state from
``x0``, and at its end the session reads every state node and writes it back into ``x0``, so the
next analysis starts where the last one ended. Only requested vectors are saved and every plot
is dropped once read, so memory stays flat over long runs.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from memcosim.circuits.netlist import Netlist, check_name, check_node, fmt
from memcosim.circuits.waveforms import Pwl
from memcosim.devices.registry import get_model, source_digest
from memcosim.devices.retention import retention_law, to_kelvin
from memcosim.cosim.ngspice import CommandOutput, NgspiceLibrary
from memcosim.cosim.toolchain import require_ngspice
from memcosim.errors import ConfigError, MemcosimError, NetlistError, SimulationError

_SAVE_CHUNK = 60  # names per `save` command
_SAVE_LINE = 900  # characters per `save` command (ngspice truncates long command lines)
# Warm operating points (SessionOptions.warm_start): the paused DC analysis sweeps this source,
# which drives nothing; after WARM_POINTS points a new analysis starts (bounds the plot's memory).
_STEP_SOURCE = "vmemcosim_step"
WARM_POINTS = 1000
_PWL_VECTOR = "memcosim_pwl"  # the ngspice vector that carries a waveform too long for one command


def _save_commands(names: Sequence[str]) -> tuple[str, ...]:
    """`save` commands for ``names``: at most _SAVE_CHUNK names and _SAVE_LINE characters each."""
    out, line, count = [], "save", 0
    for name in names:
        if count == _SAVE_CHUNK or len(line) + 1 + len(name) > _SAVE_LINE:
            out.append(line)
            line, count = "save", 0
        line += " " + name
        count += 1
    out.append(line)
    return tuple(out)
log = logging.getLogger("memcosim.session")
# ngspice's own defaults of the options the retry ladder raises (restored after a retry)
_NGSPICE_DEFAULTS = {"itl1": 100.0, "itl4": 10.0, "gminsteps": 10.0, "srcsteps": 10.0}
# what ngspice prints when an analysis did not converge (other failures are not retried)
_NON_CONVERGENCE = re.compile(
    r"timestep too small|no convergence|singular matrix|gmin stepping failed|source stepping failed|"
    r"iteration limit|could not be simulated|simulation\(s\) aborted|trouble with", re.IGNORECASE)


# The in-process sessions whose circuits ngspice holds, in ngspice's own order (newest first: `setcirc N`
# selects the N-th of this list), and the one whose circuit is ngspice's current circuit.
_CIRCUITS: list["Session"] = []
_CURRENT: "Session | None" = None
_NAMES = itertools.count(1)  # makes each loaded circuit's name (its title line) unique in the process
# Verilog-A module name -> OSDI file loaded under it in this process. ngspice keeps the first
# module loaded under a name, so a model whose source changed since is loaded under an alias.
_LOADED_MODULES: dict[str, str] = {}


def in_process_session() -> "Session | None":
    """The in-process :class:`Session` whose circuit ngspice holds as its current one (the last one used),
    or None when no in-process session is open (worker sessions run ngspice in their own processes and
    never count)."""
    return _CURRENT if _CURRENT is not None else (_CIRCUITS[0] if _CIRCUITS else None)


def open_circuits() -> int:
    """Number of in-process sessions open in this process (circuits ngspice holds)."""
    return len(_CIRCUITS)


@dataclass
class Result:
    """Vectors read from one analysis: ``values[name]`` for each requested node or source. A transient
    also carries ``energy``: joules delivered by each supply group of the netlist (:attr:`Netlist.supplies`),
    the integral over the run of ``-V I`` of every element in the group."""

    analysis: str
    values: dict[str, np.ndarray]
    time: np.ndarray | None = None
    energy: dict[str, float] = field(default_factory=dict)

    @property
    def total_energy(self) -> float:
        """Joules delivered by every supply of the circuit in this transient (sum over the groups)."""
        return float(sum(self.energy.values()))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def stack(self, names: Sequence[str]) -> np.ndarray:
        """The named vectors as one array (operating point: shape (n,); transient: (n, time))."""
        return np.array([self.values[n] for n in names])


@dataclass
class SessionOptions:
    """Simulator settings applied when the circuit is loaded."""

    library_path: str | None = None
    temperature: float = 27.0  # degrees Celsius
    reltol: float = 1e-3
    abstol: float = 1e-12  # amperes
    vntol: float = 1e-6  # volts
    extra: dict[str, float] = field(default_factory=dict)
    # Non-convergence retry ladder (see Session.run_analysis): an op or tran that does not converge is
    # run again with (1) gmin stepping, (2) source stepping, and for a transient (3) a 10x and
    # (4) a 100x smaller largest time step, before SimulationError is raised. False: fail at once.
    retry: bool = True
    # A transient's final device state replaces x0 only where it moved by more than this fraction of
    # the model's state range (0 = any change). Unselected devices move by solver noise in a
    # transient; a small tolerance saves one `alter` per such device.
    state_tolerance: float = 0.0
    # Crash isolation (memcosim.cosim.worker): run ngspice in a worker process owned by the session.
    # A crash, abort, exit or hang (no answer within `timeout` seconds; None = wait forever) raises
    # WorkerCrash, restarts the worker and restores the last completed step. False: in this process.
    worker: bool = True
    timeout: float | None = 600.0
    # Warm operating points: consecutive `op` calls that only change source values run as the points
    # of one paused DC analysis (ngspice `step`): no circuit set-up per point, and Newton starts from
    # the previous solution. Same answer within the solver tolerance (reltol); a device parameter or
    # state change, a transient or an option change starts a new analysis. False: every op from scratch.
    warm_start: bool = True
    # Every transient integrates the energy of each supply group of the netlist (Result.energy): the
    # current and terminal voltages of every declared supply are saved. False: no energy (fewer vectors).
    energy: bool = True
    # In-process sessions only: opening this session keeps the process's other open in-process sessions.
    # ngspice then holds several circuits; each session makes its own circuit ngspice's current one
    # (`setcirc`) before it sends a command, so switching between open circuits costs no reload (a
    # session's paused warm operating points end when another circuit is used). False: opening a session
    # closes every other in-process session (one circuit in ngspice at a time).
    keep_others: bool = False


class Session:
    """A persistent ngspice session holding one circuit, with ngspice in this process.

    Open sessions with :func:`memcosim.cosim.engine.open_session`: by default
    (``SessionOptions.worker``) it gives a :class:`memcosim.cosim.worker.WorkerSession` (ngspice in a
    worker process the session owns: a crash or hang raises WorkerCrash and costs one step); with
    ``worker=False`` this in-process class (``session.library``; one open session per process, or several
    with ``SessionOptions.keep_others``, each its own circuit in the one ngspice).

    >>> s = open_session(netlist)                  # loads models + netlist once
    >>> s.set_sources({"VROW0": 0.2})              # volts
    >>> s.op(currents=["VCOL0"])["VCOL0"]          # amperes

    ``step`` counts the analyses run so far (the step a :class:`~memcosim.errors.SimulationError` names);
    ``convergence`` counts the analyses the retry ladder retried, rescued and failed.
    """

    @property
    def in_process(self) -> bool:
        """True: ngspice runs in this process (``session.library`` is the library itself)."""
        return True

    def run(self, fn, *args, **kwargs):
        """``fn(session, *args, **kwargs)`` on the in-process session (in a worker session: inside the worker)."""
        self._require_open()
        self.library  # this session's circuit is ngspice's current one while fn runs
        return fn(self, *args, **kwargs)

    def __init__(self, netlist: Netlist, options: SessionOptions | None = None):
        global _CURRENT
        if not isinstance(netlist, Netlist):
            raise TypeError("Session needs a memcosim Netlist (see memcosim.circuits)")
        self.options = options or SessionOptions()
        if self.options.worker:
            raise ConfigError("worker", "Session runs ngspice in this process; open sessions with "
                              "memcosim.cosim.engine.open_session (worker=True gives a worker-process session)")
        self.netlist = netlist
        self._library = NgspiceLibrary.get(self.options.library_path)
        self.toolchain = require_ngspice(self._library)
        if getattr(self.options, "keep_others", False):
            if _CURRENT is not None:
                _CURRENT.release()
        else:
            for other in list(_CIRCUITS):
                other.close()
        self._closed = True  # until the circuit is loaded
        self.step = 0
        # non-convergence retry ladder: analyses retried, rescued (a later rung converged), failed
        # after the whole ladder; rescues per rung name
        self.convergence = {"retried": 0, "rescued": 0, "failed": 0, "rungs": {}}
        self._saved: tuple[str, ...] | None = None
        # the paused DC analysis of warm operating points: (plot name, saved vectors, points so far)
        self._warm: tuple[str, tuple[str, ...], int] | None = None
        self._waveform_sources: set[str] = set()
        self._sources = {e.name.lower(): e for e in netlist.elements if e.kind in ("voltage source", "current source")}
        self._dc = {e.name: float(e.rest.split()[1]) for e in self._sources.values()}
        self._elements = {e.name.lower(): e for e in netlist.elements}
        self.devices = list(netlist.memristors)
        self._device_index = {m.name.lower(): k for k, m in enumerate(self.devices)}
        self._device_models = {name: get_model(name) for name in netlist.device_models}
        self.states = np.array(
            [dict(m.params).get("x0", self._device_models[m.model].state_default) for m in self.devices], dtype=float
        )
        self._state_vectors = [m.state_node.lower() for m in self.devices]
        self._params_set: dict[tuple[str, str], float] = {}  # instance parameters set since loading
        self._load_models()
        self._load(netlist)
        self._closed = False
        _CIRCUITS.insert(0, self)  # ngspice puts a new circuit first in its list and makes it current
        _CURRENT = self

    # -- the circuit ngspice works on ------------------------------------------------------
    @property
    def library(self) -> NgspiceLibrary:
        """This process's ngspice, with this session's circuit as its current circuit (switched to with
        ``setcirc`` when another open session used ngspice last)."""
        if _CURRENT is not self and self in _CIRCUITS:
            self._activate()
        return self._library

    @property
    def closed(self) -> bool:
        """True once the session is closed (by :meth:`close`, or by a session opened without ``keep_others``)."""
        return self._closed

    def release(self) -> None:
        """Another circuit is about to become ngspice's current one: end this session's paused analysis
        (its plot would not survive the other circuit's analyses)."""
        self._end_warm()

    def _activate(self) -> None:
        """Make this session's circuit ngspice's current circuit."""
        global _CURRENT
        if _CURRENT is not None:
            _CURRENT.release()
        lib = self._library
        out = lib.command(f"setcirc {_CIRCUITS.index(self) + 1}")
        if [line.strip().lower() for line in out.stdout if line.strip()][-1:] != [self._circuit_name.lower()]:
            # ngspice's list is not what this process thinks: find the circuit by its (unique) name
            out = lib.command("setcirc")
            names = [line.split("\t")[-1].strip().lower() for line in out.stdout if "\t" in line]
            if self._circuit_name.lower() not in names:
                _CURRENT = None
                raise MemcosimError(f"ngspice no longer holds the circuit '{self.netlist.title}' "
                                    f"({self._circuit_name}); its session is closed")
            lib.command(f"setcirc {names.index(self._circuit_name.lower()) + 1}")
        _CURRENT = self

    # -- loading ----------------------------------------------------------------------
    def _load_models(self) -> None:
        """Load each device model's OSDI file once per process; ``self._modules`` maps each Verilog-A module to the module name loaded for it."""
        self._modules: dict[str, str] = {}
        for name, model in self._device_models.items():
            path = str(model.compile())
            module = model.name
            if _LOADED_MODULES.get(module, path) != path:  # edited since loaded, or another file's module
                module = f"{model.name}__{source_digest(model.source)}"
                path = str(model.compile(module))
            if module not in _LOADED_MODULES:
                out = self._library.command(f"osdi {path}")
                if out.failed:
                    raise NetlistError(f"ngspice could not load the compiled model {name} ({path}): {out.message()}")
                _LOADED_MODULES[module] = path
            self._modules[model.name] = module

    def _render(self, netlist: Netlist) -> str:
        """The netlist text for ngspice, ``.model`` cards pointing at the modules loaded for this session."""
        text = netlist.render()
        for name, module in self._modules.items():
            if module != name:
                text = re.sub(rf"^(\.model\s+\S+\s+){re.escape(name)}\b", rf"\g<1>{module}", text,
                              flags=re.MULTILINE | re.IGNORECASE)
        return text

    def _load(self, netlist: Netlist) -> None:
        o = self.options
        netlist.options.setdefault("klu", "")
        extra = {"temp": o.temperature, "reltol": o.reltol, "abstol": o.abstol, "vntol": o.vntol, **o.extra}
        for k, v in extra.items():
            netlist.options[check_name(k, "simulator option")] = fmt(v, f"option {k}")
        text = self._render(netlist)
        # a name of its own in ngspice's list of circuits (the title line), to switch to it with `setcirc`
        title, rest = text.split("\n", 1)
        self._circuit_name = f"{title.strip()} [memcosim circuit {next(_NAMES)}]"
        text = f"{self._circuit_name}\n{rest}"
        if o.warm_start:  # the source the warm operating points sweep: its own node, drives nothing
            head, end = text.rstrip().rsplit("\n", 1)
            text = f"{head}\n{_STEP_SOURCE} {_STEP_SOURCE}_node 0 dc 0\n{end}\n"
        out = self._library.load_circuit(text)
        errors = [l for l in out.error_lines() if "osdi libs have not been loaded" not in l.lower()]
        if errors or "circuit not parsed" in " ".join(out.stderr).lower():
            self._remove_failed()
            raise NetlistError(f"ngspice rejected the netlist '{netlist.title}': {' | '.join(dict.fromkeys(errors))}")

    def _remove_failed(self) -> None:
        """Remove the circuit ngspice refused, if ngspice kept it as its current circuit."""
        global _CURRENT
        listed = self._library.command("setcirc").stdout
        if any(line.startswith("Current") and line.split("\t")[-1].strip().lower() == self._circuit_name.lower()
               for line in listed):
            self._library.command("remcirc")
        _CURRENT = None  # the next session to use ngspice selects its circuit

    def close(self) -> None:
        """Remove the circuit from ngspice. The session cannot be used afterwards."""
        global _CURRENT
        if self._closed:
            return
        lib = self.library  # this circuit made current
        self._closed = True
        self._end_warm()
        lib.command("destroy all")
        lib.command("remcirc")
        _CIRCUITS.remove(self)
        _CURRENT = None  # ngspice made its newest circuit current; the next session to use ngspice selects its own

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> None:
        if self._closed:
            raise MemcosimError("this session is closed (a newer Session took over ngspice, or close() was called)")

    # -- setting values ---------------------------------------------------------------
    def _source(self, name: str):
        e = self._sources.get(str(name).lower())
        if e is None:
            raise NetlistError(f"no independent source named {name!r} in circuit '{self.netlist.title}'")
        return e

    def _element(self, name: str):
        """The netlist element called ``name`` (any case); NetlistError if there is none."""
        e = self._elements.get(str(name).lower())
        if e is None:
            raise NetlistError(f"no element named {name!r}")
        return e

    def set_sources(self, values: Mapping[str, float]) -> None:
        """Set DC values of independent sources (volts for V sources, amperes for I sources)."""
        self._require_open()
        for name, value in values.items():
            e = self._source(name)
            # a source value is all a warm operating point may change (see SessionOptions.warm_start)
            self._alter(f"alter {e.name} dc={fmt(value, f'source {name}')}", keeps_warm=True)
            self._dc[e.name] = float(value)

    def _checked_params(self, name: str, params: Mapping[str, float]):
        """The element ``name`` and its device index (None: not a memristor), every parameter name and value of
        ``params`` checked before any is set."""
        self._require_open()
        e = self._element(name)
        device = self._device_index.get(e.name.lower())
        for key, value in params.items():
            check_name(key, "instance parameter")
            if device is not None:  # ngspice matches names without case: only the model's own spelling
                self._device_models[self.devices[device].model].parameter_name(key)
            fmt(value, f"{name} {key}")
        return e, device

    def set_device_params(self, name: str, **params: float) -> None:
        """Set instance parameters of one element (e.g. a memristor's variation knobs)."""
        e, device = self._checked_params(name, params)
        for key, value in params.items():
            if key == "x0" and device is not None:
                self.set_states({e.name: value})
                continue
            self._alter(f"alter {e.name} {key}={fmt(value, f'{name} {key}')}")
            self._params_set[(e.name, key)] = float(value)

    def set_states(self, states: Mapping[str, float] | np.ndarray | Sequence[float]) -> None:
        """Set device states (model state units): a mapping name -> state, or one value per device."""
        self._require_open()
        for k, v in self._checked_states(states):
            self._write_state(k, v)

    def _checked_states(self, states: Mapping[str, float] | np.ndarray | Sequence[float]) -> list[tuple[int, float]]:
        """(device index, state) pairs, every state checked against its model's bounds before any is written."""
        if isinstance(states, Mapping):
            items = [(self._device_index_of(n), v) for n, v in states.items()]
        else:
            arr = np.asarray(states, dtype=float).ravel()
            if arr.shape != self.states.shape:
                raise ValueError(f"states: expected {self.states.size} values, got {arr.size}")
            items = list(enumerate(arr))
        checked = []
        for k, v in items:
            m = self.devices[k]
            checked.append((k, self._device_models[m.model].check_state(v, f"state of {m.name}")))
        return checked

    def _device_index_of(self, name: str) -> int:
        k = self._device_index.get(str(name).lower())
        if k is None:
            raise NetlistError(f"no memristor named {name!r}")
        return k

    def _write_state(self, k: int, value: float) -> None:
        self._alter(f"alter {self.devices[k].name} x0={value!r}")
        self.states[k] = value

    def _alter(self, command: str, keeps_warm: bool = False) -> None:
        if not keeps_warm:
            self._end_warm()
        out = self.library.command(command)
        if out.failed:
            raise NetlistError(f"ngspice refused `{command}`: {out.message()}")

    # -- analyses ---------------------------------------------------------------------
    def _vector_name(self, name: str, kind: str) -> str:
        if kind == "current":
            return f"{self._source(name).name.lower()}#branch"
        # a node inside a sub-circuit instance reads as <instance>.<node> (e.g. xadc0.code)
        return ".".join(check_node(part) for part in str(name).split(".")).lower()

    def _save(self, vectors: Iterable[str]) -> None:
        wanted = tuple(sorted(set(vectors)))
        if wanted == self._saved:
            return
        self.library.command("delete all")
        if not wanted:
            # never `save none`: ngspice keeps it past `remcirc`, and every later circuit's transients in
            # this process would hold one point per vector; an analysis that needs nothing saves one
            # voltage source's current (or, without one, everything)
            first = next((e for e in self._sources.values() if e.kind == "voltage source"), None)
            wanted_cmd = (f"save {first.name.lower()}#branch",) if first is not None else ()
        else:
            wanted_cmd = _save_commands(wanted)
        for cmd in wanted_cmd:
            self.library.command(cmd)
        self._saved = wanted

    def run_analysis(self, analysis: str, command: str, smaller_steps: Sequence[str] = ()) -> CommandOutput:
        """Run the ngspice analysis ``command`` (counted as one ``step``, named ``analysis`` in errors);
        if it does not converge, climb the retry ladder before raising :class:`SimulationError`.

        The ladder (each rung logged as a warning on ``memcosim.session``, counted in
        ``self.convergence``): 1. gmin stepping (``gminsteps`` 100, ``itl1`` >= 400), 2. source
        stepping (``srcsteps`` 100, ``itl1`` >= 400), then for a transient the commands in
        ``smaller_steps`` (the same transient with a smaller largest time step, ``itl4`` >= 100,
        gmin and source stepping on). Options are restored afterwards. Failures that are not
        convergence problems (e.g. a missing model) are raised at once.
        """
        self._end_warm()
        self.step += 1
        out = self.library.command(command)
        if not out.failed:
            return out
        self.library.command("destroy all")
        if not self.options.retry or not _NON_CONVERGENCE.search(out.message()):
            raise SimulationError(analysis, self.step, out.message())
        first = out.message()
        base = {k: float(self.netlist.options.get(k, v)) for k, v in _NGSPICE_DEFAULTS.items()}
        itl1 = max(base["itl1"], 400.0)
        rungs = [("gmin stepping", {"gminsteps": 100.0, "itl1": itl1}, command),
                 ("source stepping", {"srcsteps": 100.0, "itl1": itl1}, command)]
        for k, smaller in enumerate(smaller_steps):
            rungs.append((f"time step / {10 ** (k + 1)}", {"gminsteps": 100.0, "srcsteps": 100.0, "itl1": itl1,
                                                          "itl4": max(base["itl4"], 100.0)}, smaller))
        self.convergence["retried"] += 1
        tried = []
        try:
            for name, opts, cmd in rungs:
                log.warning("%s at session step %d did not converge (%s); retrying with %s",
                            analysis, self.step, out.message()[:200], name)
                self._set_options({**base, **opts})
                out = self.library.command(cmd)
                tried.append(name)
                if not out.failed:
                    self.convergence["rescued"] += 1
                    rung = self.convergence["rungs"]
                    rung[name] = rung.get(name, 0) + 1
                    log.warning("%s at session step %d converged with %s", analysis, self.step, name)
                    return out
                self.library.command("destroy all")
        finally:
            self._set_options(base)
        self.convergence["failed"] += 1
        raise SimulationError(analysis, self.step, f"{first} (not rescued by {', '.join(tried)}: {out.message()})")

    # solver options a caller may change for a block of analyses (SessionOptions fields of the same name)
    SOLVER_OPTIONS = ("reltol", "abstol", "vntol")

    @contextmanager
    def solver_options(self, **values: float) -> Iterator["Session"]:
        """The analyses inside the ``with`` block run at these solver tolerances (``reltol``, ``abstol``
        amperes, ``vntol`` volts); the session's own (:class:`SessionOptions`) apply again after it.
        E.g. programming transients at looser tolerances than the operating points of a trainer
        that takes differences of nearby solutions. Values are checked before anything changes."""
        self._require_open()
        for name, value in values.items():
            if name not in self.SOLVER_OPTIONS:
                raise ConfigError(f"solver_options.{name}", f"unknown; known: {', '.join(self.SOLVER_OPTIONS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ConfigError(f"solver_options.{name}", f"must be a positive finite number, got {value!r}")
        rendered = {"reltol": self.options.reltol, "abstol": self.options.abstol, "vntol": self.options.vntol,
                    **self.options.extra}
        own = {name: float(rendered[name]) for name in values}
        self._set_options(values)
        try:
            yield self
        finally:
            self._set_options(own)

    def _set_options(self, values: Mapping[str, float]) -> None:
        self._end_warm()
        self.library.command("option " + " ".join(f"{check_name(k, 'option')}={fmt(v)}" for k, v in values.items()))

    def _read(self, analysis: str, requests: list[tuple[str, str]]) -> dict[str, np.ndarray]:
        values = {}
        for key, vec in requests:
            data = self.library.vector(vec)
            if data is None:
                self.library.command("destroy all")
                raise SimulationError(analysis, self.step, f"ngspice produced no vector {vec!r}")
            values[key] = data
        return values

    def op(self, voltages: Sequence[str] = (), currents: Sequence[str] = (), *, save_all: bool = False) -> Result:
        """Operating point. Returns node ``voltages`` (volts) and source ``currents`` (amperes).

        ``save_all``: ngspice keeps every vector of the analysis instead of a `save` list of the
        requested ones (cheaper for reads of thousands of nodes, whose `save` list costs more than the
        analysis); such an operating point always starts from scratch (no warm start)."""
        self._require_open()
        requests = [(n, self._vector_name(n, "voltage")) for n in voltages]
        requests += [(n, self._vector_name(n, "current")) for n in currents]
        if save_all:
            self._end_warm()
            self.library.command("delete all")
            self._saved = None  # the next analysis with a `save` list issues it again
        else:
            if self.options.warm_start and requests:
                values = self._warm_op(requests)
                if values is not None:
                    return Result("op", values)
            self._save(v for _, v in requests)
        self.run_analysis("op", "op")
        values = self._read("op", requests)
        self.library.command("destroy all")
        return Result("op", {k: v[0] for k, v in values.items()})

    # -- warm operating points (SessionOptions.warm_start) ----------------------------------
    def _warm_op(self, requests: list[tuple[str, str]]) -> dict[str, float] | None:
        """The next point of the paused DC analysis (started here if needed), or None if ngspice
        did not deliver it (then the caller runs a plain `op` with the retry ladder)."""
        wanted = tuple(sorted({v for _, v in requests}))
        first = requests[0][1]
        warm = self._warm
        if warm is not None and warm[1] == wanted and warm[2] < WARM_POINTS:
            plot, _, points = warm
            self.step += 1
            out = self.library.command("step")
            if (not out.failed and self.library.current_plot() == plot
                    and self.library.vector_length(first) == points + 1):
                self._warm = (plot, wanted, points + 1)
                return self._read_point("op", requests)
            self.step -= 1  # not delivered: the plain op below counts this step
        self._end_warm()
        # a new paused DC analysis: `stop after 1` pauses it after its first point (a plain operating
        # point); the breakpoint is then deleted so that it cannot stop any other analysis
        self._save(wanted)
        self.library.command("stop after 1")
        self.step += 1
        out = self.library.command(f"dc {_STEP_SOURCE} 0 {WARM_POINTS} 1")
        self._saved = None
        self._save(wanted)  # `delete all` + `save`: removes the breakpoint
        plot = self.library.current_plot()
        if out.failed or not plot.startswith("dc") or self.library.vector_length(first) != 1:
            self.step -= 1
            self.library.command("destroy all")
            return None
        self._warm = (plot, wanted, 1)
        return self._read_point("op", requests)

    def _read_point(self, analysis: str, requests: list[tuple[str, str]]) -> dict[str, float]:
        """The last point of each requested vector of the current plot."""
        values = {}
        for key, vec in requests:
            data = self.library.vector(vec, start=-1)
            if data is None or data.size != 1:
                self._end_warm()
                raise SimulationError(analysis, self.step, f"ngspice produced no vector {vec!r}")
            values[key] = float(data[0])
        return values

    def forget_solution(self) -> None:
        """Solve the next operating point from scratch, not from the previous one (warm start).

        Warm operating points agree with cold ones within the solver tolerance but depend on what was
        solved before; after this call, results depend only on the circuit's present values. Trainers
        call it at every batch, so that a resumed run repeats an uninterrupted one exactly."""
        self._require_open()
        self._end_warm()

    @property
    def warm_points(self) -> int:
        """Points of the paused DC analysis of warm operating points so far (0: none is paused)."""
        return 0 if self._warm is None else self._warm[2]

    def _end_warm(self) -> None:
        """Abandon the paused DC analysis of warm operating points (if any) and drop its plot."""
        if self._warm is not None:
            self._warm = None
            self.library.command("destroy all")

    def tran(
        self, stop: float, step: float | None = None, *, waveforms: Mapping[str, Pwl] | None = None,
        voltages: Sequence[str] = (), currents: Sequence[str] = (), max_step: float | None = None,
        states: bool = False, reltol: float | None = None,
    ) -> Result:
        """Transient from 0 to ``stop`` seconds with source ``waveforms``; then carries device states.

        Sources without a waveform hold their DC value. ``states=True`` also returns every device's
        state trajectory under ``"states"`` (devices x time). ``reltol``: the relative tolerance of this
        transient if it is tighter than the session's own (programming pulses, whose state change
        accumulates the Newton tolerance of every time step).
        """
        self._require_open()
        if not (isinstance(stop, (int, float)) and math.isfinite(stop) and stop > 0):
            raise ValueError(f"tran stop time must be > 0 s, got {stop!r}")
        step = step or stop / 100
        if not step > 0 or (max_step is not None and not max_step > 0):
            raise ValueError("tran step and max_step must be > 0 s")
        waveforms = dict(waveforms or {})
        # Waveform sources: the transient's own initial operating point uses the DC value, so
        # the DC value is set to the waveform's value at t=0 for the run and restored after.
        restore: dict[str, float] = {}
        for name, wave in waveforms.items():
            e = self._source(name)
            if not isinstance(wave, Pwl):
                raise TypeError(f"waveform of {name} must be a Pwl, got {type(wave).__name__}")
            restore[e.name] = self._dc[e.name]
            self._alter_pwl(e.name, wave)
            self._alter(f"alter {e.name} dc={fmt(wave.values[0])}")
            self._waveform_sources.add(e.name)
        for name in sorted(self._waveform_sources - {self._source(n).name for n in waveforms}):
            self._alter(f"alter @{name.lower()}[pwl] = [ 0 {fmt(self._dc[name])} ]")
        requests = [(n, self._vector_name(n, "voltage")) for n in voltages]
        requests += [(n, self._vector_name(n, "current")) for n in currents]
        supplies = self.netlist.supplies if self.options.energy else []
        supply_vectors = [v for s in supplies for v in (s.current_vector, *s.voltage_vectors)]
        self._save([v for _, v in requests] + supply_vectors + self._state_vectors + ["time"])
        cmd = f"tran {fmt(step)} {fmt(stop)}" + (f" 0 {fmt(max_step)}" if max_step else "")
        largest = min(step, max_step) if max_step else step
        smaller = [f"tran {fmt(min(step, largest / d))} {fmt(stop)} 0 {fmt(largest / d)}" for d in (10, 100)]
        tighter = reltol is not None and reltol < self.options.reltol
        try:
            with self.solver_options(reltol=reltol) if tighter else nullcontext():
                self.run_analysis("tran", cmd, smaller)
            values = self._read("tran", requests + [("time", "time")])
            energy = self._supply_energy(supplies, values["time"]) if supplies else {}
            final = np.array(list(self._read_point("tran", [(v, v) for v in self._state_vectors]).values()))
            trajectories = (
                np.array([self.library.vector(v) for v in self._state_vectors]) if (states and self.devices) else None
            )
        finally:
            self.library.command("destroy all")
            for name, dc in restore.items():
                self._alter(f"alter {name} dc={fmt(dc)}")
        self._carry_states(final)
        time = values.pop("time")
        if trajectories is not None:
            values["states"] = trajectories
        return Result("tran", values, time, energy)

    def _supply_energy(self, supplies, time: np.ndarray) -> dict[str, float]:
        """Joules per supply group over the transient just run: the integral of ``-V(plus, minus) I`` of each
        supply (trapezoids on ngspice's time points), summed by group in the order first declared."""
        names = {v for s in supplies for v in (s.current_vector, *s.voltage_vectors)}
        vectors = self._read("tran", [(v, v) for v in sorted(names)])
        zero = np.zeros_like(time)
        energy: dict[str, float] = {}
        for s in supplies:
            volts = vectors.get(s.plus.lower(), zero) - vectors.get(s.minus.lower(), zero)
            joules = float(np.trapezoid(-volts * vectors[s.current_vector], time))
            energy[s.group] = energy.get(s.group, 0.0) + joules
        return energy

    def ac(self, start: float, stop: float, points_per_decade: int = 20, *, voltages: Sequence[str] = (),
           currents: Sequence[str] = ()) -> Result:
        """Small-signal analysis from ``start`` to ``stop`` hertz (``points_per_decade`` per decade) around
        the operating point, driven by the sources' ``ac`` magnitudes. Returns complex node ``voltages``
        and source ``currents``; ``Result.time`` holds the frequencies (hertz)."""
        self._require_open()
        if not (0 < start < stop < math.inf):
            raise ValueError(f"ac needs 0 < start < stop hertz, got {start!r} .. {stop!r}")
        if isinstance(points_per_decade, bool) or not isinstance(points_per_decade, int) or points_per_decade < 1:
            raise ValueError(f"ac points per decade must be an integer >= 1, got {points_per_decade!r}")
        requests = [(n, self._vector_name(n, "voltage")) for n in voltages]
        requests += [(n, self._vector_name(n, "current")) for n in currents]
        self._save([v for _, v in requests] + ["frequency"])
        try:
            self.run_analysis("ac", f"ac dec {points_per_decade} {fmt(start)} {fmt(stop)}")
            values = {}
            for key, vec in requests + [("frequency", "frequency")]:
                data = self.library.complex_vector(vec)
                if data is None:
                    raise SimulationError("ac", self.step, f"ngspice produced no vector {vec!r}")
                values[key] = data
        finally:
            self.library.command("destroy all")
        frequency = values.pop("frequency").real
        return Result("ac", values, frequency)

    def _alter_pwl(self, source: str, wave: Pwl) -> None:
        """Give ``source`` the waveform ``wave``: in one `alter` if it fits in an ngspice command line,
        else through an ngspice vector filled value by value (any length)."""
        command = f"alter @{source.lower()}[pwl] = [ {wave.render()} ]"
        if len(command) <= self.library.MAX_COMMAND:
            self._alter(command)
            return
        values = [v for point in zip(wave.times, wave.values) for v in point]
        self._end_warm()
        self.library.command(f"let {_PWL_VECTOR} = vector({len(values)})")
        for k, v in enumerate(values):
            self._alter(f"let {_PWL_VECTOR}[{k}] = {fmt(v)}")
        self._alter(f"alter @{source.lower()}[pwl] = {_PWL_VECTOR}")
        self.library.command(f"unlet {_PWL_VECTOR}")

    def _carry_states(self, final: np.ndarray) -> None:
        """Write the states reached at the end of a transient into each device's ``x0``
        (where they moved by more than ``options.state_tolerance`` of the state range)."""
        tol = self.options.state_tolerance
        for k, m in enumerate(self.devices):
            model = self._device_models[m.model]
            value = float(min(max(final[k], model.state_min), model.state_max))
            if value != self.states[k] and (
                    tol == 0 or abs(value - self.states[k]) > tol * (model.state_max - model.state_min)):
                self._write_state(k, value)

    # -- retention -------------------------------------------------------------------
    def device_parameters(self, indices: Sequence[int], names: Sequence[str]) -> dict[str, np.ndarray]:
        """Each parameter in ``names`` for the devices at ``indices``: the model's default, its
        ``.model`` card, the instance's netlist value and any :meth:`set_device_params` since, in that order."""
        out = {n: np.empty(len(indices)) for n in names}
        for j, k in enumerate(indices):
            m = self.devices[k]
            values = dict(self._device_models[m.model].parameters)
            values.update(dict(self.netlist.model_cards[m.card][1]) if m.card in self.netlist.model_cards else {})
            values.update(dict(m.params))
            values.update({key: v for (name, key), v in self._params_set.items() if name == m.name})
            for n in names:
                out[n][j] = values[n]
        return out

    def age(self, seconds: float, *, kelvin: float | None = None, celsius: float | None = None) -> np.ndarray:
        """Age every device by ``seconds`` at zero bias and a temperature (``kelvin`` or ``celsius``, one of them).

        Each model's zero-bias state equation (:mod:`memcosim.devices.retention`, the same one its
        Verilog-A integrates in a transient) is solved in closed form for the whole span, and the new
        states are written into the devices' ``x0``; reads and writes afterwards work as before.
        Returns the new states (model units, one per device).
        """
        self._require_open()
        t = to_kelvin(kelvin, celsius)
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"ageing time must be >= 0 s, got {seconds!r}")
        new = self.states.copy()
        for name in sorted({m.model for m in self.devices}):
            law = retention_law(self._device_models[name].name)
            idx = [k for k, m in enumerate(self.devices) if m.model == name]
            params = self.device_parameters(idx, law.parameters)
            new[idx] = law.age(self.states[idx], float(seconds), t, params)
        for name in sorted({m.model for m in self.devices}):
            model = self._device_models[name]
            idx = [k for k, m in enumerate(self.devices) if m.model == name]
            new[idx] = np.clip(new[idx], model.state_min, model.state_max)
        changed = np.flatnonzero(new != self.states)
        if changed.size:
            self.set_states({self.devices[k].name: float(new[k]) for k in changed})
        return self.states.copy()

    # -- convenience ------------------------------------------------------------------
    def state(self, name: str) -> float:
        """Current state of memristor ``name`` (model state units)."""
        return float(self.states[self._device_index_of(name)])

    def state_array(self, names: np.ndarray) -> np.ndarray:
        """States of the memristors named in ``names`` (any shape), in the same shape."""
        flat = [self.states[self._device_index_of(n)] for n in np.ravel(names)]
        return np.array(flat, dtype=float).reshape(np.shape(names))
