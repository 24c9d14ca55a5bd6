"""Start-up checks: the loaded libngspice must be new enough and support OSDI and KLU."""

from __future__ import annotations

from dataclasses import dataclass

from memcosim.cosim.ngspice import INSTALL_HINT, NgspiceLibrary
from memcosim.errors import ToolchainError

MIN_NGSPICE_VERSION = 46  # OpenVAF emits OSDI 0.4, which ngspice loads from version 46 on


@dataclass(frozen=True)
class ToolchainReport:
    """What was found in the loaded libngspice."""

    library_path: str
    version: int
    osdi: bool
    klu: bool


_checked: dict[str, ToolchainReport] = {}


def inspect_ngspice(library: NgspiceLibrary) -> ToolchainReport:
    """Probe the library for its version, the ``osdi`` command and the KLU solver."""
    if library.library_path in _checked:
        return _checked[library.library_path]
    osdi_out = library.command("osdi")
    osdi = not any("no such command" in line for line in osdi_out.stderr + osdi_out.stdout)
    library.load_circuit("memcosim toolchain probe\n.options klu\nvprobe a 0 dc 1\nrprobe a 0 1k\n.end")
    op_out = library.command("op")
    klu = any("KLU" in line for line in op_out.stdout + op_out.stderr)
    library.command("destroy all")
    library.command("remcirc")
    report = ToolchainReport(library.library_path, library.version, osdi, klu)
    _checked[library.library_path] = report
    return report


def require_ngspice(library: NgspiceLibrary) -> ToolchainReport:
    """Raise ToolchainError (found / needed / how to install) unless OSDI and KLU are there."""
    report = inspect_ngspice(library)
    missing = []
    if report.version < MIN_NGSPICE_VERSION:
        missing.append(f"version >= {MIN_NGSPICE_VERSION} (for OSDI 0.4 models)")
    if not report.osdi:
        missing.append("OSDI support (the `osdi` command)")
    if not report.klu:
        missing.append("the KLU sparse solver")
    if missing:
        raise ToolchainError(
            f"found ngspice-{report.version} at {report.library_path!r} with "
            f"OSDI={'yes' if report.osdi else 'no'}, KLU={'yes' if report.klu else 'no'}; "
            f"needed: {', '.join(missing)}. {INSTALL_HINT}"
        )
    return report
