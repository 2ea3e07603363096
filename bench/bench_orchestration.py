"""Orchestration overhead: one business date through Dagster vs the same work called directly,
and a range of dates backfilled as one run vs one nightly run per date.

1. Overhead. Both paths start from the same landing folder and fresh raw/warehouse/serving
   folders:
     direct  = ingest_date() + `dbt build` (the date as the run window) + publish()
     dagster = clientmart's business_date_job executed in process (same three steps)
   reported as dagster / direct (plus the seconds).
2. Range (``--range-days N``, 0 to skip): a bank of N days from ``--date``; one home
   backfills the N dates as one range (``orchestration.runner.backfill``), another runs them
   one nightly run per date (``orchestration.runner.execute``); reported: both times, their
   ratio, and whether every mart (except the audit marts, which hold load timestamps) is
   identical in the two warehouses (row count and an order-independent hash per table).

Not part of the tests.

    .venv/bin/python bench/bench_orchestration.py --clients 300 --date 2026-08-01 --range-days 90

The bank must end by tomorrow (the last daily partition): dates after it cannot be run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from clientmart.settings import Settings


def _settings(root: Path, landing: Path, name: str) -> Settings:
    return Settings(
        home=root / name,
        landing_root=landing,
        pseudonym_key_file=root / "pseudonym.key",
        first_business_date="2020-01-01",
    )


def direct(settings: Settings, date: dt.date) -> float:
    from clientmart.serving.publish import mart_relations_from_manifest, publish
    from ingest.pipeline import ingest_date
    from orchestration.defs.dbt.assets import NIGHTLY_BUILD, RUN_WINDOW_ENV
    from orchestration.defs.dbt.project import (
        DBT_PROJECT_DIR,
        dbt_executable,
        dbt_project,
        prepare_manifest,
    )

    manifest = prepare_manifest(dbt_project(settings), settings)  # not timed (Dagster: load)
    started = time.perf_counter()
    ingest_date(settings, date)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    window = dict.fromkeys(RUN_WINDOW_ENV, date.isoformat())
    build = subprocess.run(
        [
            dbt_executable(),
            *NIGHTLY_BUILD,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(settings.home / "dbt-direct-target"),
        ],
        env={**os.environ, **settings.dbt_env(), **window},
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        tail = (build.stdout + build.stderr).splitlines()[-25:]
        raise SystemExit("direct dbt build failed:\n" + "\n".join(tail))
    publish(  # as the job's publish asset does
        settings.warehouse,
        settings.serving,
        mart_relations_from_manifest(manifest),
        (date, date),
        memory_limit=settings.publish_memory_limit,
        storage_version=settings.serving_storage_version,
    )
    return time.perf_counter() - started


def through_dagster(settings: Settings, date: dt.date) -> float:
    from orchestration.build import build_definitions
    from orchestration.runner import dagster_instance, execute

    defs = build_definitions(settings)  # not timed: loading happens once per process
    instance = dagster_instance(settings)
    started = time.perf_counter()
    outcome = execute(settings, defs, instance, date, date)
    elapsed = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit(f"dagster run failed: {outcome.error}")
    return elapsed


def mart_fingerprints(settings: Settings) -> dict[str, str]:
    """Row count and order-independent content hash of every mart but the audit ones."""
    import duckdb

    from orchestration.defs.dbt.assets import is_mart, load_manifest
    from orchestration.defs.dbt.project import dbt_project

    manifest = load_manifest(dbt_project(settings))
    names = sorted(
        n["alias"] or n["name"]
        for n in manifest["nodes"].values()
        if is_mart(n) and "audit" not in n["fqn"]
    )
    out = {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for name in names:
            count, digest = con.execute(
                f'select count(*), coalesce(sum(hash(t)), 0) from "{name}" as t'
            ).fetchone()
            out[name] = f"{count}:{digest}"
    return out


def range_versus_nightly(root: Path, landing: Path, start: dt.date, days: int) -> dict:
    from orchestration.build import build_definitions
    from orchestration.partitions import dates_between
    from orchestration.runner import backfill, dagster_instance, execute

    end = start + dt.timedelta(days=days - 1)
    timings = {}
    homes = {}
    for mode in ("range", "nightly"):
        settings = _settings(root, landing, f"{mode}-{days}")
        defs = build_definitions(settings)
        instance = dagster_instance(settings)
        started = time.perf_counter()
        if mode == "range":
            outcomes = backfill(settings, defs, instance, start, end)
        else:
            outcomes = [execute(settings, defs, instance, d, d) for d in dates_between(start, end)]
        timings[mode] = time.perf_counter() - started
        failed = [o for o in outcomes if not o.success]
        if failed:
            raise SystemExit(f"{mode} run failed: {failed[0].error}")
        homes[mode] = (settings, len(outcomes))
    prints = {mode: mart_fingerprints(settings) for mode, (settings, _n) in homes.items()}
    differing = sorted(t for t in prints["range"] if prints["range"][t] != prints["nightly"].get(t))
    return {
        "dates": days,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "range_runs": homes["range"][1],
        "nightly_runs": homes["nightly"][1],
        "range_seconds": round(timings["range"], 1),
        "nightly_seconds": round(timings["nightly"], 1),
        "range_over_nightly": round(timings["range"] / timings["nightly"], 3),
        "marts_compared": len(prints["range"]),
        "marts_identical": not differing and set(prints["range"]) == set(prints["nightly"]),
        "marts_differing": differing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        help="First date of the bank (default: the range ends yesterday).",
    )
    parser.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="An existing landing root (default: generate a small bank).",
    )
    parser.add_argument(
        "--range-days", type=int, default=90, help="Dates of the range comparison (0: skip)."
    )
    parser.add_argument("--skip-overhead", action="store_true", help="Only the range comparison.")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="An empty folder to keep the bank and the homes in, to inspect differing marts "
        "(default: a temporary folder, removed after).",
    )
    args = parser.parse_args()
    if args.work is not None and args.work.exists() and any(args.work.iterdir()):
        parser.error(f"--work {args.work} is not empty: the homes must start fresh")
    from orchestration.partitions import business_date_bounds

    days = max(args.range_days, 1)
    # the job's last daily partition: today in the bank's time zone
    _, last_partition = business_date_bounds(Settings())
    if args.date is None:
        args.date = last_partition - dt.timedelta(days=days)
    last = args.date + dt.timedelta(days=days - 1)
    if last > last_partition:
        parser.error(
            f"the bank would run to {last}, past the last daily partition ({last_partition}): "
            f"take --date {last_partition - dt.timedelta(days=days - 1)} or earlier"
        )
    result: dict = {"clients": args.clients, "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-orch-") as tmp:
        root = args.work or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        landing = args.landing or root / "landing"
        if args.landing is None:
            from clientmart.generator.bank import generate_bank

            generate_bank(
                landing, clients=args.clients, start=args.date, end=last, seed=7, replace=True
            )
        if not args.skip_overhead:
            direct_s = direct(_settings(root, landing, "direct"), args.date)
            dagster_s = through_dagster(_settings(root, landing, "dagster"), args.date)
            result["overhead"] = {
                "date": args.date.isoformat(),
                "direct_seconds": round(direct_s, 2),
                "dagster_seconds": round(dagster_s, 2),
                "overhead_ratio": round(dagster_s / direct_s, 3),
            }
        if args.range_days > 0:
            result["range"] = range_versus_nightly(root, landing, args.date, args.range_days)
    result["load_average_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "orchestration.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
