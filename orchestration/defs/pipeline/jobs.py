"""The business-date job, the 02:00 backstop schedule, the run-failure alert sensor, and the
PostgreSQL load job that follows each successful run when that serving target is on."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,  # what define_asset_job returns; not exported at top level
)
from dagster_shared.error import SerializableErrorInfo

from clientmart.settings import Settings
from ingest.landing import month_delivery_key, month_delivery_known, monthly_feeds
from orchestration.alerts import write_alert
from orchestration.delivery import MissingDeliveryError, check_delivery
from orchestration.gating import (
    active_runs,
    delivered_month_keys,
    failed_dates_before,
    run_dates,
    succeeded,
)

JOB_NAME = "business_date_job"
MONTH_JOB_NAME = "monthly_feeds_job"
POSTGRES_JOB_NAME = "serving_postgres_job"
WRITES_WAREHOUSE_TAG = "clientmart/writes_warehouse"


def build_job(selection: dg.AssetSelection) -> UnresolvedAssetJobDefinition:
    """Ingest → dbt build → publish for one business date (or a range), steps in process."""
    return dg.define_asset_job(
        JOB_NAME,
        selection=selection,
        executor_def=dg.in_process_executor,
        tags={WRITES_WAREHOUSE_TAG: "true"},
        description="Runs one business date end to end: raw feeds, dbt models and tests, "
        "serving publication. A backfill range runs as one run.",
    )


def build_month_job(selection: dg.AssetSelection) -> UnresolvedAssetJobDefinition:
    """The monthly feeds (RM targets) of a month: every delivery folder of the month.

    It writes the raw layer the date runs read, so it takes the same one-writer tag."""
    return dg.define_asset_job(
        MONTH_JOB_NAME,
        selection=selection,
        executor_def=dg.in_process_executor,
        tags={WRITES_WAREHOUSE_TAG: "true"},
        description="Ingests the monthly feeds (RM targets) of one month (or a range of "
        "months): every delivery folder dated in the month.",
    )


def build_postgres_job(selection: dg.AssetSelection) -> UnresolvedAssetJobDefinition:
    """The serving copy's publication loaded into PostgreSQL, after a successful run.

    A job of its own, not a step of the business-date job: a PostgreSQL outage leaves BI's
    PostgreSQL on the previous publication and alerts, but does not fail the date, whose
    warehouse and DuckDB copy are built, so it holds back no later night (orchestration.gating
    reads the business-date job's runs only). It reads the serving copy, not the warehouse."""
    return dg.define_asset_job(
        POSTGRES_JOB_NAME,
        selection=selection,
        executor_def=dg.in_process_executor,
        description="Loads the serving copy's publication into PostgreSQL (one transaction, a "
        "role per institution, row-level security), after each successful business-date run.",
    )


def build_postgres_sensor(
    job: UnresolvedAssetJobDefinition, postgres_job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """With the daemon: a load of the publication after each successful business-date run
    (a range run: once, for its last date)."""

    @dg.run_status_sensor(
        name="serving_postgres_after_publication",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        request_job=postgres_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests the PostgreSQL load after each successful business-date run.",
    )
    def serving_postgres_after_publication(
        context: dg.RunStatusSensorContext,
    ) -> dg.RunRequest | dg.SkipReason:
        dates = run_dates(context.dagster_run.tags)
        if not dates:
            return dg.SkipReason(f"run {context.dagster_run.run_id} covers no business date")
        return dg.RunRequest(
            run_key=context.dagster_run.run_id, partition_key=dates[-1].isoformat()
        )

    return serving_postgres_after_publication


def build_month_schedule(
    settings: Settings, job: UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_feeds_backstop",
        cron_schedule=settings.month_schedule_cron,
        execution_timezone=settings.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="01:30 Asia/Shanghai: ingests the monthly feeds (RM targets) of "
        "yesterday's month if the arrival sensor has not, before the nightly backstop.",
    )
    def monthly_feeds_backstop(context: dg.ScheduleEvaluationContext) -> Iterator:
        month = previous_business_date(context.scheduled_execution_time).replace(day=1)
        key = month_delivery_key(settings.landing, month)
        if key is None:
            yield dg.SkipReason(f"no monthly feed delivered for {month:%Y-%m}")
            return
        built = delivered_month_keys(context.instance, MONTH_JOB_NAME).get(month)
        if month_delivery_known(settings.landing, month, key, (built,)):
            yield dg.SkipReason(f"{month:%Y-%m}: these deliveries are already ingested")
            return
        yield dg.RunRequest(partition_key=month.isoformat(), run_key=f"schedule-{key}")

    return monthly_feeds_backstop


def previous_business_date(scheduled: dt.datetime) -> dt.date:
    """The 02:00 tick of day D processes business date D-1 (local time of the schedule)."""
    return scheduled.date() - dt.timedelta(days=1)


def build_schedule(settings: Settings, job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_backstop",
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="02:00 Asia/Shanghai: runs yesterday's business date if the arrival sensor "
        "has not; fails naming the missing feeds and files if the delivery is incomplete.",
    )
    def nightly_backstop(context: dg.ScheduleEvaluationContext) -> Iterator:
        date = previous_business_date(context.scheduled_execution_time)
        if succeeded(context.instance, JOB_NAME, date):
            yield dg.SkipReason(f"{date} already ran successfully")
            return
        if any(date in run_dates(r.tags) for r in active_runs(context.instance, JOB_NAME)):
            yield dg.SkipReason(f"{date} is already queued or running")
            return
        try:
            status = check_delivery(settings.landing, date)
        except MissingDeliveryError as exc:
            write_alert(
                settings.alerts,
                "missing_delivery",
                str(exc),
                business_date=date.isoformat(),
                details={
                    "missing_required": exc.status.missing_required,
                    "missing_reference": exc.status.missing_reference,
                },
                webhook_url=settings.alert_webhook_url,
            )
            raise
        waiting = failed_dates_before(context.instance, JOB_NAME, date)
        if waiting:
            message = f"{date} waits for failed date(s) {', '.join(map(str, waiting))}"
            write_alert(
                settings.alerts,
                "waiting_for_earlier_date",
                message,
                business_date=date.isoformat(),
                webhook_url=settings.alert_webhook_url,
            )
            yield dg.SkipReason(message)
            return
        run_key = status.run_key(exclude=monthly_feeds())
        yield dg.RunRequest(partition_key=date.isoformat(), run_key=f"schedule-{run_key}")

    return nightly_backstop


def build_failure_sensor(
    settings: Settings, *jobs: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failure_alert",
        monitored_jobs=list(jobs),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Writes an alert (log line, JSON file, optional webhook) for a failed run.",
    )
    def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        message = context.failure_event.message or f"run {run.run_id} failed"
        message = with_failure_reasons(message, context.instance, run.run_id)
        alert_run_failure(settings, run, message)

    return run_failure_alert


def failed_check_reasons(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """``<asset> <check>: <description>`` of each failed check of the run that says why.

    Dagster's error for a failed blocking check names the asset and the check only; the
    ingest checks describe the refused files and failed expectations (dbt's failed tests are
    in the dbt step's own error already)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    reasons = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if evaluation is not None and not evaluation.passed and evaluation.description:
            reasons.append(
                f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}: "
                f"{evaluation.description}"
            )
    # a check is evaluated per business date of the run: a reason shared by dates, once
    return list(dict.fromkeys(reasons))


def failed_step_reasons(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """``<step>: <reason>`` of each failed step of the run whose error hides its reason.

    A step that failed after its retries ends with Dagster's "Exceeded max_retries of 3",
    and a run's failure event names its failed steps only; the reason is the ``Failure``'s
    description (or the innermost error) of the step's last attempt."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    reasons = []
    for record in records.records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event else None
        if data is None:
            continue
        described = data.user_failure_data.description if data.user_failure_data else None
        error = data.error
        while error is not None and error.cause is not None:
            error = error.cause
        reason = described or (readable_error(error) if error is not None else None)
        if reason:
            reasons.append(f"{event.step_key}: {reason}")
    return reasons


def readable_error(error: SerializableErrorInfo) -> str:
    """An error's message without the module path Dagster puts before its own classes
    ("dagster._core.errors.DagsterAssetCheckFailedError: ..."): for the on-call, the text
    says what failed. Other errors keep their class ("IOException: ...")."""
    message = error.message.strip()
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("dagster.") and head.rsplit(".", 1)[-1] == error.cls_name:
        return rest
    return message


def with_failure_reasons(message: str, instance: dg.DagsterInstance, run_id: str) -> str:
    """A run's error followed by the reasons of its failed steps (those the error does not
    hold already) and of its failed checks, one per line."""
    steps = [r for r in failed_step_reasons(instance, run_id) if r.split(": ", 1)[1] not in message]
    return "\n".join([message, *steps, *failed_check_reasons(instance, run_id)])


def alert_run_failure(settings: Settings, run: dg.DagsterRun, message: str) -> None:
    """Alert for a failed run of the job (used by the sensor and by in-process CLI runs)."""
    dates = run_dates(run.tags)
    write_alert(
        settings.alerts,
        "run_failure",
        message or f"run {run.run_id} failed",
        business_date=dates[0].isoformat() if len(dates) == 1 else None,
        details={
            "run_id": run.run_id,
            "job": run.job_name,
            "business_dates": [d.isoformat() for d in dates],
        },
        webhook_url=settings.alert_webhook_url,
    )
