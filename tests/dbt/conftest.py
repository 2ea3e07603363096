"""Fixtures for the dbt project tests (helpers live in dbt_small_bank.py: a module name
no other test folder uses, so `from ... import` never picks up another folder's conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_small_bank import PSEUDONYM_KEY, write_quarantine_and_audit, write_small_bank


@pytest.fixture(scope="session")
def small_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | dict]]:
    """The small raw layer and a dbt environment pointing at a fresh warehouse."""
    root = tmp_path_factory.mktemp("dbt_bank")
    raw = root / "raw"
    write_small_bank(raw)
    write_quarantine_and_audit(raw, root / "quarantine")
    env = {
        "DBT_CLIENTMART_RAW_ROOT": str(raw),
        "DBT_CLIENTMART_QUARANTINE_ROOT": str(root / "quarantine"),
        "DBT_CLIENTMART_WAREHOUSE_PATH": str(root / "build.duckdb"),
        "DBT_CLIENTMART_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "DBT_TARGET_PATH": str(root / "target"),
    }
    yield {"root": root, "raw": raw, "env": env, "warehouse": root / "build.duckdb"}
