"""The serving copy: atomic swaps under concurrent readers, a killed publish, Parquet exports."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from clientmart.serving.publish import (
    MartRelation,
    PublishError,
    latest_publication,
    mart_relations_from_manifest,
    publish,
    serving_path,
    storage_format,
)
from clientmart.settings import Settings

MARTS = [MartRelation("marts", "mart_balance_monthly"), MartRelation("marts", "dim_branch")]
DAY = (dt.date(2026, 9, 30), dt.date(2026, 9, 30))


def write_build(path: Path, version: int, rows: int = 200) -> None:
    """A build warehouse whose two marts share a total that changes with ``version``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE OR REPLACE TABLE marts.mart_balance_monthly AS SELECT "
        "'C' || lpad(i::VARCHAR, 5, '0') AS client_id, "
        "(DATE '2026-07-01' + to_months(i % 3))::DATE AS month_start, "
        f"CAST(i * 10.25 + {version} AS DECIMAL(24,2)) AS balance_cny FROM range({rows}) t(i)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE marts.dim_branch AS SELECT 'B1' AS branch_code, "
        "CAST(sum(balance_cny) AS DECIMAL(24,2)) AS total_cny, "
        f"{version} AS version FROM marts.mart_balance_monthly"
    )
    con.close()


def test_publication_log_and_parquet_exports_equal_the_marts(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 1)
    first = publish(build, serving, MARTS, (dt.date(2026, 9, 1), dt.date(2026, 9, 1)))
    write_build(build, 2)
    second = publish(build, serving, MARTS, DAY)
    assert second.row_counts == {"mart_balance_monthly": 200, "dim_branch": 1}
    log = latest_publication(serving)
    assert log["publication_id"] == second.publication_id != first.publication_id
    assert (log["business_date_min"], log["business_date_max"]) == (dt.date(2026, 9, 1), DAY[1])

    exports = serving / "exports"
    months = sorted(p.name for p in (exports / "mart_balance_monthly").iterdir())
    assert months == ["month=2026-07", "month=2026-08", "month=2026-09"]
    assert (exports / "dim_branch" / "dim_branch.parquet").exists()
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    for mart, key in (("mart_balance_monthly", "client_id"), ("dim_branch", "branch_code")):
        expected = con.sql(f"SELECT * FROM {mart} ORDER BY {key}").pl()
        files = pl.scan_parquet(exports / mart / "**" / "*.parquet", hive_partitioning=True)
        got = files.collect().sort(key).select(expected.columns)
        assert_frame_equal(got, expected)
        # each file on its own holds the mart's columns in the mart's order and types (the
        # month column too: a reader that ignores the folders loses nothing)
        for path in (exports / mart).rglob("*.parquet"):
            assert list(pl.read_parquet_schema(path).items()) == list(expected.schema.items())
    con.close()
    # only the current and the previous publication's exports are kept
    assert len(list((serving / "exports.d").iterdir())) == 2


def test_a_publication_by_hand_keeps_the_business_dates_held(tmp_path: Path) -> None:
    """`clientmart publish` without --date built no date: BI's "data as of" stays the last
    business date published (it once became the machine's date of the publish)."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 1)
    with pytest.raises(PublishError, match=r"clientmart publish --date D"):
        publish(build, serving, MARTS, None)  # nothing says which dates the build holds
    assert not serving_path(serving).exists()
    publish(build, serving, MARTS, (dt.date(2026, 9, 1), dt.date(2026, 9, 29)))
    write_build(build, 2)
    for incremental in (True, False):
        again = publish(build, serving, MARTS, None, incremental=incremental)
        assert (again.business_date_min, again.business_date_max) == (
            dt.date(2026, 9, 1),
            dt.date(2026, 9, 29),
        )
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    logged = con.execute(
        "SELECT business_date_max, run_start_date, run_end_date FROM publication_log "
        "ORDER BY published_at"
    ).fetchall()
    assert con.execute("SELECT max(version) FROM dim_branch").fetchall() == [(2,)]
    con.close()
    assert (
        logged
        == [(dt.date(2026, 9, 29), dt.date(2026, 9, 1), dt.date(2026, 9, 29))]
        + [(dt.date(2026, 9, 29), None, None)] * 2
    )
    assert publish(build, serving, MARTS, DAY).business_date_max == DAY[1]


def test_the_serving_copy_stays_readable_by_older_duckdb_readers(tmp_path: Path) -> None:
    """BI tools may read the serving file with an older DuckDB than the pipeline's: a first
    publication and one built on it keep the storage format that DuckDB 1.0 and later open
    (DuckDB tags it "v1.0.0+"). DuckDB 2.0 writes its own format unless told ("v2.0.0+"),
    which DuckDB 1.5 refuses to open (checked by hand on a file 2.0.1 wrote)."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    for version, window in ((1, (dt.date(2026, 9, 1), dt.date(2026, 9, 1))), (2, DAY)):
        write_build(build, version)
        publish(build, serving, MARTS, window)
        assert storage_format(serving_path(serving)) == "v1.0.0+", version


def test_a_newer_storage_format_takes_effect_without_reusing_files_of_the_old_one(
    tmp_path: Path,
) -> None:
    """CLIENTMART_SERVING_STORAGE_VERSION: a bank whose BI tools all read with DuckDB 1.5 or
    later may have the serving file written in DuckDB 1.5's format (its string compression
    writes a night's rows with about a fifth less CPU; docs/serving.md). A file keeps the
    format it was created with, so the first publication in the new format starts from an
    empty file instead of the standby or a copy in the old one; the next copies that one
    (the standby is still old); from the third on the standby is taken again. Each
    publication equals the build and carries the publication log."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 1)
    publish(build, serving, MARTS, DAY)
    assert storage_format(serving_path(serving)) == "v1.0.0+"
    bases = []
    for version in (2, 3, 4):
        write_build(build, version)
        result = publish(build, serving, MARTS, DAY, storage_version="v1.5.0")
        bases.append(result.base)
        assert storage_format(serving_path(serving)) == "v1.5.0+", version
        con = duckdb.connect(str(serving_path(serving)), read_only=True)
        assert con.execute("SELECT version FROM dim_branch").fetchall() == [(version,)]
        assert con.execute("SELECT count(*) FROM publication_log").fetchall() == [(version,)]
        con.close()
    assert bases == [None, "copy", "standby"]
    assert storage_format(serving / "clientmart.duckdb.standby") == "v1.5.0+"
    # and back: the old format again, for a reader that cannot be upgraded
    write_build(build, 5)
    assert publish(build, serving, MARTS, DAY).base is None
    assert storage_format(serving_path(serving)) == "v1.0.0+"


def test_an_unknown_serving_storage_version_is_refused_when_the_settings_load() -> None:
    """A version DuckDB does not know fails at start, naming the variable, not at the end of
    a night's build when the publish opens its file."""
    with pytest.raises(ValidationError, match="CLIENTMART_SERVING_STORAGE_VERSION=v9.9.9"):
        Settings(serving_storage_version="v9.9.9")
    assert Settings(serving_storage_version="v1.5.0").serving_storage_version == "v1.5.0"
    assert Settings.model_fields["serving_storage_version"].default == "v1.0.0"


def test_publish_refuses_when_a_mart_is_missing(tmp_path: Path) -> None:
    write_build(tmp_path / "build.duckdb", 1)
    with pytest.raises(PublishError, match="marts.mart_missing"):
        publish(
            tmp_path / "build.duckdb",
            tmp_path / "serving",
            [*MARTS, MartRelation("marts", "mart_missing")],
            DAY,
        )
    assert not serving_path(tmp_path / "serving").exists()


def test_publish_runs_under_its_memory_limit_and_says_so_when_it_is_too_small(
    tmp_path: Path,
) -> None:
    """The publish's DuckDB has a memory limit of its own: DuckDB's default is 80% of RAM, and
    a month's range at 1M clients published with 4.9 GB (docs/benchmark.md). Under a limit too
    small for the copy, the publish fails with an error that names the limit and its setting,
    leaves no temporary file or spill folder, and the previous publication stays served."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 1, rows=20_000)
    before = publish(build, serving, MARTS, DAY, memory_limit="256MB")
    write_build(build, 2, rows=20_000)
    with pytest.raises(PublishError, match=r"memory limit 1MB \(CLIENTMART_PUBLISH_MEMORY_LIMIT\)"):
        publish(build, serving, MARTS, DAY, memory_limit="1MB")
    assert latest_publication(serving)["publication_id"] == before.publication_id
    assert not list(serving.glob("clientmart.duckdb.tmp-*"))
    after = publish(build, serving, MARTS, DAY, memory_limit="256MB")
    assert after.row_counts == {"mart_balance_monthly": 20_000, "dim_branch": 1}


def test_publish_removes_the_files_and_spill_folder_a_killed_publish_left(tmp_path: Path) -> None:
    """A publish killed while DuckDB spilled leaves its new file and the spill folder DuckDB
    keeps beside it (<file>.tmp); the next publish removes both and succeeds."""
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 1)
    left = serving / "clientmart.duckdb.tmp-20261205T010203-deadbeef"
    spill = serving / "clientmart.duckdb.tmp-20261205T010203-deadbeef.tmp"
    spill.mkdir(parents=True)
    (spill / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"\0" * 1024)
    left.write_bytes(b"\0" * 1024)
    publish(build, serving, MARTS, DAY)
    assert not list(serving.glob("clientmart.duckdb.tmp-*"))
    assert latest_publication(serving)["business_date_max"] == DAY[1]


READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
    reads, errors, seen = 0, [], set()
    import os
    last = False
    while not last:
        # one more read after the stop signal: the writer's last publication was complete
        # before it, so the reader always sees it, however slow the machine
        last = os.path.exists(stop)
        try:
            con = duckdb.connect(path, read_only=True)
            detail = con.execute(
                "SELECT sum(balance_cny), count(*) FROM mart_balance_monthly").fetchall()[0]
            total, version = con.execute("SELECT total_cny, version FROM dim_branch").fetchall()[0]
            counts = con.execute(
                "SELECT row_counts FROM publication_log ORDER BY published_at DESC LIMIT 1"
            ).fetchall()[0][0]
            con.close()
            if detail[0] != total or json.loads(counts)["mart_balance_monthly"] != detail[1]:
                errors.append(f"inconsistent: {detail} vs {total} / {counts}")
            seen.add(version)
            reads += 1
        except Exception as exc:
            errors.append(repr(exc))
    json.dump({"reads": reads, "errors": errors, "versions": sorted(seen)}, open(out, "w"))
    """
)


def test_reader_in_a_loop_sees_whole_publications_and_no_errors(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 0)
    publish(build, serving, MARTS, DAY, with_exports=False)
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving_path(serving)), str(stop), str(out)]
    )
    try:
        for version in range(1, 7):
            write_build(build, version, rows=200 + version * 50)
            publish(build, serving, MARTS, DAY)
            time.sleep(0.2)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    result = json.loads(out.read_text())
    assert result["errors"] == []
    assert result["reads"] > 0
    assert max(result["versions"]) == 6  # the reader saw the publications change under it


KILLED_PUBLISH = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from pathlib import Path
    import clientmart.serving.publish as publish_module
    build, serving, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    copy = publish_module._replace_whole
    def slow_copy(con, relation):
        copy(con, relation)
        marker.touch()  # the new file is half written: the parent kills us now
        time.sleep(60)
    publish_module._replace_whole = slow_copy
    publish_module.publish(build, serving, [publish_module.MartRelation("marts", "dim_branch"),
                           publish_module.MartRelation("marts", "mart_balance_monthly")],
                           (dt.date(2026, 10, 1), dt.date(2026, 10, 1)))
    """
)


def test_publish_killed_midway_leaves_the_previous_copy_intact(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving"
    write_build(build, 1)
    before = publish(build, serving, MARTS, DAY)
    write_build(build, 2)
    marker = tmp_path / "halfway"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISH, str(build), str(serving), str(marker)]
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the publish never reached the midway point"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert list(serving.glob("clientmart.duckdb.tmp-*"))  # the half-written file it left
    log = latest_publication(serving)
    assert log["publication_id"] == before.publication_id
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    assert con.execute("SELECT version FROM dim_branch").fetchall() == [(1,)]
    con.close()
    after = publish(build, serving, MARTS, DAY)  # the next publish cleans up and succeeds
    assert latest_publication(serving)["publication_id"] == after.publication_id
    assert not list(serving.glob("clientmart.duckdb.tmp-*"))


def test_marts_from_manifest_skip_restricted_models(tmp_path: Path) -> None:
    def node(name: str, fqn: list[str], tags: list[str] = ()) -> dict:
        return {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": "main",
            "fqn": fqn,
            "tags": list(tags),
            "config": {"materialized": "table"},
        }

    nodes = [
        node("mart_client_tier", ["clientmart", "marts", "tiers", "mart_client_tier"]),
        node("dim_client", ["clientmart", "marts", "core", "dim_client"]),
        node(
            "quarantine_records",
            ["clientmart", "marts", "audit", "quarantine_records"],
            ["pii", "restricted"],
        ),
        node("int_calendar", ["clientmart", "intermediate", "rm", "int_calendar"]),
    ]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {f"model.x.{n['name']}": n for n in nodes}}))
    assert [r.name for r in mart_relations_from_manifest(manifest)] == [
        "dim_client",
        "mart_client_tier",
    ]
