"""The benchmark script as a module for its tests (bench/ is not a package)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from clientmart.settings import PROJECT_ROOT


@pytest.fixture
def rb() -> ModuleType:
    """bench/run_benchmark.py, imported once per session by Python's module cache."""
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    try:
        return importlib.import_module("run_benchmark")
    finally:
        sys.path.remove(str(PROJECT_ROOT / "bench"))
