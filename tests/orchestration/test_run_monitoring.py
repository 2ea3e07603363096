"""A run whose process died is found: the instance's launcher answers Dagster's run
monitoring with the health of the process that started the run (orchestration/run_health.py),
and the CLI asks the same before it waits for a run of the daemon's. Dagster's default
launcher has no such check, so such a run stayed "started" for good."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid

import dagster as dg
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from clientmart.settings import Settings
from orchestration.defs.pipeline.jobs import JOB_NAME, WRITES_WAREHOUSE_TAG
from orchestration.run_health import WorkerStatus
from orchestration.run_launcher import MonitoredRunLauncher
from orchestration.runner import dagster_instance, wait_for_other_writers


def _started_by(instance: dg.DagsterInstance, pid: int, at: float | None = None) -> dg.DagsterRun:
    """A run of the nightly job marked started by process ``pid`` (its RUN_START event)."""
    run = dg.DagsterRun(
        job_name=JOB_NAME,
        run_id=str(uuid.uuid4()),
        status=dg.DagsterRunStatus.STARTING,
        tags={WRITES_WAREHOUSE_TAG: "true"},
    )
    instance.add_run(run)
    start = dg.DagsterEvent(
        event_type_value=dg.DagsterEventType.RUN_START.value, job_name=JOB_NAME, pid=pid
    )
    instance.report_dagster_event(start, run.run_id, timestamp=at)
    return instance.get_run_by_id(run.run_id)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _monitor(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun:
    """One pass of the daemon's run monitoring over ``run`` (Dagster's own code)."""
    record = instance.get_run_record_by_id(run.run_id)
    monitor_started_run(instance, None, record, logging.getLogger("test"))
    return instance.get_run_by_id(run.run_id)


def test_the_instance_monitors_runs_with_the_project_launcher(settings: Settings):
    instance = dagster_instance(settings)
    assert isinstance(instance.run_launcher, MonitoredRunLauncher)
    assert instance.run_launcher.supports_check_run_worker_health
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_resume_run_attempts == 0  # the launcher cannot resume


def test_run_monitoring_fails_a_run_whose_process_died_and_keeps_a_live_one(settings: Settings):
    instance = dagster_instance(settings)
    dead = _started_by(instance, _dead_pid())
    alive = _started_by(instance, os.getpid())
    assert dead.status == alive.status == dg.DagsterRunStatus.STARTED

    assert _monitor(instance, alive).status == dg.DagsterRunStatus.STARTED
    assert _monitor(instance, dead).status == dg.DagsterRunStatus.FAILURE
    (failure,) = instance.all_logs(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    start = instance.all_logs(dead.run_id, of_type=dg.DagsterEventType.RUN_START)[-1]
    assert f"the run's worker process (pid {start.dagster_event.pid}" in failure.message
    assert "is gone" in failure.message


def test_a_pid_taken_over_by_a_later_process_is_not_the_run_s(settings: Settings):
    instance = dagster_instance(settings)
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # the run started a minute before the process now holding its pid was created
        run = _started_by(instance, later.pid, at=time.time() - 60)
        health = instance.run_launcher.check_run_worker_health(run)
        assert health.status == WorkerStatus.FAILED
        assert "now another, later process" in health.msg
    finally:
        later.kill()
        later.wait()


def test_the_cli_does_not_wait_for_a_daemon_run_whose_process_died(settings: Settings):
    instance = dagster_instance(settings)
    dead = _started_by(instance, _dead_pid())
    said: list[str] = []
    wait_for_other_writers(settings, instance, said.append)  # returns at once
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert len(said) == 1 and said[0].startswith(f"marked run {dead.run_id[:8]} failed: ")
    assert "is gone" in said[0]
