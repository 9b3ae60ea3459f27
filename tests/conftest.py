"""Shared fixtures: every test gets its own store and a clean environment."""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """No test may see a real ~/.comet_optimize or an id left in the environment."""
    monkeypatch.delenv("COMET_OPTIMIZER_ID", raising=False)
    monkeypatch.setenv("COMET_OPTIMIZE_STORE", str(tmp_path / "default-store"))


@pytest.fixture
def store(tmp_path) -> str:
    """A fresh store folder for one test."""
    return str(tmp_path / "store")


@pytest.fixture
def python() -> str:
    return sys.executable
