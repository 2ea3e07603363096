"""ingest.store.ensure_table_schema: every file of a raw, quarantine or audit table holds the
table's columns, so dbt reads the folder without ``union_by_name`` (docs/raw-layer.md)."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import threading
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest import store
from ingest.spec import load_feeds

OLD = {"account_id": pl.String, "balance": pl.Decimal(24, 6), "dropped": pl.String}
NEW = {"account_id": pl.String, "balance": pl.Decimal(24, 6), store.LOADED_AT: store.TIMESTAMP}
DAY = dt.date(2026, 10, 1)


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new ingest process would: no table checked yet."""
    monkeypatch.setattr(store, "_schema_checked", set())


CONFORM = store.conform_file


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files ``ensure_table_schema`` opens to conform, in order."""
    names: list[str] = []

    def counting(path: Path, schema: dict) -> bool:
        names.append(path.name)
        return CONFORM(path, schema)

    monkeypatch.setattr(store, "conform_file", counting)
    return names


def old_file(folder: Path, day: dt.date, name: str, rows: int) -> Path:
    """A data file written by a release whose contract had ``dropped`` and no ``_loaded_at``."""
    path = store.partition(folder.parent, folder.name, day) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "account_id": [f"A{i:03d}" for i in range(rows)],
            "balance": [Decimal(i) / 4 for i in range(rows)],
            "dropped": [f"d{i}" for i in range(rows)],
        },
        schema=OLD,
    ).write_parquet(path)
    return path


def read_table(folder: Path) -> list[tuple]:
    """The table as dbt's sources read it: one glob, no union_by_name."""
    with duckdb.connect() as con:
        return con.execute(
            f"select account_id, balance, _loaded_at, business_date from read_parquet("
            f"'{folder}/*/*.parquet', hive_partitioning = true) order by business_date, account_id"
        ).fetchall()


def test_files_of_an_older_schema_get_the_new_columns_as_nulls(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "deposit_balances"
    first = old_file(folder, DAY, "a[1].csv.parquet", 3)  # a name that is not a pattern
    second = old_file(folder, DAY + dt.timedelta(days=1), "b.csv.parquet", 2)
    # the schema file alone is not enough: DuckDB takes the glob's columns from it, and
    # without union_by_name a file lacking one of them fails the read
    store.write_atomic(
        pl.DataFrame(schema=NEW), folder / "business_date=1900-01-01/_schema.parquet"
    )
    with pytest.raises(duckdb.InvalidInputException, match="schema mismatch"):
        read_table(folder)

    store.ensure_table_schema(folder, NEW)

    for path in (first, second):
        frame = pl.read_parquet(path, glob=False)
        assert frame.columns == ["account_id", "balance", "dropped", store.LOADED_AT]
        assert frame.schema[store.LOADED_AT] == store.TIMESTAMP
        assert frame[store.LOADED_AT].null_count() == frame.height
    # values and row order as they were; the column the contract dropped is kept, not lost
    assert pl.read_parquet(first, glob=False)["dropped"].to_list() == ["d0", "d1", "d2"]
    rows = read_table(folder)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("A000", Decimal("0"), None, DAY),
        ("A001", Decimal("0.25"), None, DAY),
        ("A002", Decimal("0.5"), None, DAY),
        ("A000", Decimal("0"), None, DAY + dt.timedelta(days=1)),
        ("A001", Decimal("0.25"), None, DAY + dt.timedelta(days=1)),
    ]
    schema_dir = store.partition(folder.parent, folder.name, store.SCHEMA_DATE)
    assert pl.read_parquet_schema(schema_dir / store.SCHEMA_FILE) == pl.Schema(NEW)
    recorded = json.loads((schema_dir / store.CONFORMED_FILE).read_text(encoding="utf-8"))
    assert [name for name, _ in recorded] == list(NEW)
    assert sorted(p.name for p in schema_dir.iterdir()) == [
        ".conform.lock",
        store.CONFORMED_FILE,
        store.SCHEMA_FILE,
    ]


def test_files_are_opened_again_only_when_the_schema_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: list[str]
) -> None:
    folder = tmp_path / "raw" / "deposit_balances"
    old_file(folder, DAY, "a.csv.parquet", 2)
    store.ensure_table_schema(folder, NEW)
    assert opened == ["a.csv.parquet"]

    opened.clear()
    monkeypatch.setattr(store, "_schema_checked", set())  # a later process, same release
    store.ensure_table_schema(folder, NEW)
    assert opened == []

    wider = {**NEW, "currency": pl.String}  # a later release adds a contract column
    store.ensure_table_schema(folder, wider)
    assert opened == ["a.csv.parquet"]
    assert (
        pl.read_parquet_schema(folder / f"business_date={DAY}/a.csv.parquet")["currency"]
        == pl.String
    )


def test_a_second_conformer_waits_for_the_first_and_then_opens_no_file(
    tmp_path: Path, opened: list[str]
) -> None:
    folder = tmp_path / "raw" / "deposit_balances"
    path = old_file(folder, DAY, "a.csv.parquet", 2)
    schema_dir = store.partition(folder.parent, folder.name, store.SCHEMA_DATE)
    schema_dir.mkdir(parents=True)
    outcome: list[int | None] = []
    with open(schema_dir / ".conform.lock", "w") as held:  # the first conformer, at work
        fcntl.flock(held, fcntl.LOCK_EX)
        second = threading.Thread(
            target=lambda: outcome.append(store.ensure_table_schema(folder, NEW))
        )
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive() and opened == []  # waiting, has touched nothing
        # the first conformer finishes: files, schema file, record
        CONFORM(path, NEW)
        store.write_atomic(pl.DataFrame(schema=NEW), schema_dir / store.SCHEMA_FILE)
        (schema_dir / store.CONFORMED_FILE).write_text(store._fingerprint(NEW), encoding="utf-8")
    second.join(timeout=10)
    assert outcome == [None] and opened == []


def test_an_interrupted_conform_is_finished_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "raw" / "deposit_balances"
    old_file(folder, DAY, "a.csv.parquet", 2)
    late = old_file(folder, DAY + dt.timedelta(days=1), "b.csv.parquet", 2)

    def dies_on_the_second(path: Path, schema: dict) -> bool:
        if path == late:
            raise OSError("disk full")
        return CONFORM(path, schema)

    monkeypatch.setattr(store, "conform_file", dies_on_the_second)
    with pytest.raises(OSError, match="disk full"):
        store.ensure_table_schema(folder, NEW)
    schema_dir = store.partition(folder.parent, folder.name, store.SCHEMA_DATE)
    assert not (schema_dir / store.CONFORMED_FILE).exists()
    assert [p.name for p in late.parent.iterdir()] == ["b.csv.parquet"]  # no temporary left

    monkeypatch.setattr(store, "conform_file", CONFORM)
    store.ensure_table_schema(folder, NEW)
    assert store.LOADED_AT in pl.read_parquet_schema(late)
    assert len(read_table(folder)) == 4


def test_ensure_schema_files_covers_raw_audit_and_every_quarantine_folder(tmp_path: Path) -> None:
    raw, quarantine = tmp_path / "raw", tmp_path / "quarantine"
    # the quarantine of a feed that a later contract no longer lists, without ``_loaded_at``
    gone = quarantine / "a_retired_feed" / f"business_date={DAY}" / "x.csv.parquet"
    gone.parent.mkdir(parents=True)
    old_quarantine = {k: v for k, v in store.QUARANTINE_SCHEMA.items() if k != store.LOADED_AT}
    pl.DataFrame(
        [{k: "not_null:x" if k == "rules" else None for k in old_quarantine}], schema=old_quarantine
    ).write_parquet(gone)

    feeds = load_feeds()
    store.ensure_schema_files(raw, quarantine, feeds)

    tables = [raw / store.AUDIT, *(raw / f for f in feeds), *(quarantine / f for f in feeds)]
    for folder in [*tables, gone.parent.parent]:
        schema_dir = store.partition(folder.parent, folder.name, store.SCHEMA_DATE)
        assert (schema_dir / store.SCHEMA_FILE).exists() and (
            schema_dir / store.CONFORMED_FILE
        ).exists()
    assert pl.read_parquet_schema(gone) == pl.Schema(
        {**old_quarantine, store.LOADED_AT: store.TIMESTAMP}
    )
    with duckdb.connect() as con:  # dbt's quarantine_records reads every feed's quarantine at once
        assert con.execute(
            f"select rules, _loaded_at from read_parquet('{quarantine}/*/*/*.parquet')"
        ).fetchall() == [("not_null:x", None)]


def test_the_conform_command_reports_what_it_rewrote(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from clientmart.cli import main
    from clientmart.settings import Settings

    settings = Settings(home=tmp_path / "home")
    feed = load_feeds()["deposit_balances"]
    current = store.raw_schema(feed)
    older = {k: v for k, v in current.items() if k != store.LOADED_AT}  # before _loaded_at
    path = store.partition(settings.raw, feed.name, DAY) / "db.csv.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame(schema=older).write_parquet(path)

    first = CliRunner().invoke(main, ["conform", "--home", str(settings.home)])
    assert first.exit_code == 0, first.output
    assert f"{settings.raw / feed.name}: 1 file(s) given the new columns" in first.output
    assert "1 file(s) rewritten" in first.output
    assert pl.read_parquet_schema(path) == pl.Schema(current)

    store._schema_checked.clear()  # a later invocation
    again = CliRunner().invoke(main, ["conform", "--home", str(settings.home)])
    assert again.exit_code == 0, again.output
    assert "conformed: 0 table(s) opened file by file, 0 file(s) rewritten" in again.output
