"""bench/raw_bind.py: the longer history it builds links every dated file under earlier
periods, and both ways of binding read the same table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType

import duckdb
import polars as pl

from ingest import store

DAYS = [dt.date(2026, 7, 9), dt.date(2026, 7, 10)]


def test_repeat_history_links_each_dated_file_under_earlier_periods(
    raw_bind: ModuleType, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    schema = {"account_id": pl.String}
    store.ensure_table_schema(raw / "deposit_balances", schema)
    for day in DAYS:
        store.write_atomic(
            pl.DataFrame({"account_id": [f"A{day.day}"]}),
            store.partition(raw, "deposit_balances", day) / "db.csv.parquet",
        )

    longer = raw_bind.repeat_history(raw, tmp_path / "work", 2)

    folders = sorted(p.name for p in (longer / "deposit_balances").iterdir())
    assert folders == [
        "business_date=1900-01-01",
        "business_date=2026-07-05",
        "business_date=2026-07-06",
        "business_date=2026-07-07",
        "business_date=2026-07-08",
        "business_date=2026-07-09",
        "business_date=2026-07-10",
    ]
    linked = longer / "deposit_balances" / "business_date=2026-07-05" / "db.csv.parquet"
    original = store.partition(raw, "deposit_balances", DAYS[0]) / "db.csv.parquet"
    assert linked.stat().st_ino == original.stat().st_ino  # a link, not a copy
    pattern = f"{longer}/deposit_balances/*/*.parquet"
    with duckdb.connect() as con:
        for union in (True, False):
            assert raw_bind.bind_seconds(con, pattern, DAYS[1], union) > 0
        rows = con.execute(f"select count(*) from read_parquet('{pattern}')").fetchall()
    assert rows == [(6,)]
