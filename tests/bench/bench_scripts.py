"""The benchmark scripts as modules for their tests (bench/ is not a package).

Not in conftest.py, so that test modules can import it by name (tests/test_suite_collection.py).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from clientmart.settings import PROJECT_ROOT


def bench_script(name: str) -> ModuleType:
    """A script of bench/, imported once per session by Python's module cache."""
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(PROJECT_ROOT / "bench"))
