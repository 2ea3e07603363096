"""What the PostgreSQL serving target costs a night: a load by changed keys against a whole one.

On a home whose serving copy holds a publication (e.g. a 1M-client bank after a range of
dates), in one run against one throwaway PostgreSQL server (scripts/throwaway_postgres.py):

1. loads the publication the copy holds into an empty database (the first load: whole);
2. runs the night ``--date`` with ``clientmart run`` (without the PostgreSQL target, so
   the run itself loads nothing), which publishes it;
3. loads that publication into the database of step 1: by the keys it changed;
4. loads the same publication into a second, empty database: whole, for the ratio;

and prints, per load, the seconds, the rows written, the tables whole and by keys, the
server's database size, and the ratio of step 3 to step 4, then writes the figures as JSON.
The two databases must hold the same rows per table at the end (checked).

    python bench/postgres_load.py --home <home> --landing <landing> --date 2026-10-16

A home for it (docs/serving.md, "What a load costs"): ``clientmart generate --clients
1000000 --start 2026-10-01 --end 2026-10-16``, then ``clientmart backfill --from 2026-10-01
--to 2026-10-15``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clientmart.serving.postgres import PostgresLoadResult, load_served_publication  # noqa: E402
from clientmart.settings import Settings  # noqa: E402
from scripts.throwaway_postgres import throwaway_server  # noqa: E402

LOADER = "clientmart_loader"
# a server sized as a small production one would be, not the tests' 16 MB
SERVER_SETTINGS = "-c shared_buffers=1GB -c maintenance_work_mem=512MB -c max_wal_size=8GB"


def table_rows(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {
            t: conn.execute(f'SELECT count(*) FROM marts."{t}"').fetchall()[0][0] for t in tables
        }


def database_mb(dsn: str) -> float:
    with psycopg.connect(dsn) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchall()[0][0]
    return size / 2**20


def figures(step: str, result: PostgresLoadResult, dsn: str) -> dict[str, object]:
    row = {
        "step": step,
        "publication_id": result.publication_id,
        "seconds": round(result.seconds, 1),
        "rows_written": sum(result.rows_written.values()),
        "rows_held": sum(result.tables.values()),
        "tables_whole": sorted(set(result.tables) - set(result.updated_by_keys)),
        "tables_by_keys": sorted(result.updated_by_keys),
        "database_mb": round(database_mb(dsn), 1),
    }
    print(
        f"{step:<28} {row['seconds']:>7.1f} s  {row['rows_written']:>12,} rows written of "
        f"{row['rows_held']:>12,}  {len(row['tables_whole']):>2} tables whole, "
        f"{len(row['tables_by_keys']):>2} by keys  database {row['database_mb']:,.0f} MB",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    home = args.home.resolve()
    out = args.out or ROOT / "bench" / "results" / f"postgres-load-{dt.date.today()}.json"
    password = os.urandom(12).hex()
    rows = []
    with throwaway_server(SERVER_SETTINGS) as server:
        chain = server.serving_database("bench_by_keys", LOADER, password)
        whole = server.serving_database("bench_whole", LOADER, password)
        result = load_served_publication(Settings(home=home, postgres_dsn=chain))
        rows.append(figures("1. first load (whole)", result, chain))

        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if k != "CLIENTMART_POSTGRES_DSN"}
        command = Path(sys.executable).parent / "clientmart"
        subprocess.run(
            [str(command), "run", "--date", args.date.isoformat(),
             "--home", str(home), "--landing", str(args.landing)],
            check=True, env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        night = time.monotonic() - started
        print(f"{'2. the night ' + args.date.isoformat():<28} {night:>7.1f} s  (pipeline)")

        result = load_served_publication(Settings(home=home, postgres_dsn=chain))
        rows.append(figures("3. next load (by keys)", result, chain))
        result = load_served_publication(Settings(home=home, postgres_dsn=whole))
        rows.append(figures("4. same, whole", result, whole))
        held, reference = table_rows(chain), table_rows(whole)
        if held != reference:
            raise SystemExit(f"the databases differ: {held} against {reference}")
    ratio = rows[1]["seconds"] / rows[2]["seconds"]
    print(f"by keys / whole: {ratio:.3f}  (the two databases hold the same rows per table)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "home": str(home),
                "date": str(args.date),
                "loads": rows,
                "night_seconds": round(night, 1),
                "by_keys_over_whole": round(ratio, 3),
            },
            indent=2,
        )  # fmt: skip
        + "\n"
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
