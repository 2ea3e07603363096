"""Run the business-date job in process, on the shared Dagster instance.

Why in process: the demo and the CLI must not need a daemon, and a date's steps are cheap
enough that subprocesses per step would dominate (see bench/bench_orchestration.py). The
runs are recorded in the instance under ``Settings.dagster`` so ``clientmart ui`` shows them.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public API

from clientmart.settings import PROJECT_ROOT, Settings
from orchestration.defs.pipeline.jobs import JOB_NAME, alert_run_failure
from orchestration.gating import ALLOW_PAST_TAG, RANGE_END_TAG, RANGE_START_TAG
from orchestration.partitions import dates_between

DAGSTER_YAML = PROJECT_ROOT / "dagster.yaml"


@dataclass(frozen=True)
class RunOutcome:
    """One Dagster run: the dates it covered, whether it succeeded, and why not."""

    run_id: str
    start: dt.date
    end: dt.date
    success: bool
    error: str = ""

    def describe(self) -> str:
        span = str(self.start) if self.start == self.end else f"{self.start}..{self.end}"
        verdict = "ok" if self.success else f"FAILED: {self.error}"
        return f"{span} run {self.run_id[:8]}: {verdict}"


def prepare_instance_home(settings: Settings) -> Path:
    """Create the instance home with the repo's dagster.yaml; export DAGSTER_HOME for children."""
    home = settings.dagster
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != DAGSTER_YAML.read_bytes():
        shutil.copyfile(DAGSTER_YAML, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(prepare_instance_home(settings)))


@contextmanager
def warehouse_lock(settings: Settings) -> Iterator[None]:
    """One in-process run writing the build warehouse at a time (the daemon queue's rule)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(settings.warehouse.parent / ".run.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _error_of(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure or event.is_run_failure:
            data = event.event_specific_data
            error = getattr(data, "error", None)
            if error is not None:
                return error.message.strip()
            if event.message:
                return event.message
    return "run failed"


def execute(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    allow_past: Sequence[dt.date] = (),
) -> RunOutcome:
    """One run of the job for ``start..end`` (a single partition when they are equal)."""
    # Definitions resolve lazily, reading the instance's defs-state storage from a context
    # variable; an instance entered and dropped earlier in this process (tests, the CLI's
    # several homes) would otherwise leave a dead weakref there ("Attempted to resolve
    # undefined DagsterInstance weakref"). Point it at the instance this run uses.
    with set_defs_state_storage(instance.defs_state_storage):
        return _execute(settings, defs, instance, start, end, allow_past)


def _execute(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: dt.date,
    end: dt.date,
    allow_past: Sequence[dt.date],
) -> RunOutcome:
    job = defs.resolve_job_def(JOB_NAME)
    tags: dict[str, str] = {}
    if allow_past:
        tags[ALLOW_PAST_TAG] = ",".join(d.isoformat() for d in allow_past)
    partition_key = None
    if start == end:
        partition_key = start.isoformat()
    else:
        tags[RANGE_START_TAG] = start.isoformat()
        tags[RANGE_END_TAG] = end.isoformat()
    with warehouse_lock(settings):
        result = job.execute_in_process(
            instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False
        )
    outcome = RunOutcome(
        result.run_id, start, end, result.success, "" if result.success else _error_of(result)
    )
    if not result.success:
        alert_run_failure(settings, result.dagster_run, outcome.error)
    return outcome


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
    outcomes = []
    for date in dates_between(start, end):
        outcome = execute(settings, defs, instance, date, date, allow_past)
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
    dates = dates_between(start, end)
    size = chunk_days or len(dates)
    outcomes = []
    for i in range(0, len(dates), size):
        chunk = dates[i : i + size]
        outcome = execute(settings, defs, instance, chunk[0], chunk[-1], allow_past)
        progress(outcome.describe())
        outcomes.append(outcome)
        if not outcome.success:
            break
    return outcomes
