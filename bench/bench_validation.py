"""Validation cost as a ratio to read cost, on a generated 1M-row deposit_balances file.

Validation (record rules as polars expressions + the great-expectations suite on the kept
batch) must not cost more than reading the file. Run:
    .venv/bin/python bench/bench_validation.py [--rows 1000000] [--repeat 5]
The file is read, split and validated ``--repeat`` times in one process (the first run pays
one-off costs, as a nightly run's first file does); each figure is the median over the runs
and the ratio is the medians' (validation = record rules + GX suite, read = checksum + read).
Prints one JSON line; not part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from expectations.suites import runtime_context
from expectations.validate import validate_batch
from ingest.decode import file_checksum
from ingest.read import read_delivery
from ingest.rules import split_records
from ingest.spec import load_feeds
from ingest.store import write_atomic

DAY = dt.date(2026, 10, 1)


def generate(path: Path, rows: int, clients: int) -> None:
    """A deposit_balances file of plain amounts (no thousands separators, no padding: the
    generator's nightly files have both) with one negative balance in a thousand records."""
    i = pl.int_range(rows, eager=True)
    frame = pl.DataFrame(
        {
            "余额日期": pl.repeat("20261001", rows, eager=True),
            "账号": "62220" + i.cast(pl.String).str.zfill(12),
            "客户号": "C" + (i % clients).cast(pl.String).str.zfill(8),
            "开户机构": "B" + (i % 20).cast(pl.String).str.zfill(3),
            "产品代码": pl.Series(["DD01", "TD01"]).gather(i % 2),
            "币种": pl.repeat("CNY", rows, eager=True),
            "余额": ((i * 7919) % 10_000_000).cast(pl.String) + ".25",
        }
    )
    frame = frame.with_columns(
        pl.when(i % 1000 == 0).then(pl.lit("-1")).otherwise(pl.col("余额")).alias("余额")
    )
    frame.write_csv(path, separator="|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument(
        "--repeat", type=int, default=5, help="Runs in one process; medians are reported."
    )
    args = parser.parse_args()
    feed = load_feeds()["deposit_balances"]
    runtime_context()  # GX start-up is paid once per process, not per file
    references = {
        "clients.client_id": pl.Series([f"C{n:08d}" for n in range(args.clients)]),
        "institutions.inst_code": pl.Series([f"B{n:03d}" for n in range(20)]),
        "products.product_code": pl.Series(["DD01", "TD01"]),
    }
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deposit_balances.csv"
        generate(path, args.rows, args.clients)
        size_mb = path.stat().st_size / 1e6
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            file_checksum(path)
            read = read_delivery(path, feed, "bench")
            t1 = time.perf_counter()
            split = split_records(read, feed, DAY, references)
            t2 = time.perf_counter()
            summary = validate_batch(feed, split.kept, DAY, split.kept.height, references)
            t3 = time.perf_counter()
            write_atomic(split.kept, Path(tmp) / "out.parquet")
            t4 = time.perf_counter()
            runs.append(
                {
                    "read_s": t1 - t0,
                    "record_rules_s": t2 - t1,
                    "gx_suite_s": t3 - t2,
                    "write_s": t4 - t3,
                    "validation_to_read_ratio": (t3 - t1) / (t1 - t0),
                }
            )
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    median["validation_to_read_ratio"] = (median["record_rules_s"] + median["gx_suite_s"]) / median[
        "read_s"
    ]
    print(
        json.dumps(
            {
                "rows": args.rows,
                "file_mb": round(size_mb, 1),
                "repeats": args.repeat,
                **{k: round(v, 3) for k, v in median.items()},  # medians over the repeats
                "ratio_per_repeat": [round(r["validation_to_read_ratio"], 3) for r in runs],
                "rows_per_s_end_to_end": round(
                    args.rows
                    / (
                        median["read_s"]
                        + median["record_rules_s"]
                        + median["gx_suite_s"]
                        + median["write_s"]
                    )
                ),
                "quarantined": split.quarantined.height,
                "suite_success": summary.success,
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
