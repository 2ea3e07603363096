"""Suite-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public API


@pytest.fixture(autouse=True)
def _no_inherited_defs_state_storage() -> Iterator[None]:
    """Each test starts with no Dagster defs-state storage in the context variable.

    A test that entered a DagsterInstance (``with instance:``) and dropped it leaves that
    instance's storage behind; under pytest-xdist a later test of the same worker then fails
    to resolve its Definitions with "Attempted to resolve undefined DagsterInstance weakref".
    """
    with set_defs_state_storage(None):
        yield
