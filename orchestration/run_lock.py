"""The build warehouse's run lock, and the in-process runs a killed process left running.

A CLI run (``orchestration.runner``) holds ``<warehouse dir>/.run.lock`` while it runs its
business dates and months, so a run of those jobs marked running, tagged in-process, while
nobody holds the lock belongs to a process that is gone (killed, machine restarted). Left
"started" it blocked the arrival sensor ("a run is queued or running") and the daemon's
queue for good, and nothing alerted; the sensor now marks such runs failed as the next CLI
run does.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from clientmart.settings import Settings

IN_PROCESS_TAG = "clientmart/in_process"
WRITING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def lock_path(settings: Settings) -> Path:
    return settings.warehouse.parent / ".run.lock"


@contextmanager
def warehouse_lock(settings: Settings) -> Iterator[None]:
    """One in-process run writing the build warehouse at a time (the daemon queue's rule)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(settings), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fail_abandoned(instance: dg.DagsterInstance, runs: list[dg.DagsterRun], found_by: str) -> None:
    for run in runs:
        instance.report_run_failed(
            run,
            f"run {run.run_id} was left running by a process that ended without finishing it "
            f"(found by {found_by})",
        )


def fail_abandoned_in_process_runs(
    settings: Settings, instance: dg.DagsterInstance, job_names: tuple[str, ...]
) -> list[str]:
    """Mark failed the in-process runs of ``job_names`` still marked running when the
    warehouse lock is free (taken without waiting, and released); their ids."""
    runs = [
        r
        for name in job_names
        for r in instance.get_runs(
            dg.RunsFilter(job_name=name, tags={IN_PROCESS_TAG: "true"}, statuses=WRITING)
        )
    ]
    if not runs:
        return []
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []  # a CLI run is alive: its runs are not abandoned
        try:
            # read again under the lock: a run that finished meanwhile is not touched
            alive = {r.run_id for r in runs}
            runs = [
                r
                for r in (instance.get_run_by_id(i) for i in alive)
                if r is not None and r.status in WRITING
            ]
            fail_abandoned(instance, runs, "the arrival sensor, with the warehouse lock free")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return [r.run_id for r in runs]
