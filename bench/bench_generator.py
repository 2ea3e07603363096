"""Generator benchmark: wall time for 10,000 clients x one month, and peak memory (RSS) for
100,000 clients x one day. Not part of the test suite.

    .venv/bin/python bench/bench_generator.py [--clients-month 10000] [--clients-day 100000]

Each measurement runs in a fresh subprocess so that peak RSS is that run's own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

CHILD = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
from clientmart.generator.bank import generate_bank
clients, start, end, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
t = time.perf_counter()
s = generate_bank(out, clients=clients, start=dt.date.fromisoformat(start),
                  end=dt.date.fromisoformat(end), seed=42)
print(json.dumps({"seconds": time.perf_counter() - t, "records": s.records, "files": s.files,
                  "accounts": s.accounts,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(clients: int, start: str, end: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(clients), start, end, out],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall_seconds"] = time.perf_counter() - began
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients-month", type=int, default=10_000)
    parser.add_argument("--clients-day", type=int, default=100_000)
    args = parser.parse_args()
    month = run(args.clients_month, "2026-10-01", "2026-10-31")
    print(
        f"{args.clients_month:,} clients x 31 days: {month['seconds']:.1f}s generating "
        f"({month['records'] / month['seconds']:,.0f} records/s, {month['files']} files, "
        f"peak RSS {month['peak_rss_mb']:.0f} MB)"
    )
    day = run(args.clients_day, "2026-10-12", "2026-10-12")
    print(
        f"{args.clients_day:,} clients x 1 day: {day['seconds']:.1f}s, "
        f"{day['accounts']:,} accounts, {day['records']:,} records, "
        f"peak RSS {day['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
