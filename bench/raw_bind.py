"""Bind cost of each raw table, with and without DuckDB's union_by_name.

    .venv/bin/python bench/raw_bind.py <home>/raw --day 2026-07-10 [--repeat 3 --work DIR]

For every table folder under the raw root (each feed and the ingest audit) it times the
``EXPLAIN`` of one day's count over the table's glob, the way dbt's sources read it, with
and without ``union_by_name`` (alternately, median of ``--reps``), and prints the files and
seconds per table. ``--repeat N`` first builds, under ``--work``, a copy of the raw root whose
date folders also appear under N earlier periods as long as the history (hard links: no
data is copied), to show how binding grows with the files kept (docs/benchmark.md, "The
raw layer without union_by_name").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path

import duckdb

SCHEMA_FOLDER = "business_date=1900-01-01"


def repeat_history(raw: Path, work: Path, times: int) -> Path:
    """A raw root at ``work`` with every dated folder of ``raw`` also under ``times`` earlier
    periods, each as long as the history, as hard links."""
    days = {
        dt.date.fromisoformat(p.name.split("=", 1)[1])
        for p in raw.glob("*/business_date=*")
        if p.name != SCHEMA_FOLDER
    }
    span = (max(days) - min(days)).days + 1 if days else 0
    out = work / "raw"
    for part in raw.glob("*/business_date=*"):
        day = dt.date.fromisoformat(part.name.split("=", 1)[1])
        shifts = [0] if part.name == SCHEMA_FOLDER else range(times + 1)
        for k in shifts:
            target = out / part.parent.name / f"business_date={day - dt.timedelta(days=k * span)}"
            target.mkdir(parents=True, exist_ok=True)
            for f in part.glob("*.parquet"):
                if not (target / f.name).exists():
                    os.link(f, target / f.name)
    return out


def bind_seconds(con: duckdb.DuckDBPyConnection, pattern: str, day: dt.date, union: bool) -> float:
    option = ", union_by_name = true" if union else ""
    query = (
        f"explain select count(*) from read_parquet('{pattern}', hive_partitioning = true"
        f"{option}) where business_date = date '{day}'"
    )
    started = time.perf_counter()
    con.execute(query).fetchall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="A pipeline home's raw root.")
    parser.add_argument("--day", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=0, help="Earlier periods to add (links).")
    parser.add_argument("--work", type=Path, default=Path("/tmp/clientmart-raw-bind"))
    args = parser.parse_args()
    raw = repeat_history(args.raw, args.work, args.repeat) if args.repeat else args.raw
    con = duckdb.connect()
    print(f"{'table':24} {'files':>7} {'union_by_name s':>16} {'plain s':>8}")
    totals = [0.0, 0.0]
    for table in sorted(p for p in raw.iterdir() if p.is_dir()):
        pattern = f"{table}/*/*.parquet"
        files = len(list(table.glob("*/*.parquet")))
        runs: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.reps):
            for union in (True, False):
                runs[union].append(bind_seconds(con, pattern, args.day, union))
        union_s, plain_s = statistics.median(runs[True]), statistics.median(runs[False])
        totals[0] += union_s
        totals[1] += plain_s
        print(f"{table.name:24} {files:7d} {union_s:16.3f} {plain_s:8.3f}")
    print(f"{'every table once':24} {'':7} {totals[0]:16.3f} {totals[1]:8.3f}")


if __name__ == "__main__":
    main()
