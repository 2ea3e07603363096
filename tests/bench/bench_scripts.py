"""The benchmark scripts as modules for their tests (bench/ is not a package).

A module of its own, not conftest.py, so that test modules can import it by name: pytest
loads every conftest.py under the one module name ``conftest``, and a test module that
imported from it got whichever folder's conftest was loaded last when more than one test
folder was named on the command line.
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
