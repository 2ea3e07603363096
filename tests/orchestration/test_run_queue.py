"""In-process (CLI) runs and the instance's run queue share one rule: one run writes the
warehouse at a time. The CLI waits for runs the daemon or the UI launched, and heals runs a
killed CLI process left marked as running (they would block the queue and the sensor)."""

from __future__ import annotations

import threading
import time
import uuid

import dagster as dg
import pytest

import orchestration.runner as runner
from clientmart.settings import Settings
from orchestration.defs.pipeline.jobs import JOB_NAME, WRITES_WAREHOUSE_TAG
from orchestration.runner import (
    IN_PROCESS_TAG,
    WarehouseBusyError,
    dagster_instance,
    wait_for_other_writers,
)


def _running(instance: dg.DagsterInstance, **tags: str) -> dg.DagsterRun:
    run = dg.DagsterRun(
        job_name=JOB_NAME,
        run_id=str(uuid.uuid4()),
        status=dg.DagsterRunStatus.STARTED,
        tags={WRITES_WAREHOUSE_TAG: "true", **tags},
    )
    instance.add_run(run)
    return run


def _status(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run.run_id).status


def test_a_run_left_running_by_a_killed_cli_process_is_marked_failed(settings: Settings):
    instance = dagster_instance(settings)
    stale = _running(instance, **{IN_PROCESS_TAG: "true"})
    said: list[str] = []
    wait_for_other_writers(settings, instance, said.append)  # returns at once
    assert _status(instance, stale) == dg.DagsterRunStatus.FAILURE
    assert said == [f"marked run {stale.run_id[:8]} failed: its process is gone"]


def test_the_cli_waits_for_a_daemon_run_then_goes(settings: Settings, monkeypatch):
    monkeypatch.setattr(runner, "QUEUE_POLL_SECONDS", 0.1)
    instance = dagster_instance(settings)
    daemon_run = _running(instance, **{"dagster/sensor_name": "landing_arrivals"})
    said: list[str] = []
    waited = threading.Thread(target=wait_for_other_writers, args=(settings, instance, said.append))
    started = time.monotonic()
    waited.start()
    time.sleep(0.6)
    assert waited.is_alive(), "must wait while the daemon's run writes the warehouse"
    instance.report_run_failed(daemon_run, "finished for the test")
    waited.join(timeout=10)
    assert not waited.is_alive()
    assert time.monotonic() - started >= 0.6
    assert said == [f"waiting for run {daemon_run.run_id[:8]} (launched by the daemon or the UI)"]
    assert _status(instance, daemon_run) == dg.DagsterRunStatus.FAILURE  # untouched by the CLI


def test_the_cli_gives_up_with_a_message_naming_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "QUEUE_POLL_SECONDS", 0.05)
    settings = Settings(home=tmp_path, run_queue_wait_minutes=0.005)
    instance = dagster_instance(settings)
    daemon_run = _running(instance)
    with pytest.raises(WarehouseBusyError, match=daemon_run.run_id) as error:
        wait_for_other_writers(settings, instance)
    assert "CLIENTMART_RUN_QUEUE_WAIT_MINUTES" in str(error.value)
    assert _status(instance, daemon_run) == dg.DagsterRunStatus.STARTED


def test_the_sensor_heals_a_run_a_killed_cli_process_left_running(settings: Settings):
    """Only the next CLI run healed such a run, so a night killed in the middle kept the
    arrival sensor skipping ("a run is queued or running") until someone ran one by hand.
    The sensor marks it failed when nobody holds the warehouse lock, and only then."""
    from orchestration.defs.pipeline.jobs import MONTH_JOB_NAME
    from orchestration.run_lock import fail_abandoned_in_process_runs, warehouse_lock

    instance = dagster_instance(settings)
    jobs = (JOB_NAME, MONTH_JOB_NAME)
    stale = _running(instance, **{IN_PROCESS_TAG: "true"})
    daemon_run = _running(instance)  # the daemon's: its worker is not a CLI process
    with warehouse_lock(settings):  # a CLI run is alive: its run is not abandoned
        assert fail_abandoned_in_process_runs(settings, instance, jobs) == []
    assert _status(instance, stale) == dg.DagsterRunStatus.STARTED

    assert fail_abandoned_in_process_runs(settings, instance, jobs) == [stale.run_id]
    assert _status(instance, stale) == dg.DagsterRunStatus.FAILURE
    assert _status(instance, daemon_run) == dg.DagsterRunStatus.STARTED
    assert fail_abandoned_in_process_runs(settings, instance, jobs) == []
