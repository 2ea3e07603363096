"""The dbt build's memory limit under CLIENTMART_WAREHOUSE_MEMORY_LIMIT=auto (the default):
it follows the positions of each position feed's latest date (deposit balances, loan
balances, wealth holdings), between 3 GB and a third of the memory."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

import clientmart.build_memory as build_memory_module
from clientmart.build_memory import auto_limit, build_memory, latest_positions, machine_memory
from clientmart.settings import Settings

GB = 10**9


def _rows(raw: Path, feed: str, date: str, *rows: int) -> None:
    folder = raw / feed / f"business_date={date}"
    folder.mkdir(parents=True, exist_ok=True)
    for n, count in enumerate(rows):
        table = pa.table({"id": pa.array([0] * count, pa.int8())})
        pq.write_table(table, folder / f"{feed}_{n}.csv.parquet")


@pytest.mark.parametrize(
    ("rows", "memory", "expected"),
    [
        (0, 24 * GB, 3),  # nothing ingested yet: the minimum
        (2_830_000, 24 * GB, 3),  # 1M clients: 1.8 GB wanted, the minimum holds
        (4_615_384, 24 * GB, 3),  # just under 3 GB
        (4_615_385, 24 * GB, 4),  # rounded up to whole GB
        (8_560_000, 24 * GB, 6),  # 3M clients: what the benchmark found fastest
        (28_300_000, 24 * GB, 8),  # 10M clients: a third of the machine's 24 GB
        (28_300_000, 8 * GB, 3),  # a small machine: never below the minimum
    ],
)
def test_auto_limit_follows_the_positions_within_bounds(
    rows: int, memory: int, expected: int
) -> None:
    assert auto_limit(rows, memory) == expected


def test_each_feeds_latest_date_with_files_is_counted_across_its_files(tmp_path: Path) -> None:
    assert latest_positions(tmp_path) == {}
    # the table's empty schema file (ingest.store.ensure_table_schema) is not a delivery
    schema = tmp_path / "deposit_balances" / "business_date=1900-01-01"
    schema.mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([], pa.int8())}), schema / "_schema.parquet")
    assert latest_positions(tmp_path) == {}
    _rows(tmp_path, "deposit_balances", "2026-10-14", 5)
    _rows(tmp_path, "deposit_balances", "2026-10-15", 3, 4)  # in pieces, or a re-delivery's
    being_written = tmp_path / "deposit_balances" / "business_date=2026-10-16"
    being_written.mkdir()
    (being_written / ".deposit_balances.csv.parquet.1f2e.tmp").write_bytes(b"PAR1")
    _rows(tmp_path, "wealth_holdings", "2026-10-14", 6)  # its latest date may be earlier
    _rows(tmp_path, "deposit_transactions", "2026-10-15", 9)  # not a position feed
    assert latest_positions(tmp_path) == {
        "deposit_balances": ("2026-10-15", 7),
        "wealth_holdings": ("2026-10-14", 6),
    }


def test_a_size_is_taken_as_it_is_without_reading_the_raw_layer(tmp_path: Path) -> None:
    (tmp_path / "deposit_balances").write_text("not a folder")  # reading it would fail
    memory = build_memory("5GB", tmp_path)
    assert (memory.limit, memory.reason) == ("5GB", "set by CLIENTMART_WAREHOUSE_MEMORY_LIMIT")


def test_settings_hand_dbt_the_limit_chosen_from_the_raw_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLIENTMART_WAREHOUSE_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(build_memory_module, "machine_memory", lambda: 24 * GB)
    settings = Settings(home=tmp_path, pseudonym_key_file=tmp_path / "key")
    assert settings.warehouse_memory_limit == "auto"
    assert settings.dbt_env()["DBT_CLIENTMART_MEMORY_LIMIT"] == "3GB"
    _rows(settings.raw, "deposit_balances", "2026-10-05", 3_000_000)
    assert settings.build_memory().limit == "3GB"
    # a wealth book larger than the deposit accounts sizes the build too
    _rows(settings.raw, "wealth_holdings", "2026-10-05", 5_000_000)
    memory = settings.build_memory()
    assert memory.limit == "6GB"
    assert memory.reason.startswith(
        "auto: 8,000,000 positions (deposit_balances 3,000,000 on 2026-10-05, "
        "wealth_holdings 5,000,000 on 2026-10-05) at 0.65 GB per million"
    )
    assert settings.dbt_env()["DBT_CLIENTMART_MEMORY_LIMIT"] == "6GB"
    fixed = Settings(
        home=tmp_path, pseudonym_key_file=tmp_path / "key", warehouse_memory_limit="4GB"
    )
    assert fixed.dbt_env()["DBT_CLIENTMART_MEMORY_LIMIT"] == "4GB"


@pytest.mark.parametrize("value", ["lots", "Auto ", "6"])
def test_a_limit_that_is_neither_auto_nor_a_size_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="warehouse_memory_limit"):
        Settings(warehouse_memory_limit=value)


def test_a_containers_memory_limit_lowers_the_machines(tmp_path: Path) -> None:
    """A container's limit (cgroup v2 or v1; a Kubernetes pod's) is the memory the rule takes
    a third of, when it is below the machine's; "no limit" leaves the machine's."""
    node = machine_memory(())
    v2, v1, absent = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes", tmp_path / "x"
    v2.write_text("max\n")  # cgroup v2 without a limit
    v1.write_text("9223372036854771712\n")  # cgroup v1 without a limit
    assert machine_memory((v2, v1, absent)) == node
    v2.write_text(f"{2 * GB}\n")
    assert machine_memory((v2, v1, absent)) == min(node, 2 * GB)
    v1.write_text(f"{GB}\n")
    assert machine_memory((absent, v1)) == min(node, GB)
