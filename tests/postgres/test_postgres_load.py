"""Loading publications into PostgreSQL: COPY, one transaction, atomic replacement, refusals."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

import clientmart.serving.postgres as pg_serving
from clientmart.serving.postgres import (
    PostgresLoadError,
    load_publication,
    loaded_publications,
)
from clientmart.serving.postgres_access import role_name

TOTALS = (
    "SELECT (SELECT sum(aum_cny) FROM marts.mart_client_assets_monthly), "
    "(SELECT sum(achieved_cny) FROM marts.mart_rm_attainment), "
    "(SELECT sum(month_end_balance_cny) FROM marts.mart_client_breakdown), "
    "(SELECT max(publication_id) FROM marts.publication_log)"
)


def duck_totals(serving: Path) -> tuple:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(TOTALS.replace("marts.", "main.")).fetchall()[0]
    finally:
        con.close()


def super_dsn(postgres_server, loader_dsn: str) -> str:
    return postgres_server.superuser_dsn(conninfo_to_dict(loader_dsn)["dbname"])


def read_totals(dsn: str, role: str = "inst_h01") -> tuple:
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET ROLE "{role}"')
        return conn.execute(TOTALS).fetchall()[0]


def test_every_table_is_loaded_with_copy_and_exact_money(
    serving_database, settings_for, bank, tmp_path, monkeypatch, postgres_server
):
    copies: list[str] = []
    real_copy = psycopg.Cursor.copy

    def spy_copy(self, statement, *args, **kwargs):
        copies.append(statement.as_string(self) if hasattr(statement, "as_string") else statement)
        return real_copy(self, statement, *args, **kwargs)

    def no_executemany(self, *args, **kwargs):
        raise AssertionError("rows must be loaded with COPY, not executemany")

    monkeypatch.setattr(psycopg.Cursor, "copy", spy_copy)
    monkeypatch.setattr(psycopg.Cursor, "executemany", no_executemany)
    serving = bank.build(tmp_path / "clientmart.duckdb", "pub-1")
    result = load_publication(settings_for(serving_database), serving, "pub-1")

    con = duckdb.connect(str(serving), read_only=True)
    want = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        if t != "quarantine_records"
    }
    con.close()
    assert result.tables == want
    assert result.tables_skipped == ("quarantine_records",)
    with psycopg.connect(serving_database) as conn:
        assert conn.execute("SELECT to_regclass('marts.quarantine_records')").fetchone() == (None,)
    for table in want:
        assert any(f'"loader"."{table}"' in c and "FROM STDIN" in c for c in copies), table
    assert result.scopes["mart_rm_attainment"] == (
        "coalesce(outlet_code, sub_branch_code, branch_code, head_office_code)"
    )
    assert result.scopes["mart_client_breakdown"] == "inst_code"
    assert result.scopes["publication_log"] == "shared"
    assert result.scopes["dim_product"] == "shared"
    assert result.scopes["ingest_audit"] == "head_office"
    assert result.scopes["mart_rm_nine_grid"] == "rm_id via dim_rm"
    assert set(result.roles) == {role_name(c) for c in bank.parent}
    assert set(result.roles_created) <= set(result.roles)
    expected = duck_totals(serving)
    assert read_totals(super_dsn(postgres_server, serving_database)) == expected
    assert all(isinstance(v, Decimal) for v in expected[:3])
    history = loaded_publications(settings_for(serving_database))
    assert [pid for pid, _ in history] == ["pub-1"]


def test_second_publication_replaces_data_in_one_transaction(
    serving_database, settings_for, bank, tmp_path, monkeypatch, postgres_server
):
    settings = settings_for(serving_database)
    first = bank.build(tmp_path / "v1" / "clientmart.duckdb", "pub-1", version=1)
    second = bank.build(
        tmp_path / "v2" / "clientmart.duckdb", "pub-2", version=2, with_product_dim=False
    )
    old, new = duck_totals(first), duck_totals(second)
    assert old != new and all(a != b for a, b in zip(old, new, strict=True))
    load_publication(settings, first, "pub-1")
    dsn = super_dsn(postgres_server, serving_database)
    assert read_totals(dsn) == old

    real_copy_table = pg_serving._copy_table

    def slow_copy_table(*args, **kwargs):
        time.sleep(0.25)  # stretch the load so the reader polls all through it
        return real_copy_table(*args, **kwargs)

    monkeypatch.setattr(pg_serving, "_copy_table", slow_copy_table)
    seen: list[tuple] = []
    loading = threading.Event()
    done = threading.Event()

    def reader() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute('SET ROLE "inst_h01"')
            while not done.is_set():
                row = conn.execute(TOTALS).fetchall()[0]
                seen.append((loading.is_set(), row))
                time.sleep(0.01)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        loading.set()
        result = load_publication(settings, second, "pub-2")
        time.sleep(0.1)
    finally:
        done.set()
        thread.join(timeout=30)
    during = [row for flag, row in seen if flag]
    assert len(during) > 20, "the reader must have polled while the load ran"
    assert {row for _, row in seen} <= {old, new}
    assert old in during and new in during
    first_new = during.index(new)
    assert all(row == new for row in during[first_new:]), "never back to the old totals"
    assert read_totals(dsn) == new
    assert result.tables_dropped == ("dim_product",)
    with psycopg.connect(serving_database) as conn:
        leftovers = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'loader' AND tablename <> "
            "'load_log'"
        ).fetchall()
        assert leftovers == []
        assert conn.execute("SELECT to_regclass('marts.dim_product')").fetchone()[0] is None


def test_a_failed_load_leaves_the_previous_publication(
    serving_database, settings_for, bank, tmp_path, monkeypatch, postgres_server
):
    settings = settings_for(serving_database)
    first = bank.build(tmp_path / "v1" / "clientmart.duckdb", "pub-1", version=1)
    load_publication(settings, first, "pub-1")
    second = bank.build(tmp_path / "v2" / "clientmart.duckdb", "pub-2", version=2)
    real_copy_table = pg_serving._copy_table
    calls = []

    def failing_copy_table(cur, target, columns, csv_path):
        calls.append(csv_path.name)
        if len(calls) == 3:
            raise OSError("disk went away")
        return real_copy_table(cur, target, columns, csv_path)

    monkeypatch.setattr(pg_serving, "_copy_table", failing_copy_table)
    with pytest.raises(OSError, match="disk went away"):
        load_publication(settings, second, "pub-2")
    assert read_totals(super_dsn(postgres_server, serving_database)) == duck_totals(first)
    assert [pid for pid, _ in loaded_publications(settings)] == ["pub-1"]


def test_a_retired_institution_role_reads_nothing_and_head_office_keeps_its_rows(
    serving_database, settings_for, bank, tmp_path, postgres_server
):
    settings = settings_for(serving_database)
    load_publication(settings, bank.build(tmp_path / "v1" / "c.duckdb", "pub-1"), "pub-1")
    retired = "O0222"
    second = bank.build(
        tmp_path / "v2" / "c.duckdb", "pub-2", exclude_institutions=frozenset({retired})
    )
    result = load_publication(settings, second, "pub-2")
    assert role_name(retired) not in result.roles
    dsn = super_dsn(postgres_server, serving_database)
    query = f"SELECT count(*) FROM marts.mart_client_assets_monthly WHERE inst_code = '{retired}'"
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET ROLE "{role_name(retired)}"')  # the role still exists ...
        assert conn.execute(query).fetchone()[0] == 0  # ... but reads nothing
        conn.execute("RESET ROLE")
        conn.execute('SET ROLE "inst_h01"')
        assert conn.execute(query).fetchone()[0] == 3


def test_the_swap_waits_for_a_long_reader_then_completes(
    serving_database, settings_for, bank, tmp_path, monkeypatch, postgres_server, caplog
):
    settings = settings_for(serving_database)
    first = bank.build(tmp_path / "v1" / "c.duckdb", "pub-1", version=1)
    second = bank.build(tmp_path / "v2" / "c.duckdb", "pub-2", version=2)
    load_publication(settings, first, "pub-1")
    monkeypatch.setattr(pg_serving, "LOCK_TIMEOUT", "150ms")
    dsn = super_dsn(postgres_server, serving_database)
    reads: list = []
    reader = psycopg.connect(dsn)
    reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    reader.execute('SET ROLE "inst_b01"')
    reads.append(
        reader.execute("SELECT sum(aum_cny) FROM marts.mart_client_assets_monthly").fetchone()
    )
    outcome: dict = {}

    def load() -> None:
        outcome["result"] = load_publication(settings, second, "pub-2")

    caplog.set_level(logging.WARNING, logger="clientmart.serving.postgres")
    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(1.0)  # the loader is now retrying the swap against our open transaction
    assert thread.is_alive()
    reads.append(
        reader.execute("SELECT sum(aum_cny) FROM marts.mart_client_assets_monthly").fetchone()
    )
    reader.commit()
    reader.close()
    thread.join(timeout=60)
    assert outcome["result"].publication_id == "pub-2"
    assert reads[0] == reads[1], "a reader inside one transaction keeps its publication"
    assert any("swap attempt" in r.getMessage() for r in caplog.records)
    assert read_totals(dsn) == duck_totals(second)


def test_the_swap_gives_up_cleanly_when_readers_never_let_go(
    serving_database, settings_for, bank, tmp_path, monkeypatch, postgres_server
):
    settings = settings_for(serving_database)
    first = bank.build(tmp_path / "v1" / "c.duckdb", "pub-1", version=1)
    second = bank.build(tmp_path / "v2" / "c.duckdb", "pub-2", version=2)
    load_publication(settings, first, "pub-1")
    monkeypatch.setattr(pg_serving, "LOCK_TIMEOUT", "100ms")
    monkeypatch.setattr(pg_serving, "SWAP_ATTEMPTS", 2)
    dsn = super_dsn(postgres_server, serving_database)
    with psycopg.connect(dsn) as blocker:
        blocker.execute("SELECT count(*) FROM marts.mart_rm_attainment").fetchall()
        with pytest.raises(PostgresLoadError, match="could not take the marts tables"):
            load_publication(settings, second, "pub-2")
    assert read_totals(dsn) == duck_totals(first)


def test_personal_data_in_clear_is_refused(
    serving_database, settings_for, bank, tmp_path, postgres_server
):
    serving = bank.build(
        tmp_path / "c.duckdb",
        "pub-1",
        extra_tables={"mart_leaky": "SELECT 'S011' AS inst_code, '13812345678' AS phone"},
    )
    with pytest.raises(PostgresLoadError, match=r"mart_leaky has column\(s\) phone"):
        load_publication(settings_for(serving_database), serving, "pub-1")
    with psycopg.connect(serving_database) as conn:
        assert conn.execute("SELECT to_regnamespace('marts')").fetchone()[0] is None


def test_refusals_name_what_is_wrong(serving_database, settings_for, bank, tmp_path):
    serving = bank.build(tmp_path / "c.duckdb", "pub-1")
    with pytest.raises(PostgresLoadError, match="CLIENTMART_POSTGRES_DSN"):
        load_publication(settings_for(None), serving, "pub-1")
    assert loaded_publications(settings_for(None)) == []
    with pytest.raises(PostgresLoadError, match="latest publication is pub-1, not pub-0"):
        load_publication(settings_for(serving_database), serving, "pub-0")
    with pytest.raises(PostgresLoadError, match="does not exist"):
        load_publication(settings_for(serving_database), tmp_path / "none.duckdb", "pub-1")
    odd = bank.build(
        tmp_path / "odd.duckdb",
        "pub-1",
        extra_tables={"mart_odd": "SELECT 'S011' AS inst_code, 1::BIT AS flags"},
    )
    with pytest.raises(PostgresLoadError, match="mart_odd, column flags: DuckDB type BIT"):
        load_publication(settings_for(serving_database), odd, "pub-1")


def test_values_survive_the_trip_exactly(
    serving_database, settings_for, bank, tmp_path, postgres_server
):
    zoo = (
        "SELECT * FROM (VALUES "
        "(1, 12345678901234567890123456789.123456789::DECIMAL(38,9), DATE '2026-02-28', "
        " TIMESTAMPTZ '2026-01-02 03:04:05.123456+00', TIMESTAMP '2026-01-02 03:04:05', "
        " true, E'quote \" comma , newline \\n end', '', [1, 2, 3], {'a': 1, 'b': 'x'}, "
        " '\\x00\\xFF'::BLOB, 170141183460469231731687303715884105727::HUGEINT, "
        " 'f0e1d2c3-b4a5-4697-8899-aabbccddeeff'::UUID, INTERVAL 2 DAY, 0.1::DOUBLE, '机构'), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        " NULL, NULL)"
        ") v(id, amount, d, ts, tsl, b, txt, empty, lst, st, bl, huge, u, iv, f, cn)"
    )
    serving = bank.build(tmp_path / "c.duckdb", "pub-1", extra_tables={"type_zoo": zoo})
    load_publication(settings_for(serving_database), serving, "pub-1")
    with psycopg.connect(serving_database) as conn:
        rows = conn.execute("SELECT * FROM marts.type_zoo ORDER BY id").fetchall()
    assert rows[0] == (
        1,
        Decimal("12345678901234567890123456789.123456789"),
        dt.date(2026, 2, 28),
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5),
        True,
        'quote " comma , newline \n end',
        "",
        [1, 2, 3],
        {"a": 1, "b": "x"},
        b"\x00\xff",
        Decimal(170141183460469231731687303715884105727),
        uuid.UUID("f0e1d2c3-b4a5-4697-8899-aabbccddeeff"),
        dt.timedelta(days=2),
        0.1,
        "机构",
    )
    assert rows[1] == (2,) + (None,) * 15


def test_an_older_publication_never_replaces_a_newer_one(
    serving_database, settings_for, bank, tmp_path, postgres_server
):
    """A load that waited on the loader's lock while a newer publication was loaded (or a
    hand load of an older copy) replaced it, and BI went back a night."""
    settings = settings_for(serving_database)
    older, newer = "20261207T232937-6c5507f7", "20261207T233142-0c0d02c6"
    old_copy = bank.build(tmp_path / "v1" / "clientmart.duckdb", older, version=1)
    new_copy = bank.build(tmp_path / "v2" / "clientmart.duckdb", newer, version=2)
    load_publication(settings, new_copy, newer)
    with pytest.raises(PostgresLoadError, match=f"holds publication {newer}, newer than {older}"):
        load_publication(settings, old_copy, older)
    assert read_totals(super_dsn(postgres_server, serving_database)) == duck_totals(new_copy)
    assert [pid for pid, _ in loaded_publications(settings)] == [newer]
