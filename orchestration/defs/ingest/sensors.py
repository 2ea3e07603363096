"""The arrival sensor: a business date runs as soon as every required feed is complete.

Run key = the date plus every complete file and its checksum (``DeliveryStatus.run_key``),
so a correction or a late optional feed changes the key and re-runs the date, while an
identical re-delivery does not. One date is requested per tick, oldest first, and never past
an earlier failed date, so dates run in order and later dates wait.
"""

import datetime as dt
import json

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from clientmart.settings import Settings
from ingest.landing import scan_date
from orchestration.delivery import landed_dates
from orchestration.gating import active_runs, delivered_keys, failed_dates_before


def build_arrival_sensor(
    settings: Settings,
    job: UnresolvedAssetJobDefinition,
    job_name: str,
    partitions_def: dg.PartitionsDefinition,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_arrival",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Watches {settings.landing} for complete deliveries (control files).",
    )
    def landing_arrival(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        if active_runs(context.instance, job_name):
            return dg.SensorResult(skip_reason="a business-date run is queued or running")
        newest = dt.date.today() + dt.timedelta(days=1)  # partitions end tomorrow at most
        built = delivered_keys(context.instance, job_name)
        for date in landed_dates(settings.landing):
            key = date.isoformat()
            if date > newest or not partitions_def.has_partition_key(key):
                continue
            status = scan_date(settings.landing, date)
            run_key = status.run_key()
            if not status.is_complete or run_key in (requested.get(key), built.get(date)):
                continue
            waiting = failed_dates_before(context.instance, job_name, date)
            if waiting:
                return dg.SensorResult(
                    skip_reason=f"{key} is complete but waits for failed date(s) "
                    + ", ".join(d.isoformat() for d in waiting)
                )
            requested[key] = run_key
            return dg.SensorResult(
                run_requests=[dg.RunRequest(partition_key=key, run_key=run_key)],
                cursor=json.dumps(requested, sort_keys=True),
            )
        return dg.SensorResult(skip_reason="no new or changed complete delivery")

    return landing_arrival
