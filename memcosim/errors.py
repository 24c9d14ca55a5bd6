"""Exceptions raised by memcosim. Every message names the offending field, file or analysis."""

from __future__ import annotations

import signal


class MemcosimError(Exception):
    """Base class of every error memcosim raises on purpose."""


class ConfigError(MemcosimError, ValueError):
    """A configuration value is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self):  # picklable (errors cross the session's worker process boundary)
        return (type(self), (self.field, self.message))


class ToolchainError(MemcosimError, RuntimeError):
    """ngspice, OSDI, KLU or the OpenVAF compiler is missing or unusable."""


class ModelError(MemcosimError, ValueError):
    """An unknown device model, a missing or broken Verilog-A file, or a compile failure."""


class NetlistError(MemcosimError, ValueError):
    """A netlist is malformed, fails a structure check, or was rejected by ngspice."""


class SimulationError(MemcosimError, RuntimeError):
    """An analysis failed (e.g. did not converge). Names the analysis, the step and ngspice's message."""

    def __init__(self, analysis: str, step: int, message: str):
        self.analysis = analysis
        self.step = step
        self.ngspice_message = message
        super().__init__(f"{analysis} analysis failed at session step {step}: {message}")

    def __reduce__(self):
        return (type(self), (self.analysis, self.step, self.ngspice_message))


class WorkerCrash(SimulationError):
    """The session's ngspice worker process crashed, aborted, exited or hung during a step.

    The worker has been restarted with the circuit, sources, parameters and device states of the
    last completed step; the session can be used again.
    """


class Interrupted(MemcosimError):
    """A command stopped on SIGINT or SIGTERM (``signum``) after saving what it had finished.

    The command line exits with ``128 + signum`` (130 for Ctrl-C, 143 for SIGTERM), apart from the
    code 2 of a configuration error.
    """

    def __init__(self, signum: int, message: str):
        self.signum = signum
        super().__init__(message)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class TerminateSignal(KeyboardInterrupt):
    """SIGTERM raised as an exception by the command line: a KeyboardInterrupt, so code that stops
    cleanly on Ctrl-C stops the same way on SIGTERM."""


def interrupt_for(signum: int) -> KeyboardInterrupt:
    """The exception a signal raises in the command line: :class:`TerminateSignal` for SIGTERM, else a
    ``KeyboardInterrupt`` (the inverse of :func:`signal_number`)."""
    return TerminateSignal() if signum == signal.SIGTERM else KeyboardInterrupt()


def signal_number(exc: BaseException) -> int:
    """The signal behind a KeyboardInterrupt: SIGTERM for :class:`TerminateSignal`, else SIGINT."""
    return int(signal.SIGTERM if isinstance(exc, TerminateSignal) else signal.SIGINT)
