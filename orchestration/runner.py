"""Run the business-date job in process, on the shared Dagster instance.

Why in process: the demo and the CLI must not need a daemon, and a date's steps are cheap
enough that subprocesses per step would dominate (see bench/bench_orchestration.py). The
runs are recorded in the instance under ``Settings.dagster`` so ``clientmart ui`` shows them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public API

from clientmart.settings import PROJECT_ROOT, Settings
from ingest.landing import month_delivery_key, month_delivery_known
from orchestration.defs.pipeline.jobs import (
    JOB_NAME,
    MONTH_JOB_NAME,
    POSTGRES_JOB_NAME,
    WRITES_WAREHOUSE_TAG,
    alert_run_failure,
    readable_error,
    with_failure_reasons,
)
from orchestration.gating import (
    ALLOW_PAST_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    delivered_month_keys,
)
from orchestration.partitions import business_date_bounds, dates_between, months_between
from orchestration.run_health import WorkerStatus, worker_health
from orchestration.run_lock import IN_PROCESS_TAG, WRITING, fail_abandoned, warehouse_lock

DAGSTER_YAML = PROJECT_ROOT / "dagster.yaml"


@dataclass(frozen=True)
class RunOutcome:
    """One Dagster run: the dates it covered, whether it succeeded, and why not."""

    run_id: str
    start: dt.date
    end: dt.date
    success: bool
    error: str = ""
    # the PostgreSQL load that followed the run (serving target on), when it failed
    postgres_error: str = ""

    def describe(self) -> str:
        span = str(self.start) if self.start == self.end else f"{self.start}..{self.end}"
        verdict = "ok" if self.success else f"FAILED: {self.error}"
        if self.postgres_error:
            verdict += f"; PostgreSQL load FAILED: {self.postgres_error}"
        return f"{span} run {self.run_id[:8]}: {verdict}"


# A range run (a backfill) records one "materialization planned" event per asset holding the
# range, instead of one per asset and date: creating a 90-date run of the real project took
# 224 s and 8,736 events, 23 s and 370 with it. Dagster's documented trade-off: a failed
# range run does not mark its partitions failed in the UI's partition view; which dates
# failed is read from the runs themselves (orchestration.gating), so nothing here depends on it.
PLANNED_EVENTS_AS_SUBSETS = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}


def prepare_instance_home(settings: Settings) -> Path:
    """Create the instance home with the repo's dagster.yaml; export DAGSTER_HOME (and the
    planned-events setting above) for this process and its children (webserver, daemon)."""
    home = settings.dagster
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != DAGSTER_YAML.read_bytes():
        shutil.copyfile(DAGSTER_YAML, target)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.update(PLANNED_EVENTS_AS_SUBSETS)
    return home


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(prepare_instance_home(settings)))


QUEUE_POLL_SECONDS = 5.0


class RunRefusedError(RuntimeError):
    """Nothing was run: the request cannot run as asked; the message says why and what to do."""


class WarehouseBusyError(RunRefusedError):
    """Another run kept writing the warehouse longer than the CLI was willing to wait."""


class BusinessDateError(RunRefusedError):
    """A date outside the job's daily partitions: before the first business date, or one whose
    day has not begun in the bank's time zone."""


def check_business_dates(settings: Settings, start: dt.date, end: dt.date) -> None:
    """Refuse ``start..end`` whole, before anything runs, when a date of it is not a partition
    of the job (Dagster would stop the run with an unknown partition key, after the dates
    before it had run)."""
    first, last = business_date_bounds(settings)
    if start < first:
        raise BusinessDateError(
            f"business date {start} is before {first}, the first business date of this "
            "pipeline (CLIENTMART_FIRST_BUSINESS_DATE); nothing was run."
        )
    if end > last:
        raise BusinessDateError(
            f"business date {end} has not begun yet: the last business date the job runs now "
            f"is {last}, today in {settings.timezone} (CLIENTMART_TIMEZONE); nothing was run. "
            "Run it once its day has begun."
        )


def wait_for_other_writers(
    settings: Settings,
    instance: dg.DagsterInstance,
    progress: Callable[[str], None] = lambda _m: None,
) -> None:
    """Before an in-process run (holding the warehouse lock): wait for runs the daemon or the
    UI launched that write the same warehouse, the rule of the instance's run queue (tag
    ``clientmart/writes_warehouse``, limit 1), which in-process runs do not pass through.

    An in-process run still marked running while this process holds the lock is a leftover
    of a killed process (in-process runs hold the lock while they run): it is marked failed,
    so it blocks neither the queue nor the arrival sensor any longer. So is a run of the
    daemon's whose process is gone (orchestration/run_health.py), which the daemon's run
    monitoring marks failed too, but only while the daemon runs."""
    deadline = time.monotonic() + settings.run_queue_wait_minutes * 60
    announced: set[str] = set()
    while True:
        writers = instance.get_runs(
            dg.RunsFilter(tags={WRITES_WAREHOUSE_TAG: "true"}, statuses=WRITING)
        )
        waiting_for = []
        for run in writers:
            if run.tags.get(IN_PROCESS_TAG) == "true":
                fail_abandoned(
                    instance, [run], "the next in-process run, holding the warehouse lock"
                )
                progress(f"marked run {run.run_id[:8]} failed: its process is gone")
            elif (health := worker_health(instance, run)).status == WorkerStatus.FAILED:
                fail_abandoned(instance, [run], f"the next in-process run: {health.msg}")
                progress(f"marked run {run.run_id[:8]} failed: {health.msg}")
            else:
                waiting_for.append(run)
        if not waiting_for:
            return
        for run in waiting_for:
            if run.run_id not in announced:
                announced.add(run.run_id)
                progress(f"waiting for run {run.run_id[:8]} (launched by the daemon or the UI)")
        if time.monotonic() >= deadline:
            ids = ", ".join(r.run_id for r in waiting_for)
            raise WarehouseBusyError(
                f"run(s) {ids} still write the warehouse after "
                f"{settings.run_queue_wait_minutes} minutes (CLIENTMART_RUN_QUEUE_WAIT_MINUTES); "
                "nothing was run. Let them finish, or terminate them in the UI (Runs), then "
                "run again."
            )
        time.sleep(QUEUE_POLL_SECONDS)


def _error_of(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> str:
    """The run's first failure, followed by the reasons of its failed steps and checks."""
    message = "run failed"
    for event in result.all_events:
        if event.is_step_failure or event.is_run_failure:
            error = getattr(event.event_specific_data, "error", None)
            if error is not None or event.message:
                message = readable_error(error) if error is not None else event.message
                break
    return with_failure_reasons(message, instance, result.run_id)


def _alerted(
    settings: Settings, result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance
) -> str:
    """A failed in-process run's error (``_error_of``), alerted as the daemon's failure
    sensor alerts its runs."""
    error = _error_of(result, instance)
    alert_run_failure(settings, result.dagster_run, error)
    return error


def execute(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    allow_past: Sequence[dt.date] = (),
    progress: Callable[[str], None] = lambda _m: None,
) -> RunOutcome:
    """One run of the job for ``start..end`` (a single partition when they are equal)."""
    # Definitions resolve lazily, reading the instance's defs-state storage from a context
    # variable; an instance entered and dropped earlier in this process (tests, the CLI's
    # several homes) would otherwise leave a dead weakref there ("Attempted to resolve
    # undefined DagsterInstance weakref"). Point it at the instance this run uses.
    check_business_dates(settings, start, end)
    with set_defs_state_storage(instance.defs_state_storage):
        return _execute(settings, defs, instance, start, end, allow_past, progress)


def _execute(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    allow_past: Sequence[dt.date],
    progress: Callable[[str], None],
) -> RunOutcome:
    job = defs.resolve_job_def(JOB_NAME)
    tags: dict[str, str] = {IN_PROCESS_TAG: "true"}
    if allow_past:
        tags[ALLOW_PAST_TAG] = ",".join(d.isoformat() for d in allow_past)
    partition_key = None
    if start == end:
        partition_key = start.isoformat()
    else:
        tags[RANGE_START_TAG] = start.isoformat()
        tags[RANGE_END_TAG] = end.isoformat()
    with warehouse_lock(settings):
        wait_for_other_writers(settings, instance, progress)
        _ingest_changed_months(settings, defs, instance, start, end, progress)
        result = job.execute_in_process(
            instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False
        )
    if not result.success:
        return RunOutcome(result.run_id, start, end, False, _alerted(settings, result, instance))
    loaded = load_postgres(settings, defs, instance, end) if settings.postgres_dsn else None
    postgres_error = "" if loaded is None or loaded.success else loaded.error
    return RunOutcome(result.run_id, start, end, True, postgres_error=postgres_error)


def load_postgres(
    settings: Settings, defs: dg.Definitions, instance: dg.DagsterInstance, date: dt.date
) -> RunOutcome:
    """A run of the PostgreSQL load job for ``date`` (the serving copy's publication), as
    the daemon's sensor requests after a successful run; a failure is alerted."""
    with set_defs_state_storage(instance.defs_state_storage):  # as in execute
        result = defs.resolve_job_def(POSTGRES_JOB_NAME).execute_in_process(
            instance=instance,
            partition_key=date.isoformat(),
            tags={IN_PROCESS_TAG: "true"},
            raise_on_error=False,
        )
    if result.success:
        return RunOutcome(result.run_id, date, date, True)
    return RunOutcome(result.run_id, date, date, False, _alerted(settings, result, instance))


def _ingest_changed_months(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    progress: Callable[[str], None],
) -> None:
    """Before the dates: one month-job run per month of the range whose monthly deliveries
    (RM targets) are new or changed since its last successful month run, as the arrival
    sensor would request. Monthly feeds are optional: a failed month run is alerted and the
    dates run without it."""
    job = defs.resolve_job_def(MONTH_JOB_NAME)
    # by hand a failed month is tried again (the sensor and the backstop wait for a change)
    built = delivered_month_keys(instance, MONTH_JOB_NAME, statuses=(dg.DagsterRunStatus.SUCCESS,))
    for month in months_between(start, end):
        key = month_delivery_key(settings.landing, month)
        if key is None or month_delivery_known(settings.landing, month, key, (built.get(month),)):
            continue
        result = job.execute_in_process(
            instance=instance,
            partition_key=month.isoformat(),
            tags={IN_PROCESS_TAG: "true"},
            raise_on_error=False,
        )
        if result.success:
            progress(f"monthly feeds {month:%Y-%m} run {result.run_id[:8]}: ok")
            continue
        error = _alerted(settings, result, instance)
        progress(f"monthly feeds {month:%Y-%m} run {result.run_id[:8]}: FAILED: {error}")


def run_dates(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    allow_past: Sequence[dt.date] = (),
    progress: Callable[[str], None] = lambda _m: None,
) -> list[RunOutcome]:
    """One run per business date, in order, as the nightly schedule would; stop at a failure
    (later dates wait for it)."""
    check_business_dates(settings, start, end)
    outcomes = []
    for date in dates_between(start, end):
        outcome = execute(settings, defs, instance, date, date, allow_past, progress)
        progress(outcome.describe())
        outcomes.append(outcome)
        if not outcome.success:
            break
    return outcomes


def backfill(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    allow_past: Sequence[dt.date] = (),
    chunk_days: int | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[RunOutcome]:
    """The range as few runs as possible: one run (ingest loops the dates, dbt runs once with
    start/end vars), or chunks of ``chunk_days`` in date order; stop at a failure."""
    check_business_dates(settings, start, end)
    dates = dates_between(start, end)
    size = chunk_days or len(dates)
    outcomes = []
    for i in range(0, len(dates), size):
        chunk = dates[i : i + size]
        outcome = execute(settings, defs, instance, chunk[0], chunk[-1], allow_past, progress)
        progress(outcome.describe())
        outcomes.append(outcome)
        if not outcome.success:
            break
    return outcomes
