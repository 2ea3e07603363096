"""Later business dates wait for an earlier date that failed, unless explicitly allowed past.

Why: models are incremental by business date and month figures accumulate day by day; a
date built on top of a failed one would publish a month with a hole in it. The state lives
in the Dagster instance (the last run of each date), so the CLI, the sensor, the schedule and
the UI all see the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from orchestration.partitions import dates_between

ALLOW_PAST_TAG = "clientmart/allow_past"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def run_dates(tags: Mapping[str, str]) -> list[dt.date]:
    """The business dates a run covers, from its partition tags."""
    if PARTITION_TAG in tags:
        return [dt.date.fromisoformat(tags[PARTITION_TAG])]
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return dates_between(
            dt.date.fromisoformat(tags[RANGE_START_TAG]), dt.date.fromisoformat(tags[RANGE_END_TAG])
        )
    return []


def _finished_records(
    instance: dg.DagsterInstance, job_name: str, limit: int
) -> Sequence[dg.RunRecord]:
    """The job's finished runs, newest first."""
    return instance.get_run_records(
        dg.RunsFilter(job_name=job_name, statuses=_FINISHED), limit=limit
    )


def _last_run_by_date(records: Iterable[dg.RunRecord]) -> dict[dt.date, dg.RunRecord]:
    """The first record (of newest-first ``records``) of each business date."""
    last: dict[dt.date, dg.RunRecord] = {}
    for record in records:
        for date in run_dates(record.dagster_run.tags):
            last.setdefault(date, record)
    return last


def last_status_by_date(
    instance: dg.DagsterInstance, job_name: str, limit: int = 1000
) -> dict[dt.date, dg.DagsterRunStatus]:
    """Status of the most recent finished run of each business date."""
    last = _last_run_by_date(_finished_records(instance, job_name, limit))
    return {date: record.dagster_run.status for date, record in last.items()}


def failed_dates_before(
    instance: dg.DagsterInstance,
    job_name: str,
    date: dt.date,
    allowed: Iterable[dt.date] = (),
    limit: int = 1000,
) -> list[dt.date]:
    """Earlier dates whose last run failed (and are not allowed past): ``date`` must wait.

    A date is allowed past by ``allowed`` (this run's ``--allow-past``) or by a successful
    run that was allowed past it after its failure: going past a date is decided once, not
    again every night (the sensor, the schedule and later runs carry no ``--allow-past``).
    A run of the date that fails after that decision holds later dates again."""
    allowed = set(allowed)
    records = _finished_records(instance, job_name, limit)
    last = _last_run_by_date(records)
    waived: dict[dt.date, dt.datetime] = {}  # date -> newest successful run allowed past it
    for record in records:
        if record.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
            for d in parse_allowed(record.dagster_run.tags):
                waived.setdefault(d, record.create_timestamp)
    return sorted(
        d
        for d, record in last.items()
        if d < date
        and record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        and d not in allowed
        and not (d in waived and waived[d] > record.create_timestamp)
    )


def succeeded(instance: dg.DagsterInstance, job_name: str, date: dt.date) -> bool:
    return last_status_by_date(instance, job_name).get(date) == dg.DagsterRunStatus.SUCCESS


def active_runs(instance: dg.DagsterInstance, job_name: str) -> list[dg.DagsterRun]:
    """Queued or running runs of the job (the sensor requests one date at a time)."""
    return list(instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=_ACTIVE)))


DELIVERY_PREFIX = "clientmart/delivery."


def delivery_tag(date: dt.date) -> str:
    """Run tag holding the delivery run key a run ingested for ``date``."""
    return f"{DELIVERY_PREFIX}{date:%Y%m%d}"


# A run that ingested a delivery carries its key whether it then succeeded or failed (a
# refused file, a failed check): the arrival sensor does not request a delivery a run has
# tried, as Dagster does not repeat its own request's run key. A corrected delivery has
# another key; a date that failed for another reason is re-run by hand (docs/runbook.md).
TRIED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)


def _latest_tagged_keys(
    instance: dg.DagsterInstance,
    job_name: str,
    prefix: str,
    period_format: str,
    limit: int,
    statuses: Sequence[dg.DagsterRunStatus] = (dg.DagsterRunStatus.SUCCESS,),
) -> dict[dt.date, str]:
    """Per period, the value of its ``<prefix><period>`` tag on the job's most recent run
    of ``statuses`` carrying one (by default successful: the delivery it is built from)."""
    keys: dict[dt.date, str] = {}
    records = instance.get_run_records(
        dg.RunsFilter(job_name=job_name, statuses=list(statuses)), limit=limit
    )
    for record in records:  # newest first
        for tag, value in record.dagster_run.tags.items():
            if tag.startswith(prefix):
                period = dt.datetime.strptime(tag.removeprefix(prefix), period_format).date()
                keys.setdefault(period, value)
    return keys


def delivered_keys(
    instance: dg.DagsterInstance,
    job_name: str,
    limit: int = 1000,
    statuses: Sequence[dg.DagsterRunStatus] = TRIED,
) -> dict[dt.date, str]:
    """Per date, the delivery key of its most recent run that ingested one (``TRIED``:
    built, or failed on it)."""
    return _latest_tagged_keys(instance, job_name, DELIVERY_PREFIX, "%Y%m%d", limit, statuses)


def parse_allowed(tags: Mapping[str, str]) -> list[dt.date]:
    """Dates listed (comma-separated) in the run's ``clientmart/allow_past`` tag."""
    raw = tags.get(ALLOW_PAST_TAG, "")
    return [dt.date.fromisoformat(v.strip()) for v in raw.split(",") if v.strip()]


MONTH_DELIVERY_PREFIX = "clientmart/month_delivery."


def month_delivery_tag(month: dt.date) -> str:
    """Run tag holding the delivery key of the monthly feeds a month run ingested."""
    return f"{MONTH_DELIVERY_PREFIX}{month:%Y%m}"


def delivered_month_keys(
    instance: dg.DagsterInstance,
    job_name: str,
    limit: int = 1000,
    statuses: Sequence[dg.DagsterRunStatus] = TRIED,
) -> dict[dt.date, str]:
    """Per month, the monthly-feed delivery key of its most recent month run that ingested
    one (``TRIED``)."""
    return _latest_tagged_keys(instance, job_name, MONTH_DELIVERY_PREFIX, "%Y%m", limit, statuses)
