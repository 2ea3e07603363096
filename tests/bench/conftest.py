"""The benchmark scripts as modules for their tests (bench/ is not a package)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from clientmart.settings import PROJECT_ROOT


def bench_script(name: str) -> ModuleType:
    """A script of bench/, imported once per session by Python's module cache."""
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(PROJECT_ROOT / "bench"))


@pytest.fixture
def rb() -> ModuleType:
    """bench/run_benchmark.py."""
    return bench_script("run_benchmark")


@pytest.fixture
def raw_bind() -> ModuleType:
    """bench/raw_bind.py."""
    return bench_script("raw_bind")


@pytest.fixture
def cc() -> ModuleType:
    """bench/compare_checkouts.py."""
    return bench_script("compare_checkouts")
