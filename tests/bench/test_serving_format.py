"""bench/serving_format.py: one night's publish replayed in each serving format, alternated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from bench_scripts import bench_script

from clientmart.serving.publish import MartRelation, publish, serving_path, storage_format

MARTS = [MartRelation("marts", "mart_balance_monthly")]
DAY = dt.date(2026, 9, 30)


def write_build(path: Path, version: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE OR REPLACE TABLE marts.mart_balance_monthly AS SELECT "
        "'C' || lpad(i::VARCHAR, 5, '0') AS client_id, "
        f"CAST(i * 10.25 + {version} AS DECIMAL(24,2)) AS balance_cny FROM range(500) t(i)"
    )
    con.close()


def test_formats_alternate_each_as_often_first_as_last() -> None:
    sf = bench_script("serving_format")
    assert sf.order(["a", "b"], 3) == ["a", "b", "b", "a", "a", "b"]


def test_each_replay_publishes_a_copy_in_its_format_from_the_standby(tmp_path: Path) -> None:
    """The replay writes into a copy rewritten in the format under test, takes the standby as
    a night does, and leaves the home's serving folder as it was."""
    sf = bench_script("serving_format")
    build, served = tmp_path / "home" / "build.duckdb", tmp_path / "home" / "serving"
    for version in (1, 2):
        write_build(build, version)
        publish(build, served, MARTS, (DAY, DAY))
    before = serving_path(served).stat().st_mtime_ns
    for version, expected in (("v1.0.0", "v1.0.0+"), ("v1.5.0", "v1.5.0+")):
        run = sf.replay(build, served, MARTS, DAY, version, tmp_path / "copy", None)
        assert (run["format"], run["file"], run["base"]) == (version, expected, "standby")
        assert run["wall"] > 0 and run["cpu"] >= 0
        assert not (tmp_path / "copy").exists()
    assert storage_format(serving_path(served)) == "v1.0.0+"
    assert serving_path(served).stat().st_mtime_ns == before
