"""Whether a run's worker process is still there: the process that started the run (its
RUN_START event records the pid), alive, and not a later process that took over its pid.

Dagster's DefaultRunLauncher has no such check, so a run whose process died (killed, out of
memory, the machine restarted) stayed "started" for good: it held the run queue's one
warehouse slot, the arrival sensor skipped ("a run is queued or running") and the CLI waited
for it. `MonitoredRunLauncher` (orchestration/run_launcher.py) answers Dagster's run
monitoring with this check, and the CLI asks it of the daemon's runs it would wait for.

One machine: the pid is looked up on the machine asking, as in the embedded default, where
the daemon, the code server and the CLI share it. Several machines use a launcher of their
own (docs/scale-out.md).
"""

from __future__ import annotations

import dagster as dg
import psutil
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

__all__ = ["WorkerStatus", "worker_health"]

# the run's start and its process's creation are stamped by different clocks' readings
CLOCK_SLACK_SECONDS = 2.0


def worker_health(instance: dg.DagsterInstance, run: dg.DagsterRun) -> CheckRunHealthResult:
    """RUNNING while the process that started ``run`` is alive (or nothing says which it
    was), FAILED once it is gone, with a message naming the pid."""
    starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_START)
    event = starts[-1].dagster_event if starts else None
    if event is None or event.pid is None:
        return CheckRunHealthResult(WorkerStatus.RUNNING, "not started by a process yet")
    started_at = starts[-1].timestamp
    gone = (
        f"the run's worker process (pid {event.pid}, which started the run) is gone: killed, "
        "out of memory or the machine restarted"
    )
    try:
        process = psutil.Process(event.pid)
        created = process.create_time()
        zombie = process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return CheckRunHealthResult(WorkerStatus.FAILED, gone)
    if zombie:
        return CheckRunHealthResult(WorkerStatus.FAILED, gone)
    if created > started_at + CLOCK_SLACK_SECONDS:
        return CheckRunHealthResult(
            WorkerStatus.FAILED, gone + f" (pid {event.pid} is now another, later process)"
        )
    return CheckRunHealthResult(WorkerStatus.RUNNING, f"pid {event.pid} alive")
