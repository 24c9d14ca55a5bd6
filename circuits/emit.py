"""Writing netlists: safe output paths inside an output folder, atomic writes."""

from __future__ import annotations

import re
from pathlib import Path

from memcosim.circuits.array_subckt import array_subckt, testbench
from memcosim.circuits.crossbar import Crossbar
from memcosim.circuits.netlist import module_name
from memcosim.config.array import ArrayConfig
from memcosim.devices.registry import get_model
from memcosim.errors import ConfigError
from memcosim.fileio import atomic_write_text

_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")


def default_name(config: ArrayConfig) -> str:
    """``crossbar_<R>x<C>_<cell>_<model>.cir`` (for a ``.va`` path the model part is its module name)."""
    model = config.device.model if config.device.resistor else module_name(config.device.model)
    return f"crossbar_{config.rows}x{config.columns}_{config.cell.lower()}_{model}.cir"


def output_path(out_dir: str | Path, name: str) -> Path:
    """``out_dir / name``, refusing names that leave ``out_dir`` (``..``, absolute paths, links)."""
    if not isinstance(name, str) or not name:
        raise ConfigError("out", f"must be a file name, got {name!r}")
    parts = Path(name).parts
    if Path(name).is_absolute() or not parts or any(not _FILE.match(p) or p in (".", "..") for p in parts):
        raise ConfigError("out", f"{name!r} must be a relative path inside {out_dir} "
                          "(letters, digits, '_', '-', '.'; no '..')")
    root = Path(out_dir).resolve()
    path = (root / name).resolve()
    if root != path and root not in path.parents:
        raise ConfigError("out", f"{name!r} resolves to {path}, outside the output folder {root}")
    return path


def write_array_subckt(crossbar: Crossbar, path: str | Path, name: str,
                       cell: tuple[int, int] | None = None) -> tuple[Path, Path]:
    """Write the array as sub-circuit ``name`` to ``path`` (a file to ``.include``, no ``.end``) and, beside
    it as ``<stem>_tb.cir``, a testbench that includes it and writes ``cell`` (row, column; default
    the centre cell) with the array's programming scheme (a read when it has no programming
    drivers). Returns both paths."""
    path = Path(path)
    sub = array_subckt(crossbar, name)
    rows, columns = crossbar.config.shape
    row, column = cell if cell is not None else (rows // 2, columns // 2)
    osdi = [str(get_model(m).compile()) for m in crossbar.netlist.device_models]
    bench = path.with_name(f"{path.stem}_tb.cir")
    atomic_write_text(path, sub.text)
    atomic_write_text(bench, testbench(crossbar, sub, path.name, row, column, osdi))
    return path, bench


def write_netlist(crossbar: Crossbar, path: str | Path) -> Path:
    """Write the rendered netlist atomically (a reader never sees a partial file)."""
    return atomic_write_text(path, crossbar.netlist.render())
