"""Assemble the Dagster ``Definitions`` from the settings (one function, used everywhere).

``orchestration/definitions.py`` calls it with the environment's settings for ``dagster dev``
and the webserver; the CLI and tests call it with their own settings (and tests with a tiny
dbt project), so every entry point runs the same graph.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from clientmart.settings import Settings
from orchestration.defs.dbt.assets import build_dbt_assets, load_manifest, mart_keys
from orchestration.defs.dbt.project import dbt_project, prepare_manifest
from orchestration.defs.ingest.assets import build_ingest_assets, build_monthly_ingest_assets
from orchestration.defs.ingest.sensors import build_arrival_sensor
from orchestration.defs.pipeline.jobs import (
    JOB_NAME,
    build_failure_sensor,
    build_job,
    build_month_job,
    build_month_schedule,
    build_postgres_job,
    build_postgres_sensor,
    build_schedule,
)
from orchestration.defs.serving.assets import (
    build_freshness_sensor,
    build_postgres_asset,
    build_serving_assets,
)
from orchestration.defs.serving.freshness import build_freshness_checks
from orchestration.partitions import daily_partitions, monthly_partitions
from orchestration.resources import build_resources


def build_definitions(settings: Settings, dbt_project_dir: Path | None = None) -> dg.Definitions:
    project = dbt_project(settings, dbt_project_dir)
    manifest_path = prepare_manifest(project, settings)
    marts = mart_keys(load_manifest(project))
    daily = daily_partitions(settings)
    monthly = monthly_partitions(settings)

    raw_feeds = build_ingest_assets(daily, JOB_NAME)
    raw_monthly_feeds = build_monthly_ingest_assets(monthly)
    dbt_models = build_dbt_assets(project, daily)
    serving = build_serving_assets(daily, marts, manifest_path)
    # the PostgreSQL serving target, when on: its own job after each successful run
    postgres = [build_postgres_asset(daily)] if settings.postgres_dsn else []
    freshness = build_freshness_checks(
        [*marts, serving.key, *(a.key for a in postgres)],
        settings.timezone,
        settings.first_business_date,
    )

    pipeline_assets = dg.AssetSelection.assets(raw_feeds, dbt_models, serving)
    sensed = dg.AssetSelection.checks(*freshness)  # evaluated by their sensor, not by a job
    job = build_job(pipeline_assets - sensed)
    month_job = build_month_job(dg.AssetSelection.assets(raw_monthly_feeds))
    postgres_jobs = (
        [build_postgres_job(dg.AssetSelection.assets(*postgres) - sensed)] if postgres else []
    )
    return dg.Definitions(
        assets=[raw_feeds, raw_monthly_feeds, dbt_models, serving, *postgres],
        asset_checks=freshness,
        jobs=[job, month_job, *postgres_jobs],
        schedules=[build_schedule(settings, job), build_month_schedule(settings, month_job)],
        sensors=[
            build_arrival_sensor(settings, (job, month_job), (daily, monthly)),
            build_failure_sensor(settings, job, month_job, *postgres_jobs),
            build_freshness_sensor(freshness),
            *(build_postgres_sensor(job, pg_job) for pg_job in postgres_jobs),
        ],
        resources=build_resources(settings, project),
    )
