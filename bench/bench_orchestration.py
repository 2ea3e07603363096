"""Orchestration overhead: one business date through Dagster vs the same work called directly.

Both paths start from the same landing folder and fresh raw/warehouse/serving folders:
  direct  = ingest_date() + `dbt build --vars {start_date, end_date}` + publish()
  dagster = clientmart's business_date_job executed in process (same three steps)
and the report is dagster / direct as a ratio (plus the seconds). Not part of the tests.

    .venv/bin/python bench/bench_orchestration.py --clients 300 --date 2026-10-01
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
    from orchestration.defs.dbt.assets import NIGHTLY_BUILD
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
    dbt_vars = json.dumps({"start_date": date.isoformat(), "end_date": date.isoformat()})
    build = subprocess.run(
        [
            dbt_executable(),
            *NIGHTLY_BUILD,
            "--vars",
            dbt_vars,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(settings.home / "dbt-direct-target"),
        ],
        env={**os.environ, **settings.dbt_env()},
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        tail = (build.stdout + build.stderr).splitlines()[-25:]
        raise SystemExit("direct dbt build failed:\n" + "\n".join(tail))
    publish(
        settings.warehouse, settings.serving, mart_relations_from_manifest(manifest), (date, date)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 10, 1))
    parser.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="An existing landing root (default: generate a small bank).",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-orch-") as tmp:
        root = Path(tmp)
        landing = args.landing or root / "landing"
        if args.landing is None:
            from clientmart.generator.bank import generate_bank

            generate_bank(landing, clients=args.clients, start=args.date, end=args.date, seed=7)
        direct_s = direct(_settings(root, landing, "direct"), args.date)
        dagster_s = through_dagster(_settings(root, landing, "dagster"), args.date)
    result = {
        "date": args.date.isoformat(),
        "clients": args.clients,
        "direct_seconds": round(direct_s, 2),
        "dagster_seconds": round(dagster_s, 2),
        "overhead_ratio": round(dagster_s / direct_s, 3),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "orchestration.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
