"""Shared test fixtures. Tests that simulate run real ngspice (the shared library) and real OSDI models."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compiled models go to the user's cache as usual; tests that need a private one set it themselves."""
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_child_processes() -> None:
    """Ctrl-C (SIGINT) handled as usual in this process, so the commands tests start inherit a SIGINT that
    interrupts them. A shell starts a background job (``cmd &``) with SIGINT ignored, and an ignored
    signal stays ignored in every child: the tests that interrupt a command with SIGINT would then
    depend on how pytest was started."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private folder searched first for ``<name>.va`` files (MEMCOSIM_MODEL_PATH)."""
    d = tmp_path / "models"
    d.mkdir()
    monkeypatch.setenv("MEMCOSIM_MODEL_PATH", str(d))
    return d
