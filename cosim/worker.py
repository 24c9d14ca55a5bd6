"""ngspice in a worker process owned by the session: a crash, abort, exit or hang costs one step, not the run.

``open_session(netlist)`` (:mod:`memcosim.cosim.engine`, with ``SessionOptions(worker=True)``, the
default) returns a :class:`WorkerSession`: the same public API (``set_sources``, ``set_states``, ``set_device_params``, ``op``, ``tran``,
``states``, ``devices``, ``netlist``, ``step``, ``convergence``, ``state``, ``state_array``), with
the in-process :class:`~memcosim.cosim.session.Session` running in a child process. Each call is
one message over a pipe; calls that only set values (sources, states, parameters) are checked in
this process first and not waited for, so a read step costs one round trip.

This process keeps what the worker needs to be rebuilt: the netlist, every source value and
device parameter set so far, and the device states after the last completed call. When the worker
dies (a signal, ``abort()``, ``exit()``) or does not answer within ``SessionOptions.timeout``
seconds, the call raises :class:`~memcosim.errors.WorkerCrash` (a ``SimulationError`` naming the
step and what happened), a new worker is started and loaded with that state, and the next call
works: the failed step left no trace.

A worker is a new Python interpreter (not a fork of the caller), and a closed session's worker
(ngspice loaded, models compiled) is kept for the next session, so only the first session of a
process (and a restart) pays the interpreter's start. Raw access to the ngspice library needs
the in-process mode (``SessionOptions(worker=False)``) or :meth:`WorkerSession.run`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from memcosim.circuits.netlist import Netlist, fmt
from memcosim.circuits.waveforms import Pwl
from memcosim.devices.registry import get_model
from memcosim.cosim.session import Result, Session, SessionOptions
from memcosim.errors import MemcosimError, WorkerCrash

# environment variables a worker must see as they are now (an idle worker started earlier)
_ENV_PREFIXES = ("MEMCOSIM_", "NGSPICE_", "XDG_CACHE_HOME", "HOME", "OMP_NUM_THREADS")
_START_TIMEOUT = 120.0  # seconds for a new worker to load a circuit (model compilation included)
# Calls not waited for at most in flight: beyond this the replies are read first, so neither end can
# block sending while the other does (the socket buffers hold far more than this many small replies).
_PIPELINE_DEPTH = 64


# -- the worker process ---------------------------------------------------------------------

def _serve(conn) -> None:
    """The worker's loop: one in-process Session at a time, driven by messages from the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    records = _forward_logs()
    session: Session | None = None
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # a message that cannot be unpickled here (e.g. a function of __main__)
            error = MemcosimError(f"the ngspice worker could not read the request: {type(exc).__name__}: {exc}")
            conn.send(("error", (error, None), []))
            continue
        try:
            if kind == "call":
                name, args, kwargs, want_states = payload
                result = getattr(session, name)(*args, **kwargs)
                reply = (result, session.states.copy() if want_states else None, session.step,
                         session.convergence)
            elif kind == "run":
                fn, args, kwargs = payload
                result = fn(session, *args, **kwargs)
                reply = (result, session.states.copy(), session.step, session.convergence)
            elif kind == "task":  # a plain function, no session (TaskWorker)
                fn, args, kwargs = payload
                reply = fn(*args, **kwargs)
            elif kind == "open":
                netlist, options, env, path = payload
                os.environ.update(env)
                sys.path[:] = path + [p for p in sys.path if p not in path]
                if session is not None:
                    session.close()
                    session = None
                session = Session(netlist, options)
                reply = (None, session.states.copy(), session.step, session.convergence)
            elif kind == "sync":
                session.step, session.convergence = payload
                reply = None
            elif kind == "close":
                if session is not None:
                    session.close()
                session = None
                reply = None
            elif kind == "exit":
                conn.send(("ok", None, _take(records)))
                return
            else:
                raise MemcosimError(f"unknown worker request {kind!r}")
            conn.send(("ok", reply, _take(records)))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            sync = (session.step, session.convergence) if session is not None else None
            try:
                conn.send(("error", (exc, sync), _take(records)))
            except Exception:  # the exception itself cannot be pickled
                conn.send(("error", (MemcosimError(f"{type(exc).__name__}: {exc}"), sync), _take(records)))


class _Collect(logging.Handler):
    """Keeps the worker's ``memcosim`` log records to send back with the next reply."""

    def __init__(self, records: list):
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _forward_logs() -> list:
    records: list = []
    logger = logging.getLogger("memcosim")
    logger.addHandler(_Collect(records))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return records


def _take(records: list) -> list:
    out = list(records)
    records.clear()
    return out


class _Worker:
    """One worker process (``python -c 'from memcosim.cosim.worker import main; main()' FD``) and its
    end of a socket pair. A plain new interpreter, not a fork: the caller's threads, locks and
    ``__main__`` module play no part."""

    def __init__(self):
        parent, child = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from memcosim.cosim.worker import main; main()", str(child.fileno())],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, close_fds=True)
        finally:
            child.close()
        self.conn = Connection(parent.detach())

    @classmethod
    def acquire(cls) -> "_Worker":
        global _idle
        w, _idle = _idle, None
        if w is not None and w.alive:
            return w
        return cls()

    def release(self) -> None:
        """Keep this worker for the next session (stopping the idle worker there was)."""
        global _idle
        old, _idle = _idle, self
        if old is not None and old is not self:
            old.stop()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
            pass
        self.conn.close()

    def how_it_ended(self) -> str:
        """What happened to the process, in words (after it died or was killed)."""
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            return "it is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"it was killed by {name}" + (" (abort)" if -code == signal.SIGABRT else "")
        return f"it exited with code {code}"


_idle: _Worker | None = None  # a closed session's worker, kept for the next session


def main() -> None:
    """Entry point of a worker process: serve the socket whose descriptor is the first argument; end
    quietly when the parent is gone (killed or stopped mid-step: no one is left to read a reply)."""
    try:
        _serve(Connection(int(sys.argv[1])))
    except (BrokenPipeError, ConnectionResetError):
        pass


# -- the session in the parent ---------------------------------------------------------------

class WorkerSession(Session):
    """A :class:`Session` whose ngspice runs in a worker process (see the module docstring).

    Open one with ``open_session(netlist, SessionOptions(worker=True))`` (:mod:`memcosim.cosim.engine`).
    Several worker sessions may be open at once in one Python process.
    """

    def __init__(self, netlist: Netlist, options: SessionOptions | None = None):
        if not isinstance(netlist, Netlist):
            raise TypeError("Session needs a memcosim Netlist (see memcosim.circuits)")
        self.options = options or SessionOptions()
        self.netlist = netlist
        self.step = 0
        self.convergence = {"retried": 0, "rescued": 0, "failed": 0, "rungs": {}}
        self.restarts = 0  # workers restarted after a crash or hang
        self._closed = True
        self._sources = {e.name.lower(): e for e in netlist.elements if e.kind in ("voltage source", "current source")}
        self._elements = {e.name.lower(): e for e in netlist.elements}
        self.devices = list(netlist.memristors)
        self._device_index = {m.name.lower(): k for k, m in enumerate(self.devices)}
        self._device_models = {name: get_model(name) for name in netlist.device_models}
        self.states = np.array(
            [dict(m.params).get("x0", self._device_models[m.model].state_default) for m in self.devices], dtype=float
        )
        # what a new worker needs to be where this one was: sources and parameters set so far
        self._dc_set: dict[str, float] = {}
        self._params_set: dict[tuple[str, str], float] = {}
        self._options_set: dict[str, float] = {}  # solver options set since the circuit was loaded
        self._pending = 0  # replies not read yet (calls that were not waited for)
        self._worker = _Worker.acquire()
        try:
            self._open(self._worker)
        except WorkerCrash:
            raise
        except MemcosimError:  # the circuit was refused; the worker itself is fine: keep it
            self._worker.release()
            raise
        except BaseException:
            self._worker.stop()
            raise
        self._closed = False

    # -- plumbing --------------------------------------------------------------------------
    @property
    def library(self):
        raise MemcosimError("session.library: ngspice runs in this session's worker process; open the session "
                            "with SessionOptions(worker=False) for the library itself, or use session.run(fn)")

    @property
    def pid(self) -> int | None:
        """Process id of the current worker."""
        return self._worker.pid

    @property
    def in_process(self) -> bool:
        return False

    @property
    def warm_points(self) -> int:
        """Points of the worker's paused DC analysis of warm operating points so far (0: none is paused)."""
        return self.run(_warm_points)

    def _engine_options(self) -> SessionOptions:
        return replace(self.options, worker=False) if hasattr(self.options, "worker") else self.options

    @property
    def _timeout(self) -> float | None:
        """Seconds a call may take before the worker counts as hung (SessionOptions.timeout; None = no limit)."""
        return getattr(self.options, "timeout", 600.0)

    def _open(self, worker: _Worker) -> None:
        env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
        worker.conn.send(("open", (self.netlist, self._engine_options(), env, list(sys.path))))
        self._receive(worker, "load", _START_TIMEOUT + (self._timeout or 0.0))

    def _receive(self, worker: _Worker, what: str, timeout: float | None) -> Any:
        """One reply from ``worker``; WorkerCrash (after a restart) if it died or did not answer in time."""
        try:
            ready = worker.conn.poll(timeout)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._crash(what, f"did not answer within {timeout:g} s (hung; it was killed)")
        try:
            status, payload, records = worker.conn.recv()
        except (EOFError, OSError):
            self._crash(what, "died")
        for name, level, message in records:  # the worker's log records, logged here
            logging.getLogger(name).log(level, "%s", message)
        if status == "error":
            exc, sync = payload
            if sync is not None and worker is self._worker:
                self.step, self.convergence = sync
            raise exc
        return payload

    def _drain(self) -> None:
        """Read the replies of calls that were not waited for (raising the first error)."""
        error = None
        while self._pending:
            self._pending -= 1
            try:
                self._receive(self._worker, "set", self._timeout)
            except WorkerCrash:
                self._pending = 0
                raise
            except MemcosimError as exc:
                error = error or exc
        if error is not None:
            raise error

    def _call(self, name: str, *args: Any, want_states: bool = False, wait: bool = True, **kwargs: Any) -> Any:
        self._require_open()
        if wait or self._pending >= _PIPELINE_DEPTH:
            self._drain()
        try:
            self._worker.conn.send(("call", (name, args, kwargs, want_states)))
        except (OSError, ValueError):
            self._crash(name, "died")
        if not wait:
            self._pending += 1
            return None
        result, states, step, convergence = self._receive(self._worker, name, self._timeout)
        if states is not None:
            self.states = states
        self.step, self.convergence = step, convergence
        return result

    def _crash(self, what: str, how: str) -> None:
        """Replace the dead or hung worker by a new one in the last completed step's state; raise WorkerCrash."""
        old = self._worker
        old.stop()
        ended = old.how_it_ended()
        self._pending = 0
        step = self.step + 1 if what in ("op", "tran") else self.step
        self.step = step
        message = f"the ngspice worker process (pid {old.pid}) {how} during {what}: {ended}. "
        for attempt in range(2):
            self._worker = _Worker()
            try:
                self._restore()
            except WorkerCrash as exc:
                message += f"Restart {attempt + 1} failed too ({exc.ngspice_message}). "
                continue
            self.restarts += 1
            raise WorkerCrash(what, step, message + "A new worker was started with the device states, sources and "
                              "parameters of the last completed step; the session can go on.")
        self._closed = True
        raise WorkerCrash(what, step, message + "The worker could not be restarted; the session is closed.")

    def _restore(self) -> None:
        """Load the circuit into the (new) worker and replay what was set, ending in the saved states."""
        w = self._worker
        states, step, convergence = self.states.copy(), self.step, self.convergence
        self._open(w)
        if self._dc_set:
            self._send_wait(w, "set_sources", dict(self._dc_set))
        for (element, key), value in list(self._params_set.items()):
            try:
                self._send_wait(w, "set_device_params", element, **{key: value})
            except WorkerCrash:
                raise
            except MemcosimError:  # ngspice refused it the first time too (reported then): forget it
                del self._params_set[(element, key)]
        if self._options_set:
            self._send_wait(w, "_set_options", dict(self._options_set))
        if self.devices:
            self._send_wait(w, "set_states", states)
        w.conn.send(("sync", (step, convergence)))
        self._receive(w, "restore", _START_TIMEOUT)
        self.states = states

    def _send_wait(self, worker: _Worker, name: str, *args: Any, **kwargs: Any) -> Any:
        worker.conn.send(("call", (name, args, kwargs, False)))
        return self._receive(worker, "restore", _START_TIMEOUT)[0]

    # -- the public API (checked here, run there) -------------------------------------------
    def close(self) -> None:
        """Remove the circuit; the worker is kept for the next session (or stopped)."""
        if self._closed:
            return
        self._closed = True
        w = self._worker
        try:
            self._pending_drain_quietly()
            w.conn.send(("close", None))
            self._receive(w, "close", 30.0)
        except (MemcosimError, OSError):
            w.stop()
            return
        w.release()

    def _pending_drain_quietly(self) -> None:
        try:
            self._closed = False
            self._drain()
        except MemcosimError:
            pass
        finally:
            self._closed = True

    def __del__(self) -> None:
        try:
            if not self._closed:
                self._closed = True
                self._worker.stop()
        except Exception:
            pass

    def set_sources(self, values: Mapping[str, float]) -> None:
        """Set DC values of independent sources (volts for V sources, amperes for I sources)."""
        self._require_open()
        checked = {}
        for name, value in values.items():
            e = self._source(name)
            fmt(value, f"source {name}")
            checked[e.name] = float(value)
        self._call("set_sources", checked, wait=False)
        self._dc_set.update(checked)

    def _set_options(self, values: Mapping[str, float]) -> None:
        self._call("_set_options", dict(values))
        self._options_set.update(values)

    def set_device_params(self, name: str, **params: float) -> None:
        """Set instance parameters of one element (e.g. a memristor's variation knobs)."""
        e, device = self._checked_params(name, params)
        x0 = params.pop("x0", None) if device is not None else None
        if params:
            self._call("set_device_params", e.name, wait=False, **params)
            for key, value in params.items():
                self._params_set[(e.name, key)] = float(value)
        if x0 is not None:
            self.set_states({e.name: x0})

    def set_states(self, states: Mapping[str, float] | np.ndarray | Sequence[float]) -> None:
        """Set device states (model state units): a mapping name -> state, or one value per device."""
        self._require_open()
        checked = self._checked_states(states)
        new = self.states.copy()
        for k, v in checked:
            new[k] = v
        changed = {self.devices[k].name: v for k, v in checked}
        self._call("set_states", changed, wait=False)
        self.states = new

    def forget_solution(self) -> None:
        """Solve the next operating point from scratch (see :meth:`Session.forget_solution`)."""
        self._call("forget_solution", wait=False)

    def op(self, voltages: Sequence[str] = (), currents: Sequence[str] = (), *, save_all: bool = False) -> Result:
        """Operating point. Returns node ``voltages`` (volts) and source ``currents`` (amperes)
        (``save_all``: see :meth:`Session.op`)."""
        return self._call("op", list(voltages), list(currents), save_all=save_all)

    def tran(self, stop: float, step: float | None = None, *, waveforms: Mapping[str, Pwl] | None = None,
             voltages: Sequence[str] = (), currents: Sequence[str] = (), max_step: float | None = None,
             states: bool = False, **kwargs: Any) -> Result:
        """Transient from 0 to ``stop`` seconds (see :meth:`Session.tran`); device states are carried."""
        return self._call("tran", stop, step, waveforms=dict(waveforms or {}), voltages=list(voltages),
                          currents=list(currents), max_step=max_step, states=states, want_states=True, **kwargs)

    def ac(self, start: float, stop: float, points_per_decade: int = 20, *, voltages: Sequence[str] = (),
           currents: Sequence[str] = ()) -> Result:
        """Small-signal analysis from ``start`` to ``stop`` hertz (see :meth:`Session.ac`)."""
        return self._call("ac", start, stop, points_per_decade, voltages=list(voltages), currents=list(currents))

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(session, *args, **kwargs)`` inside the worker, on its in-process session. ``fn`` must be a
        module-level function of an importable module (the worker sees this process's ``sys.path``, not
        its ``__main__``). Device states are read back afterwards."""
        self._require_open()
        self._drain()
        self._worker.conn.send(("run", (fn, args, kwargs)))
        result, states, step, convergence = self._receive(self._worker, getattr(fn, "__name__", "run"),
                                                          self._timeout)
        self.states, self.step, self.convergence = states, step, convergence
        return result

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the worker (for tests of crash recovery)."""
        os.kill(self._worker.pid, sig)


class TaskWorker:
    """One ngspice worker process that runs plain functions: ``call(fn, *args)`` runs ``fn(*args)`` in the
    worker and returns its result. ``fn`` must be a module-level function of an importable module; it may
    open its own in-process session there (``SessionOptions(worker=False)``) and keep it between calls.

    A worker that dies or does not answer within ``timeout`` seconds is replaced by a new process and the
    call raises :class:`~memcosim.errors.WorkerCrash`; the caller decides what to repeat (the new process
    holds nothing of the old one). Used by pools of workers (:mod:`memcosim.cosim.tiles`).
    """

    def __init__(self, timeout: float | None = 600.0):
        self.timeout = timeout
        self.restarts = 0  # processes replaced after a crash or hang
        self.calls = 0
        self._worker = _Worker()
        self._env_sent = False

    @property
    def pid(self) -> int:
        """Process id of the current worker process."""
        return self._worker.pid

    @property
    def alive(self) -> bool:
        return self._worker.alive

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in the worker process; its exceptions are raised here."""
        what = getattr(fn, "__name__", "task")
        w = self._worker
        try:
            if not self._env_sent:  # the worker sees this process's sys.path and memcosim environment
                env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
                w.conn.send(("task", (_setup_task, (env, list(sys.path)), {})))
                self._reply(what, _START_TIMEOUT)
                self._env_sent = True
            w.conn.send(("task", (fn, args, kwargs)))
        except (OSError, ValueError):
            self._replace(what, "died")
        self.calls += 1
        return self._reply(what, self.timeout)

    def _reply(self, what: str, timeout: float | None) -> Any:
        w = self._worker
        try:
            ready = w.conn.poll(timeout)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self._replace(what, f"did not answer within {timeout:g} s (hung; it was killed)")
        try:
            status, payload, records = w.conn.recv()
        except (EOFError, OSError):
            self._replace(what, "died")
        for name, level, message in records:
            logging.getLogger(name).log(level, "%s", message)
        if status == "error":
            raise payload[0]
        return payload

    def _replace(self, what: str, how: str) -> None:
        old = self._worker
        old.stop()
        ended = old.how_it_ended()
        self._worker = _Worker()
        self._env_sent = False
        self.restarts += 1
        raise WorkerCrash(what, self.calls, f"the ngspice worker process (pid {old.pid}) {how} during {what}: "
                                            f"{ended}. A new worker process (pid {self._worker.pid}) was started.")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the worker process (for tests of crash recovery)."""
        os.kill(self._worker.pid, sig)

    def stop(self) -> None:
        """End the worker process."""
        try:
            self._worker.conn.send(("exit", None))
            self._worker.conn.poll(5.0)
        except (OSError, ValueError, EOFError):
            pass
        self._worker.stop()


def _setup_task(env: dict[str, str], path: list[str]) -> None:
    """Runs in a new task worker first: this process's memcosim environment and ``sys.path``."""
    os.environ.update(env)
    sys.path[:] = path + [p for p in sys.path if p not in path]


def _warm_points(session: Session) -> int:
    """The in-process session's ``warm_points`` (run inside the worker)."""
    return session.warm_points


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass (a small helper for tests)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.001)
    return predicate()
