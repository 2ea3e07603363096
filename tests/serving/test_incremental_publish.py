"""Incremental publication: the serving copy takes only the key values the build's write log
names since the last publication, and is equal to a full publication whatever happened."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from clientmart.serving.exports import TableChange
from clientmart.serving.publish import MartRelation, publish, serving_path, standby_path

FACT = MartRelation("marts", "fct_balance_daily", unique_key="balance_date")
MONTHLY = MartRelation("marts", "mart_monthly", unique_key="month_start")
SUMMARY = MartRelation("marts", "dim_summary")  # a table mart: always copied whole
MARTS = [FACT, MONTHLY, SUMMARY]
DAY = (dt.date(2026, 3, 2), dt.date(2026, 3, 2))


def _log(con: duckdb.DuckDBPyConnection, relation: MartRelation, keys: list[str]) -> None:
    """What the dbt macro incremental_writes records for a delete+insert (or '*')."""
    for key in keys:
        con.execute(
            "INSERT INTO main.incremental_writes (relation_name, key_column, key_value, "
            "invocation_id) VALUES (?, ?, ?, 'inv')",
            [f"{relation.schema}.{relation.name}", relation.unique_key, key],
        )


def new_build(path: Path) -> None:
    """Two months of a daily fact (Jan, Feb), its monthly sums and a summary, as a full build."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE SEQUENCE main.incremental_writes_id")
    con.execute(
        "CREATE TABLE main.incremental_writes (write_id BIGINT DEFAULT "
        "nextval('main.incremental_writes_id'), relation_name VARCHAR, key_column VARCHAR, "
        "key_value VARCHAR, invocation_id VARCHAR, written_at TIMESTAMPTZ DEFAULT now())"
    )
    con.execute(
        "CREATE TABLE marts.fct_balance_daily AS SELECT (DATE '2026-01-01' + d::INTEGER)::DATE AS "
        "balance_date, 'A' || a AS account_id, CAST(d * 100 + a AS DECIMAL(24,2)) AS balance "
        "FROM range(59) t(d), range(20) s(a)"
    )
    _refresh_derived(con)
    _log(con, FACT, ["*"])
    _log(con, MONTHLY, ["*"])
    con.close()


def _refresh_derived(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE marts.mart_monthly AS SELECT date_trunc('month', balance_date)"
        "::DATE AS month_start, sum(balance) AS total FROM marts.fct_balance_daily GROUP BY 1"
    )
    con.execute(
        "CREATE OR REPLACE TABLE marts.dim_summary AS SELECT count(*) AS n, sum(balance) AS total "
        "FROM marts.fct_balance_daily"
    )


def night(path: Path, day: str, factor: int = 1) -> None:
    """A nightly delete+insert of one date (and its month), logged as dbt does."""
    con = duckdb.connect(str(path))
    con.execute(f"DELETE FROM marts.fct_balance_daily WHERE balance_date = DATE '{day}'")
    con.execute(
        f"INSERT INTO marts.fct_balance_daily SELECT DATE '{day}', 'A' || a, "
        f"CAST({factor} * 7 + a AS DECIMAL(24,2)) FROM range(20) s(a)"
    )
    _refresh_derived(con)
    _log(con, FACT, [day])
    _log(con, MONTHLY, [day[:8] + "01"])
    con.close()


def change_build(path: Path, sql: str, logged: dict[MartRelation, list[str]]) -> None:
    """Change the daily fact by ``sql``, refresh what derives from it, log ``logged``."""
    con = duckdb.connect(str(path))
    con.execute(sql)
    _refresh_derived(con)
    for relation, keys in logged.items():
        _log(con, relation, keys)
    con.close()


def fingerprint(path: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            r.name: con.execute(
                f"SELECT count(*), sum(hash(t)) FROM main.{r.name} AS t"
            ).fetchall()[0]
            for r in MARTS
        }
    finally:
        con.close()


def exports_fingerprint(serving: Path) -> dict[str, tuple]:
    con = duckdb.connect()
    out = {}
    for r in MARTS:
        files = str(serving / "exports" / r.name / "**" / "*.parquet")
        out[r.name] = con.execute(
            f"SELECT count(*), sum(hash(t)) FROM (SELECT * EXCLUDE (month) FROM "
            f"read_parquet('{files}', hive_partitioning = true, union_by_name = true)) t"
            if r.unique_key
            else f"SELECT count(*), sum(hash(t)) FROM read_parquet('{files}') t"
        ).fetchall()[0]
    return out


def full_publication(build: Path, tmp_path: Path) -> Path:
    serving = tmp_path / "full"
    publish(build, serving, MARTS, DAY, incremental=False)  # replaces any earlier one
    return serving


@pytest.mark.parametrize("literal_keys_max", [100, 0])
def test_a_night_publishes_its_keys_and_equals_a_full_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, literal_keys_max: int
) -> None:
    """Changed keys select their rows as constants (a few days or months) or through a
    temporary table (more than LITERAL_KEYS_MAX, e.g. clients); both give the same file."""
    from clientmart.serving import publish as publish_module

    monkeypatch.setattr(publish_module, "LITERAL_KEYS_MAX", literal_keys_max)
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    first = publish(build, serving, MARTS, DAY)
    assert first.mode == "full"  # nothing to build on yet

    night(build, "2026-03-01")  # a new date in a new month
    night(build, "2026-01-15", factor=3)  # a late correction of January
    second = publish(build, serving, MARTS, DAY)

    assert second.mode == "incremental"
    assert second.changes["fct_balance_daily"].keys == {"2026-03-01", "2026-01-15"}
    assert second.changes["mart_monthly"].keys == {"2026-03-01", "2026-01-01"}
    assert second.changes["dim_summary"].whole
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))
    assert exports_fingerprint(serving) == exports_fingerprint(full)

    # one file per day inside the month folders; only the two written days are new files,
    # every other day (all of February) is the previous publication's file, linked
    parts = serving / "exports" / "fct_balance_daily"
    assert sorted(p.name for p in parts.iterdir()) == [
        "month=2026-01",
        "month=2026-02",
        "month=2026-03",
    ]
    links = {f.name: f.stat().st_nlink for f in parts.glob("month=*/*.parquet")}
    assert len(links) == 59 + 1
    new_files = sorted(name for name, n in links.items() if n == 1)
    assert new_files == ["data_2026-01-15.parquet", "data_2026-03-01.parquet"]
    assert all(n == 2 for name, n in links.items() if name not in new_files)
    assert sorted(f.name for f in (parts / "month=2026-02").iterdir())[0] == (
        "data_2026-02-01.parquet"
    )

    # a night without writes since: the incremental marts are kept as they are
    third = publish(build, serving, MARTS, DAY)
    assert third.mode == "incremental" and not third.changes["fct_balance_daily"].keys
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))


def test_what_the_log_cannot_vouch_for_is_copied_whole(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    publish(build, serving, MARTS, DAY)

    # a full refresh of a model logs '*'
    change_build(
        build,
        "UPDATE marts.fct_balance_daily SET balance = balance + 1",
        {FACT: ["*"], MONTHLY: ["2026-01-01", "2026-02-01"]},
    )
    after_refresh = publish(build, serving, MARTS, DAY)
    assert after_refresh.changes["fct_balance_daily"].whole
    assert not after_refresh.changes["mart_monthly"].whole
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))

    # rows added outside the logged keys: the row count differs, the mart is copied whole
    change_build(
        build,
        "INSERT INTO marts.fct_balance_daily VALUES (DATE '2026-02-27', 'A99', 1), "
        "(DATE '2026-03-05', 'A99', 2)",
        {FACT: ["2026-03-05"], MONTHLY: ["2026-02-01", "2026-03-01"]},
    )
    unlogged = publish(build, serving, MARTS, DAY)
    assert unlogged.changes["fct_balance_daily"].whole
    # the exports, written while the copy was updated, are redone whole for it too (02-27's
    # file was planned to stay a link to the previous publication's)
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))
    assert exports_fingerprint(serving) == exports_fingerprint(full)

    # the build warehouse rebuilt from scratch: the log no longer holds the mark
    build.unlink()
    new_build(build)
    rebuilt = publish(build, serving, MARTS, DAY)
    assert rebuilt.mode == "full"
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))
    assert exports_fingerprint(serving) == exports_fingerprint(full)


def test_a_publication_log_of_an_older_layout_is_carried_forward(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    publish(build, serving, MARTS, DAY)
    con = duckdb.connect(str(serving_path(serving)))
    con.execute("ALTER TABLE publication_log DROP COLUMN writes_invocation")
    con.execute("ALTER TABLE publication_log DROP COLUMN writes_watermark")
    con.execute("ALTER TABLE publication_log DROP COLUMN mode")
    con.close()

    night(build, "2026-03-01")
    after = publish(build, serving, MARTS, DAY)
    assert after.mode == "full"  # the old log has no mark to build on
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    rows = con.execute("SELECT mode FROM publication_log ORDER BY published_at").fetchall()
    con.close()
    assert rows == [(None,), ("full",)]
    # the next publication starts from the standby, the first file, whose log has no mark
    # either: full again; after it, both files hold a mark
    night(build, "2026-03-02")
    assert publish(build, serving, MARTS, DAY).mode == "full"
    night(build, "2026-03-03")
    assert publish(build, serving, MARTS, DAY).mode == "incremental"


@pytest.mark.parametrize("ratio_exceeded", [True, False])
def test_a_serving_file_full_of_freed_space_is_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ratio_exceeded: bool
) -> None:
    from clientmart.serving import publish as publish_module

    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    publish(build, serving, MARTS, DAY)
    monkeypatch.setattr(publish_module, "COMPACT_RATIO", 1.0 if ratio_exceeded else 1e9)
    monkeypatch.setattr(publish_module, "COMPACT_MIN_FREE", 1024 * 1024)
    night(build, "2026-03-01")
    con = duckdb.connect(str(serving_path(serving)))  # leave freed blocks in the file
    con.execute("CREATE TABLE scratch AS SELECT random() AS x FROM range(2000000)")
    con.execute("CHECKPOINT")
    con.execute("CREATE TABLE later AS SELECT random() AS x FROM range(200000)")
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE scratch")
    con.execute("CHECKPOINT")
    con.close()
    result = publish(build, serving, MARTS, DAY)
    assert result.mode == ("full" if ratio_exceeded else "incremental")
    # a compacted file is written whole, but against the publication before only the night
    # changed: publication_changes records its keys, so PostgreSQL does not reload everything
    assert _changes(serving)[(result.publication_id, "fct_balance_daily")] == (
        False,
        "balance_date",
        ["2026-03-01"],
    )
    assert _changes(serving)[(result.publication_id, "dim_summary")] == (True, None, None)
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))


CLIENTS = MartRelation("marts", "dim_clients", unique_key="client_id")


def _clients_night(path: Path, clients: range, version: int) -> None:
    """A night of a mart published by client: ``clients`` rewritten, logged as dbt does."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE IF NOT EXISTS marts.dim_clients (client_id VARCHAR, version INT)")
    keys = [f"C{n:06d}" for n in clients]
    con.execute("DELETE FROM marts.dim_clients WHERE client_id IN (SELECT unnest(?))", [keys])
    con.execute("INSERT INTO marts.dim_clients SELECT unnest(?), ?", [keys, version])
    con.execute(
        "INSERT INTO main.incremental_writes (relation_name, key_column, key_value, "
        "invocation_id) SELECT 'marts.dim_clients', 'client_id', unnest(?), 'inv'",
        [keys],
    )
    con.close()


def _dead_rows(path: Path, table: str) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        held = con.execute(
            "SELECT estimated_size FROM duckdb_tables() WHERE table_name = ?", [table]
        ).fetchall()[0][0]
        return held - con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.parametrize("limit_exceeded", [True, False])
def test_a_mart_mostly_of_deleted_rows_is_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit_exceeded: bool
) -> None:
    """The publish's checkpoints do not vacuum, so a mart updated by client keeps the rows it
    deleted inside row groups it did not empty. Once those outnumber COMPACT_RATIO times the
    live rows (and COMPACT_MIN_DEAD_ROWS), the mart is written whole, which drops them."""
    from clientmart.serving import publish as publish_module

    monkeypatch.setattr(publish_module, "COMPACT_MIN_DEAD_ROWS", 1000 if limit_exceeded else 10**9)
    # a quarter of this small file changes each night, so copying it would be cheaper than
    # the standby's second night of rows (STANDBY_ROW_COST); the standby is what leaves the
    # deleted rows under test, and a night of a real bank changes a small share of its file
    monkeypatch.setattr(publish_module, "STANDBY_ROW_COST", 0)
    marts = [*MARTS, CLIENTS]
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    _clients_night(build, range(10_000), 1)
    publish(build, serving, marts, DAY)  # the first file: written whole
    dead = []
    for version, first in enumerate((0, 1, 2, 0, 1), start=2):  # a quarter a night
        _clients_night(build, range(first, 10_000, 4), version)
        result = publish(build, serving, marts, DAY)
        dead.append(_dead_rows(serving_path(serving), "dim_clients"))
    # the second file is a copy of the first; each later one takes over the standby, two
    # nights behind, and adds two nights' deletes. The last starts from the file published
    # two nights before it: 7,500 deleted rows beside 10,000 live ones
    assert dead[:4] == [2500, 5000, 7500, 10000]
    assert dead[4] == (0 if limit_exceeded else 10000)
    # written whole into the file or not, the mart changed by the night's clients against
    # the publication before: what publication_changes tells the PostgreSQL load to replay
    night_keys = frozenset(f"C{n:06d}" for n in range(1, 10_000, 4))
    assert result.changes["dim_clients"] == TableChange(
        whole=False, keys=night_keys, key_column="client_id"
    )
    query = "SELECT * FROM {}dim_clients ORDER BY ALL"
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    con.execute(f"ATTACH '{build}' AS build (READ_ONLY)")
    assert (
        con.execute(query.format("main.")).fetchall()
        == con.execute(query.format("build.marts.")).fetchall()
    )
    con.close()


MONTHS = MartRelation("marts", "mart_months", unique_key="month_start")


def test_a_mart_written_whole_is_in_key_order_so_replacing_a_month_leaves_no_dead_rows(
    tmp_path: Path,
) -> None:
    """A mart first built over a range of months holds them side by side in its row groups
    (here every other row). The first publication writes it in the order of its key, so the
    month a night replaces is in row groups of its own: deleting it empties them and the
    checkpoint drops them, instead of leaving the month's old rows among the live ones of
    the month before (which made later publications write the mart whole, COMPACT_RATIO)."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    con = duckdb.connect(str(build))
    con.execute(
        "CREATE TABLE marts.mart_months AS SELECT (DATE '2026-01-01' + to_months(i % 2))::DATE "
        "AS month_start, i AS client_number, 1 AS version FROM range(600000) r(i)"
    )
    _log(con, MONTHS, ["*"])
    con.close()
    marts = [*MARTS, MONTHS]
    publish(build, serving, marts, DAY)
    for version in (2, 3, 4):  # nights that replace February: copy, then standby, standby
        con = duckdb.connect(str(build))
        con.execute("DELETE FROM marts.mart_months WHERE month_start = DATE '2026-02-01'")
        con.execute(
            "INSERT INTO marts.mart_months SELECT DATE '2026-02-01', i, ? FROM range(1, 600000, 2) "
            "r(i)",
            [version],
        )
        _log(con, MONTHS, ["2026-02-01"])
        con.close()
        result = publish(build, serving, marts, DAY)
        assert not result.changes["mart_months"].whole  # by key: never compacted
        # at most the row group the two months share keeps deleted rows
        assert _dead_rows(serving_path(serving), "mart_months") < 122_880
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    assert con.execute(
        "SELECT month_start, count(*), max(version) FROM mart_months GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(dt.date(2026, 1, 1), 300_000, 1), (dt.date(2026, 2, 1), 300_000, 4)]
    con.close()


def test_a_value_split_over_several_files_is_still_one_value(tmp_path: Path) -> None:
    """A large export writes more values than DuckDB keeps files open for
    (partitioned_write_max_open_files): it closes and reopens them, so one day can land in
    several files. Every file is named for its day, so the next publication still links or
    replaces the day's files together."""
    from clientmart.serving.exports import Source, _copy_dated, _dated_files

    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute(
        "CREATE TABLE fact AS SELECT (DATE '2026-01-01' + (i % 40)::INTEGER)::DATE AS "
        "balance_date, i FROM range(400000) r(i)"
    )
    con.execute("SET partitioned_write_max_open_files = 4")
    # each thread flushes its buffered rows every 1,000 rows, not at DuckDB's 524,288: a
    # busy machine may give all 400,000 rows to one thread, which flushed each day once,
    # wrote no day twice and failed this test now and then (and DuckDB 2.0 wrote each day
    # once at 50,000 rows or 10,000)
    con.execute("SET partitioned_write_flush_threshold = 1000")
    out = tmp_path / "out"
    out.mkdir()
    _copy_dated(con, Source("serving", "main", "fact"), out, "balance_date", None)
    files = _dated_files(out)
    assert files is not None and len(files) > 40  # some days are split
    days = {day for day, _ in files}
    assert len(days) == 40
    per_day = {}
    for day, path in files:
        per_day[day] = (
            per_day.get(day, 0)
            + con.execute(
                f"SELECT count(*) FROM read_parquet('{path}') WHERE balance_date = DATE '{day}'"
            ).fetchall()[0][0]
        )
    assert set(per_day.values()) == {10_000}
    con.close()


def test_a_publication_takes_over_the_standby_instead_of_copying_the_current_file(
    tmp_path: Path,
) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    first = publish(build, serving, MARTS, DAY)
    assert first.base is None and not standby_path(serving).exists()
    first_inode = serving_path(serving).stat().st_ino

    night(build, "2026-03-01")
    second = publish(build, serving, MARTS, DAY)
    assert second.base == "copy"  # no standby yet
    # the file it replaced is kept, untouched, as the standby
    assert standby_path(serving).stat().st_ino == first_inode

    night(build, "2026-03-02")
    night(build, "2026-01-20", factor=5)  # a late correction too
    third = publish(build, serving, MARTS, DAY)
    assert third.base == "standby" and third.mode == "incremental"
    # the first publication's file, brought up by the writes of two nights, is now current
    assert serving_path(serving).stat().st_ino == first_inode
    assert third.changes["fct_balance_daily"].keys == {"2026-03-02", "2026-01-20"}  # since the 2nd
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))
    assert exports_fingerprint(serving) == exports_fingerprint(full)
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    log = con.execute("SELECT publication_id FROM publication_log ORDER BY published_at").fetchall()
    con.close()
    assert [p for (p,) in log] == [p.publication_id for p in (first, second, third)]

    # and the next one takes the second publication's file, and so on
    night(build, "2026-03-03")
    fourth = publish(build, serving, MARTS, DAY)
    assert fourth.base == "standby"
    assert fingerprint(serving_path(serving)) == fingerprint(
        serving_path(full_publication(build, tmp_path))
    )


@pytest.mark.parametrize("literal_keys_max", [100, 0])
def test_after_a_range_the_next_night_copies_the_current_file_instead_of_the_standby(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    literal_keys_max: int,
) -> None:
    """The standby after a range is the publication before it: bringing it up would write the
    range's rows again, so the night copies the range's publication and writes its own."""
    from clientmart.serving import publish as publish_module

    monkeypatch.setattr(publish_module, "LITERAL_KEYS_MAX", literal_keys_max)
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    publish(build, serving, MARTS, DAY)
    night(build, "2026-03-01")
    publish(build, serving, MARTS, DAY)
    for day in range(2, 31):  # a range: 29 dates in one run, one publication
        night(build, f"2026-03-{day:02d}")
    after_range = publish(build, serving, MARTS, DAY)
    assert after_range.base == "standby"  # it skips one night: 20 rows against 1,240
    range_inode = serving_path(serving).stat().st_ino

    night(build, "2026-03-31")
    with caplog.at_level("INFO", logger="clientmart.serving.publish"):
        following = publish(build, serving, MARTS, DAY)
    # the standby would write the range's 580 rows again, ten times the cost of copying
    # the range's publication (1,787 rows)
    assert following.base == "copy" and following.mode == "incremental"
    assert "serving standby not taken: it would write 580 rows again" in caplog.text
    assert following.changes["fct_balance_daily"].keys == {"2026-03-31"}
    assert standby_path(serving).stat().st_ino == range_inode  # the range's file, untouched
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))
    assert exports_fingerprint(serving) == exports_fingerprint(full)

    # the night after that skips one night again: the standby is taken
    night(build, "2026-04-01")
    assert publish(build, serving, MARTS, DAY).base == "standby"
    full = full_publication(build, tmp_path)
    assert fingerprint(serving_path(serving)) == fingerprint(serving_path(full))
    assert exports_fingerprint(serving) == exports_fingerprint(full)


READER_HOLDING = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM fct_balance_daily").fetchall()[0][0], flush=True)
sys.stdin.readline()  # hold the file until told
print(con.execute("SELECT count(*) FROM fct_balance_daily").fetchall()[0][0], flush=True)
"""


@pytest.mark.parametrize("holder", ["other process", "this process"])
def test_a_standby_still_open_is_left_to_its_reader(tmp_path: Path, holder: str) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    publish(build, serving, MARTS, DAY)
    night(build, "2026-03-01")
    publish(build, serving, MARTS, DAY)
    night(build, "2026-03-02")
    standby = standby_path(serving)
    held = standby.stat().st_ino
    if holder == "other process":
        reader = subprocess.Popen(
            [sys.executable, "-c", READER_HOLDING, str(standby)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        before = reader.stdout.readline().strip()
    else:
        con = duckdb.connect(str(standby), read_only=True)
        before = str(con.execute("SELECT count(*) FROM fct_balance_daily").fetchall()[0][0])
    try:
        result = publish(build, serving, MARTS, DAY)
    finally:
        if holder == "other process":
            reader.stdin.write("\n")
            reader.stdin.flush()
            after = reader.stdout.readline().strip()
            reader.wait(timeout=30)
        else:
            after = str(con.execute("SELECT count(*) FROM fct_balance_daily").fetchall()[0][0])
            con.close()
    assert result.base == "copy" and result.mode == "incremental"
    assert serving_path(serving).stat().st_ino != held
    assert before == after  # the reader's file was not written under it
    assert fingerprint(serving_path(serving)) == fingerprint(
        serving_path(full_publication(build, tmp_path))
    )


def _changes(serving: Path) -> dict[tuple[str, str], tuple]:
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    try:
        rows = con.execute(
            "SELECT publication_id, mart, whole, key_column, key_values FROM publication_changes"
        ).fetchall()
    finally:
        con.close()
    return {(pid, mart): (whole, key, keys) for pid, mart, whole, key, keys in rows}


def test_each_publication_records_what_it_changed_against_the_one_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """publication_changes: per publication and mart, whole or the key values changed since
    the publication before (what the PostgreSQL load replays), carried from file to file
    (the standby lacks the previous publication's rows), the last CHANGES_KEPT kept; longer
    key lists than CHANGES_KEYS_MAX are recorded as whole."""
    from clientmart.serving import publish as publish_module

    monkeypatch.setattr(publish_module, "CHANGES_KEPT", 3)
    monkeypatch.setattr(publish_module, "CHANGES_KEYS_MAX", 2)
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    new_build(build)
    first = publish(build, serving, MARTS, DAY)
    night(build, "2026-03-01")
    second = publish(build, serving, MARTS, DAY)
    night(build, "2026-03-02")
    night(build, "2026-01-20", factor=5)
    third = publish(build, serving, MARTS, DAY)
    assert third.base == "standby"  # the file held the first publication's rows only

    changes = _changes(serving)
    one, two, three = (p.publication_id for p in (first, second, third))
    assert changes == {
        (one, "dim_summary"): (True, None, None),
        (one, "fct_balance_daily"): (True, "balance_date", None),
        (one, "mart_monthly"): (True, "month_start", None),
        (two, "dim_summary"): (True, None, None),
        (two, "fct_balance_daily"): (False, "balance_date", ["2026-03-01"]),
        (two, "mart_monthly"): (False, "month_start", ["2026-03-01"]),
        (three, "dim_summary"): (True, None, None),
        (three, "fct_balance_daily"): (False, "balance_date", ["2026-01-20", "2026-03-02"]),
        (three, "mart_monthly"): (False, "month_start", ["2026-01-01", "2026-03-01"]),
    }

    night(build, "2026-03-03")
    night(build, "2026-02-10")
    night(build, "2026-01-21")  # three days: more than CHANGES_KEYS_MAX, recorded as whole
    fourth = publish(build, serving, MARTS, DAY)
    assert len(fourth.changes["fct_balance_daily"].keys) == 3  # the file still took keys
    changes = _changes(serving)
    assert {pid for pid, _ in changes} == {two, three, fourth.publication_id}  # the last 3
    assert changes[(fourth.publication_id, "fct_balance_daily")] == (True, "balance_date", None)
    assert changes[(fourth.publication_id, "mart_monthly")] == (True, "month_start", None)
