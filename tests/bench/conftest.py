"""Fixtures: the benchmark scripts as modules (bench_scripts.py)."""

from __future__ import annotations

from types import ModuleType

import pytest
from bench_scripts import bench_script


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
