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


# The files that build a bank, longest first (seconds each under `make test`, 2026-12-06
# night: 897 s in all, the workers' files summed to 867 and 879 s). `make test` runs
# `--dist loadfile --no-loadscope-reorder`: pytest-xdist then hands whole files to the two
# workers in collection order, so the longest start first and both workers finish together
# (by default it orders files by their number of tests, which put the long bank fixtures
# last and left one worker idle for minutes at the end).
LONGEST_FILES_FIRST = (
    "tests/spark/test_spark_parity.py",  # ~255 s: DuckDB and Spark builds
    "tests/tiers/test_range_matches_nightly.py",  # ~160 s: a range vs nightly runs
    "tests/dbt/test_dbt_project.py",  # ~140 s
    "tests/rm/test_rm_nightly.py",  # ~120 s: the RM models night by night
    "tests/bench/test_compare_checkouts.py",  # ~120 s: a night on copies of a home
    "tests/orchestration/test_pipeline.py",  # ~120 s
    "tests/postgres/test_postgres_pipeline.py",  # ~120 s: two nights and a load by hand
    "tests/e2e/test_end_to_end.py",  # ~105 s: Dagster backfill, nights and re-runs
    "tests/postgres/test_postgres_incremental_load.py",  # ~90 s: three nights, four loads
    "tests/postgres/test_instance_on_postgres.py",  # ~60 s: a night on PostgreSQL storage
    "tests/realdata/test_berka_bank.py",  # ~55 s: a real bank's four days
    "tests/tiers/test_tier_marts.py",  # ~55 s
    "tests/orchestration/test_seed_state.py",  # ~35 s
    "tests/orchestration/test_dbt_by_hand.py",  # ~30 s
    "tests/rm/test_rm_attainment.py",  # ~30 s
    "tests/ingest/test_memory_safety.py",  # ~30 s
    "tests/ui/test_dagster_ui.py",  # ~30 s
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
