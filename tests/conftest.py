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


# The files that build a bank, longest first (seconds each under `make test`, 2026-12-01).
# `make test` runs `--dist loadfile --no-loadscope-reorder`: pytest-xdist then hands whole
# files to the two workers in collection order, so the longest start first and both workers
# finish together (by default it orders files by their number of tests, which put the long
# bank fixtures last and left one worker idle for minutes at the end).
LONGEST_FILES_FIRST = (
    "tests/spark/test_spark_parity.py",  # ~300 s: DuckDB and Spark builds
    "tests/e2e/test_end_to_end.py",  # ~300 s: Dagster backfill, nights and re-runs
    "tests/tiers/test_range_matches_nightly.py",  # ~220 s: a range vs nightly runs
    "tests/orchestration/test_pipeline.py",  # ~210 s
    "tests/dbt/test_dbt_project.py",  # ~180 s
    "tests/tiers/test_tier_marts.py",  # ~130 s
    "tests/orchestration/test_seed_state.py",  # ~115 s
    "tests/realdata/test_berka_bank.py",  # ~100 s: a real bank's four days
    "tests/rm/test_rm_nightly.py",  # ~105 s: the RM models night by night
    "tests/bench/test_compare_checkouts.py",  # ~95 s: a night on copies of a home
    "tests/postgres/test_postgres_incremental_load.py",  # ~85 s: three nights, four loads
    "tests/rm/test_rm_attainment.py",  # ~75 s
    "tests/postgres/test_postgres_pipeline.py",  # ~75 s: two nights and a load by hand
    "tests/ingest/test_memory_safety.py",  # ~55 s
    "tests/ui/test_dagster_ui.py",  # ~50 s
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--spark-unit-tests",
        choices=("call-list", "all"),
        default="call-list",
        help="unit tests the Spark parity test runs on both targets: the call list's "
        "(default: the only rules its small bank cannot reach) or every one of the project "
        "(make test-spark-full)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
