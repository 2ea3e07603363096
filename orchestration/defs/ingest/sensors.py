"""The arrival sensor: a business date runs as soon as every required feed is complete.

Run key = the date plus every complete file and its control file with their checksums
(``DeliveryStatus.run_key``), so a correction (a corrected ``.ok`` alone too) or a late
optional feed changes the key and re-runs the date, while an identical re-delivery does
not, nor a delivery a run has tried and failed on (``gating.TRIED``), from the CLI too.
One date is requested per tick, oldest first, and never past an earlier failed date, so
dates run in order and later dates wait.

Monthly feeds (RM targets) are left out of a date's key: a month whose monthly deliveries
are new or changed (``month_delivery_key``) gets a run of the month job first, before any
date, so the date runs that follow read the month's targets.
"""

import datetime as dt
import json

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from clientmart.settings import Settings
from ingest.landing import month_delivery_key, month_delivery_known, monthly_feeds, scan_date
from orchestration.delivery import landed_dates, landed_months
from orchestration.gating import (
    active_runs,
    delivered_keys,
    delivered_month_keys,
    failed_dates_before,
)
from orchestration.run_lock import fail_abandoned_in_process_runs


def build_arrival_sensor(
    settings: Settings,
    jobs: tuple[UnresolvedAssetJobDefinition, UnresolvedAssetJobDefinition],
    partitions: tuple[dg.PartitionsDefinition, dg.PartitionsDefinition],
) -> dg.SensorDefinition:
    """``jobs``: the business-date job and the month job; ``partitions``: theirs."""
    job, month_job = jobs
    daily, monthly = partitions

    @dg.sensor(
        name="landing_arrival",
        jobs=[job, month_job],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Watches {settings.landing} for complete deliveries (control files).",
    )
    def landing_arrival(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        for run_id in fail_abandoned_in_process_runs(
            settings, context.instance, (job.name, month_job.name)
        ):
            context.log.warning(f"marked run {run_id} failed: its CLI process is gone")
        if active_runs(context.instance, job.name) or active_runs(context.instance, month_job.name):
            return dg.SensorResult(skip_reason="a business-date or month run is queued or running")
        newest = dt.date.today() + dt.timedelta(days=1)  # partitions end tomorrow at most
        month_request = _month_request(context, settings, month_job.name, monthly, requested)
        if month_request is not None:
            return month_request
        built = delivered_keys(context.instance, job.name)
        excluded = monthly_feeds()
        for date in landed_dates(settings.landing):
            key = date.isoformat()
            if date > newest or not daily.has_partition_key(key):
                continue
            status = scan_date(settings.landing, date)
            seen = (requested.get(key), built.get(date))
            if not status.is_complete or status.is_known(seen, excluded):
                continue
            waiting = failed_dates_before(context.instance, job.name, date)
            if waiting:
                return dg.SensorResult(
                    skip_reason=f"{key} is complete but waits for failed date(s) "
                    + ", ".join(d.isoformat() for d in waiting)
                )
            run_key = status.run_key(exclude=excluded)
            requested[key] = run_key
            return dg.SensorResult(
                run_requests=[dg.RunRequest(job_name=job.name, partition_key=key, run_key=run_key)],
                cursor=json.dumps(requested, sort_keys=True),
            )
        return dg.SensorResult(skip_reason="no new or changed complete delivery")

    return landing_arrival


def _month_request(
    context: dg.SensorEvaluationContext,
    settings: Settings,
    job_name: str,
    monthly: dg.PartitionsDefinition,
    requested: dict[str, str],
) -> dg.SensorResult | None:
    """A run of the month job for the oldest month whose monthly deliveries changed."""
    built = delivered_month_keys(context.instance, job_name)
    for month in landed_months(settings.landing, monthly_feeds()):
        partition = month.isoformat()
        if not monthly.has_partition_key(partition):
            continue
        key = month_delivery_key(settings.landing, month)
        cursor_key = f"month/{partition}"
        known = (requested.get(cursor_key), built.get(month))
        if key is None or month_delivery_known(settings.landing, month, key, known):
            continue
        requested[cursor_key] = key
        return dg.SensorResult(
            run_requests=[dg.RunRequest(job_name=job_name, partition_key=partition, run_key=key)],
            cursor=json.dumps(requested, sort_keys=True),
        )
    return None
