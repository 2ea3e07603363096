"""bench/profile_statement.py: a statement's operators with the rows each emitted, so that a
scan reading more than the night needs shows (docs/benchmark.md, 2026-12-05)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from bench_scripts import bench_script


def test_the_profile_names_each_scan_with_the_rows_it_read(tmp_path: Path, capsys) -> None:
    ps = bench_script("profile_statement")
    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE TABLE facts AS SELECT range AS id, range % 31 AS day, range % 7 AS kind "
            "FROM range(100000)"
        )
    before = warehouse.stat().st_mtime_ns
    sql = tmp_path / "night.sql"
    # a night's rows, and a branch that reads the whole month and keeps none of it
    sql.write_text(
        "SELECT kind, count(*) AS n FROM build.main.facts WHERE day = 30 GROUP BY kind "
        "UNION ALL SELECT kind, count(*) FROM build.main.facts WHERE day <= 30 AND "
        "list_contains((SELECT list(kind) FROM build.main.facts WHERE kind > 6), kind) "
        "GROUP BY kind;"
    )
    result = ps.profile(warehouse, sql.read_text(), threads=1, memory_limit="500MB")
    assert result.rows == 7
    scans = sorted(op.rows for op in result.operators if op.name in ("TABLE_SCAN", "SEQ_SCAN"))
    night = 100000 // 31  # ids 30, 61, ... below 100,000
    assert night in scans
    # the branch filtered by a value computed while the statement runs read every row, as
    # the month states' recompute branch did, and kept none
    assert scans[-1] == 100000
    assert all("facts" in op.info.get("Table", "facts") for op in result.operators)
    assert warehouse.stat().st_mtime_ns == before  # read-only: the file is left as it was

    ps.main([str(warehouse), str(sql), "--top", "5", "--threads", "1"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("statement: ") and "7 rows" in printed[0]
    assert len(printed) == 2 + 5
    assert any("100,000" in line for line in printed[2:])
