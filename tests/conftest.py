"""Shared test fixtures. Tests that simulate run real ngspice (the shared library) and real OSDI models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compiled models go to the user's cache as usual; tests that need a private one set it themselves."""
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private folder searched first for ``<name>.va`` files (MEMCOSIM_MODEL_PATH)."""
    d = tmp_path / "models"
    d.mkdir()
    monkeypatch.setenv("MEMCOSIM_MODEL_PATH", str(d))
    return d
