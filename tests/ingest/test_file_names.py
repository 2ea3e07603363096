"""Any data file name the contract allows is taken, those starting with ``_`` or ``.`` too.

The contract puts no rule on a data file's name: a file is delivered when its ``.ok`` control
file exists. Names starting with ``_`` or ``.`` used to be skipped whole, so such a file was
lost without a word. They are what the raw layer's readers skip (Spark and Hadoop by
convention, this layer's own ``_schema.parquet`` and temporary files), so their Parquet
files get a name of their own.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from ingest import store
from ingest.landing import scan_feed
from ingest.pipeline import ingest_feed

DAY = dt.date(2026, 10, 1)  # the date conftest.py lands files for
HEADER = "balance_date,account_id,client_id,inst_code,product_code,currency,balance\n"


def rows(prefix: str, n: int) -> str:
    return "".join(f"20261001,{prefix}{i:03d},C001,B001,DD01,CNY,{i}.50\n" for i in range(n))


@pytest.mark.parametrize("name", ["_db.csv", ".db.csv", "__db.txt", "._db.csv"])
def test_a_delivered_file_whose_name_starts_with_underscore_or_dot_is_loaded(
    reference_bank, land, name
):
    land("deposit_balances", name, HEADER + rows("A", 5))
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and [(f.file_name, f.status, f.records_kept) for f in result.files] == [
        (name, "loaded", 5)
    ]
    files = store.data_files(reference_bank.raw, "deposit_balances", DAY)
    assert len(files) == 1 and not store.is_hidden(files[0].name)
    raw = pl.read_parquet(files[0])
    assert raw["account_id"].to_list() == [f"A{i:03d}" for i in range(5)]
    assert raw["_source_file"].unique().to_list() == [f"deposit_balances/20261001/{name}"]
    audit = store.read_audit(reference_bank.raw, DAY, "deposit_balances")
    assert audit["file_name"].to_list() == [name]


def test_names_that_differ_by_a_leading_underscore_stay_two_files(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + rows("A", 3))
    land("deposit_balances", "_db.csv", HEADER + rows("B", 4))
    land("deposit_balances", "h_db.csv.hidden-name", HEADER + rows("C", 2))  # refused
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert sorted((f.file_name, f.status) for f in result.files) == [
        ("_db.csv", "loaded"),
        ("db.csv", "loaded"),
        ("h_db.csv.hidden-name", "refused"),
    ]
    files = store.data_files(reference_bank.raw, "deposit_balances", DAY)
    accounts = pl.concat([pl.read_parquet(f) for f in files])["account_id"]
    assert sorted(accounts.to_list()) == [f"A{i:03d}" for i in range(3)] + [
        f"B{i:03d}" for i in range(4)
    ]
    # the glob dbt's DuckDB sources read (macros/read_parquet_folder.sql) sees both files
    folder = store.partition(reference_bank.raw, "deposit_balances", DAY).parent
    count = duckdb.connect().execute(
        f"select count(*) from read_parquet('{folder}/*/*.parquet', hive_partitioning = true)"
    )
    assert count.fetchall() == [(7,)]


def test_a_correction_of_such_a_file_replaces_it(reference_bank, land):
    land("deposit_balances", "_db.csv", HEADER + rows("A", 3))
    assert ingest_feed(reference_bank, "deposit_balances", DAY).ok
    land("deposit_balances", "_db.csv", HEADER + rows("B", 2))
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert [(f.file_name, f.status) for f in result.files] == [("_db.csv", "replaced")]
    files = store.data_files(reference_bank.raw, "deposit_balances", DAY)
    assert pl.concat([pl.read_parquet(f) for f in files])["account_id"].to_list() == [
        "B000",
        "B001",
    ]


def test_a_hidden_file_without_its_control_file_is_not_a_delivery_nor_pending(reference_bank, land):
    """Transfer tools' temporary files (``.db.csv.part``) and macOS's ``._db.csv`` carry no
    ``.ok``: they are ignored, not reported pending every night as a visible name would be."""
    land("deposit_balances", "db.csv", HEADER + rows("A", 2))
    land("deposit_balances", ".db.csv.part", HEADER + rows("A", 1), count=None)
    land("deposit_balances", "._db.csv", b"\x00\x05\x16\x07", count=None)
    land("deposit_balances", "late.csv", HEADER, count=None)
    delivery = scan_feed(reference_bank.landing, "deposit_balances", DAY)
    assert [f.name for f in delivery.complete] == ["db.csv"]
    assert delivery.pending == ["late.csv"]
