"""The process's libngspice, loaded once as a shared library through PySpice.

This module is the only place that talks to the C API. It runs commands, captures what
ngspice prints (stdout and stderr separately), and copies vectors into numpy arrays.
ngspice keeps global state, so one library is loaded per process; sessions take turns on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memcosim.errors import ToolchainError

INSTALL_HINT = (
    "memcosim needs ngspice 46 or newer built as a shared library with OSDI (Verilog-A) and KLU. "
    "On Debian bookworm run `./run test` or `bash .ci/setup.sh` in the memcosim checkout, which adds "
    "bookworm-backports (mirror taken from /etc/apt) and runs "
    "`apt-get install -t bookworm-backports ngspice libngspice0 libngspice0-dev`; "
    "or point NGSPICE_LIBRARY_PATH at such a libngspice.so."
)

# Lines ngspice prints that mean a command or analysis failed.
_ERROR_PATTERNS = re.compile(
    r"^(error|fatal)|simulation\(s\) aborted|timestep too small|no convergence|"
    r"could not be simulated|singular matrix|circuit not parsed|no such command|"
    r"can't find model|could not find a valid modelname|unknown model type|"
    r"couldn't be loaded|error on line|unable to find definition",
    re.IGNORECASE,
)
# Lines that look alarming but are informational.
_BENIGN_PATTERNS = re.compile(
    r"^note:|^warning: singular matrix.*gmin|dc value used for op", re.IGNORECASE
)


@dataclass
class CommandOutput:
    """What one ngspice command printed."""

    command: str
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def error_lines(self) -> list[str]:
        """Lines (stderr first) that report a failure."""
        lines = []
        for line in self.stderr + self.stdout:
            text = line.strip()
            if text and _ERROR_PATTERNS.search(text) and not _BENIGN_PATTERNS.search(text):
                lines.append(text)
        return lines

    @property
    def failed(self) -> bool:
        return bool(self.error_lines())

    def message(self) -> str:
        """A one-paragraph summary of ngspice's own words about a failure."""
        lines = self.error_lines() or [l.strip() for l in self.stderr if l.strip()]
        return " | ".join(dict.fromkeys(lines)) or "(ngspice printed no message)"


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while ngspice runs a C call, then deliver them to the handlers they had.

    ngspice prints through callbacks into Python; an exception raised by a signal handler inside one of
    them is swallowed by the callback (printed, then the simulation goes on), so the interrupt was lost.
    Here a signal that arrives during the call is recorded and, once the call has returned, handed to the
    handler that was installed before (Ctrl-C's KeyboardInterrupt, the CLI's SIGTERM handler, or the
    default action). Outside the main thread (Dask workers' threads) signals cannot be handled and the
    call runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in _INTERRUPTS}

    def record(signum: int, frame: object) -> None:
        arrived.append(signum)

    for signum in _INTERRUPTS:
        signal.signal(signum, record)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(arrived):
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def _silence_pyspice() -> None:
    # PySpice logs every stderr line as an error and warns that version 46 is "unsupported";
    # memcosim reads ngspice's output itself and reports what matters.
    logging.getLogger("PySpice").setLevel(logging.CRITICAL + 1)


class NgspiceLibrary:
    """The one libngspice of this process (``NgspiceLibrary.get()``)."""

    _instance: "NgspiceLibrary | None" = None
    # ngspice keeps every command in a history list; free it now and then (PySpice does the same).
    _RELEASE_EVERY = 5_000

    def __init__(self, library_path: str):
        _silence_pyspice()
        try:
            from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi
        except Exception as exc:  # pragma: no cover - import problem of the environment
            raise ToolchainError(f"PySpice could not be imported ({exc}). {INSTALL_HINT}") from exc

        class _Shared(NgSpiceShared):
            LIBRARY_PATH = library_path

        try:
            self._shared = _Shared(ngspice_id=0, send_data=False)
        except OSError as exc:
            raise ToolchainError(
                f"could not load libngspice from {library_path!r}: {exc}. {INSTALL_HINT}"
            ) from exc
        self.library_path = library_path
        self._lib = self._shared._ngspice_shared
        self._ffi = ffi
        self._commands_since_release = 0
        self.version = self._read_version()

    # -- creation --------------------------------------------------------------------
    @classmethod
    def default_library_path(cls) -> str:
        """NGSPICE_LIBRARY_PATH if set, else the plain ``libngspice.so`` on the loader path."""
        return os.environ.get("NGSPICE_LIBRARY_PATH") or "libngspice.so"

    @classmethod
    def get(cls, library_path: str | None = None) -> "NgspiceLibrary":
        """Load libngspice once per process and return it."""
        path = library_path or cls.default_library_path()
        if cls._instance is None:
            cls._instance = cls(path)
        elif library_path is not None and Path(cls._instance.library_path) != Path(path):
            raise ToolchainError(
                f"this process already loaded libngspice from {cls._instance.library_path!r}; "
                f"a second library ({path!r}) needs its own process"
            )
        return cls._instance

    # -- commands --------------------------------------------------------------------
    # ngspice cuts a command line after 1,024 characters without a word (a longer pwl list simply ends early)
    MAX_COMMAND = 1000

    def command(self, command: str) -> CommandOutput:
        """Run one ngspice command (at most MAX_COMMAND characters) and return what it printed."""
        if "\n" in command or "\r" in command:
            raise ValueError(f"an ngspice command must be a single line: {command!r}")
        if len(command) > self.MAX_COMMAND:
            raise ValueError(f"an ngspice command may have at most {self.MAX_COMMAND} characters (ngspice "
                             f"silently cuts longer ones), got {len(command)}: {command[:60]!r}...")
        self._commands_since_release += 1
        if self._commands_since_release >= self._RELEASE_EVERY:
            self._lib.ngSpice_Command(self._ffi.NULL)
            self._commands_since_release = 0
        self._shared.clear_output()
        with deferred_interrupts():
            self._lib.ngSpice_Command(command.encode("ascii"))
        return CommandOutput(command, list(self._shared._stdout), list(self._shared._stderr))

    def load_circuit(self, text: str) -> CommandOutput:
        """Hand a whole netlist (title line first, ``.end`` last) to ngspice."""
        lines = text.splitlines()
        ffi = self._ffi
        keep = [ffi.new("char[]", line.encode("ascii")) for line in lines]
        array = ffi.new("char *[]", keep + [ffi.NULL])
        self._shared.clear_output()
        with deferred_interrupts():
            self._lib.ngSpice_Circ(array)
        return CommandOutput("<load circuit>", list(self._shared._stdout), list(self._shared._stderr))

    # -- vectors ---------------------------------------------------------------------
    def current_plot(self) -> str:
        return self._ffi.string(self._lib.ngSpice_CurPlot()).decode()

    def vector_names(self, plot: str) -> list[str]:
        names = self._lib.ngSpice_AllVecs(plot.encode())
        out = []
        i = 0
        while names[i] != self._ffi.NULL:
            out.append(self._ffi.string(names[i]).decode())
            i += 1
        return out

    def vector(self, name: str, start: int = 0) -> np.ndarray | None:
        """A copy of vector ``name`` of the current plot (real part) from index ``start`` on
        (negative: from the end), or None if absent."""
        info = self._lib.ngGet_Vec_Info(name.encode())
        if info == self._ffi.NULL or info.v_length <= 0:
            return None
        n = info.v_length
        first = min(max(start + n if start < 0 else start, 0), n)
        if info.v_realdata != self._ffi.NULL:
            raw = np.frombuffer(self._ffi.buffer(info.v_realdata, n * 8), dtype=np.float64)
            return raw[first:].copy()
        if info.v_compdata != self._ffi.NULL:
            raw = np.frombuffer(self._ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
            return raw[2 * first::2].copy()
        return None

    def complex_vector(self, name: str) -> np.ndarray | None:
        """A copy of vector ``name`` of the current plot as complex numbers (a real vector gets zero
        imaginary parts), or None if absent."""
        info = self._lib.ngGet_Vec_Info(name.encode())
        if info == self._ffi.NULL or info.v_length <= 0:
            return None
        n = info.v_length
        if info.v_compdata != self._ffi.NULL:
            raw = np.frombuffer(self._ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
            return raw[0::2] + 1j * raw[1::2]
        if info.v_realdata != self._ffi.NULL:
            return np.frombuffer(self._ffi.buffer(info.v_realdata, n * 8), dtype=np.float64).astype(complex)
        return None

    def vector_length(self, name: str) -> int:
        """Number of points in vector ``name`` of the current plot (0 if absent)."""
        info = self._lib.ngGet_Vec_Info(name.encode())
        return 0 if info == self._ffi.NULL else max(int(info.v_length), 0)

    # -- facts -----------------------------------------------------------------------
    def _read_version(self) -> int:
        out = self.command("version -s")
        for line in out.stdout:
            m = re.search(r"ngspice-(\d+)", line)
            if m:
                return int(m.group(1))
        raise ToolchainError(f"could not read the ngspice version from {self.library_path!r}")
