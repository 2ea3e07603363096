"""Arrival sensor and nightly backstop, evaluated with Dagster's test contexts (no runs)."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public API
from fixture_deliveries import FIXTURE_DBT, deliver, deliver_date, fx_row

from orchestration.defs.pipeline.jobs import JOB_NAME, MONTH_JOB_NAME
from orchestration.gating import delivery_tag, month_delivery_tag

DAY = dt.date(2026, 9, 2)


def _tick(defs, instance, cursor=None):
    # as orchestration.runner.execute does: the Definitions resolve under this instance's
    # defs-state storage, not whatever an earlier test left in the context variable (this
    # test failed once under `make test` with "Attempted to resolve undefined DagsterInstance
    # weakref" although the suite's autouse fixture clears it)
    with set_defs_state_storage(instance.defs_state_storage):
        sensor = defs.resolve_sensor_def("landing_arrival")
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, repository_def=defs.get_repository_def()
        )
        return sensor.evaluate_tick(context)


def test_complete_delivery_requests_one_run_and_identical_redelivery_none(settings, defs):
    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY, skip=("wealth_orders",))
    incomplete = _tick(defs, instance)
    assert incomplete.run_requests == []

    deliver_date(settings.landing, DAY)  # the last required feed lands
    first = _tick(defs, instance)
    assert [r.partition_key for r in first.run_requests] == [DAY.isoformat()]
    assert first.run_requests[0].run_key.startswith("20260902-")

    deliver_date(settings.landing, DAY)  # same files again: same content, new mtimes
    again = _tick(defs, instance, first.cursor)
    assert again.run_requests == []
    assert "no new or changed" in again.skip_message


def test_correction_or_late_optional_feed_requests_a_new_run(settings, defs):
    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    first = _tick(defs, instance)
    deliver(settings.landing, "fx_rates", DAY, [fx_row(DAY, "7.200000")])  # a correction
    corrected = _tick(defs, instance, first.cursor)
    assert [r.partition_key for r in corrected.run_requests] == [DAY.isoformat()]
    assert corrected.run_requests[0].run_key != first.run_requests[0].run_key

    deliver(settings.landing, "contacts", DAY, [])  # a late optional feed
    late = _tick(defs, instance, corrected.cursor)
    assert len(late.run_requests) == 1
    assert late.run_requests[0].run_key not in {
        first.run_requests[0].run_key,
        corrected.run_requests[0].run_key,
    }


def test_a_corrected_control_file_alone_requests_a_new_run(settings, defs):
    """A file refused because its `.ok` count was wrong is fixed by a new `.ok` (the refusal
    says to re-deliver the file and its .ok; the data file may come back unchanged): the
    sensor runs the date again. Its key counted the data files only, and it never did."""
    from clientmart.generator.writers import write_control

    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    fx = deliver(settings.landing, "fx_rates", DAY, [fx_row(DAY)])
    write_control(fx, 7)  # upstream's wrong count: the run refuses the file
    first = _tick(defs, instance)
    write_control(fx, 1)  # the corrected control file, the data file unchanged
    corrected = _tick(defs, instance, first.cursor)
    assert [r.partition_key for r in corrected.run_requests] == [DAY.isoformat()]
    assert corrected.run_requests[0].run_key != first.run_requests[0].run_key
    assert _tick(defs, instance, corrected.cursor).run_requests == []


def test_a_date_built_before_control_files_counted_is_not_run_again(settings, defs):
    """Run keys recorded by an earlier release (data files only) still mean "built": the
    new key alone does not re-run every landed date after the deploy; a changed file does."""
    from ingest.landing import monthly_feeds, scan_date

    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    legacy = scan_date(settings.landing, DAY).legacy_run_key(monthly_feeds())
    assert "-ok-" not in legacy and "-ok-" in _tick(defs, instance).run_requests[0].run_key
    tags = {"dagster/partition": DAY.isoformat(), delivery_tag(DAY): legacy}
    _successful_run(defs, instance, JOB_NAME, tags)
    assert _tick(defs, instance).run_requests == []
    deliver(settings.landing, "fx_rates", DAY, [fx_row(DAY, "7.300000")])  # a correction
    assert len(_tick(defs, instance).run_requests) == 1


def test_every_sensor_runs_by_default(defs):
    """Sensors Dagster would leave stopped (its default for the freshness sensor) do their
    work from the first start of the daemon, without anyone switching them on in the UI."""
    statuses = {sensor.name: sensor.default_status for sensor in defs.sensors}
    assert "mart_freshness" in statuses
    assert set(statuses.values()) == {dg.DefaultSensorStatus.RUNNING}, statuses


def test_loading_the_definitions_warns_nothing(settings):
    """Every process that runs a night loads the definitions: the Dagster APIs this project
    chose on purpose (single-run backfills of an asset, the partition-aware freshness checks)
    have their warnings silenced where they are used, so a warning in a night's log is news,
    such as an API a Dagster upgrade deprecates (with the PostgreSQL target's asset too)."""
    from orchestration.build import build_definitions

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_definitions(settings, FIXTURE_DBT)
        build_definitions(
            settings.model_copy(update={"postgres_dsn": "postgresql://u@localhost/x"}),
            FIXTURE_DBT,
        )
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


def test_sensor_skips_a_date_a_run_already_built(settings, defs):
    """A date run from the CLI carries its delivery key; the sensor does not run it again."""
    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    key = _tick(defs, instance).run_requests[0].run_key
    run = _successful_run(
        defs, instance, JOB_NAME, {"dagster/partition": DAY.isoformat(), delivery_tag(DAY): key}
    )
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
    assert _tick(defs, instance).run_requests == []


def test_a_night_killed_in_the_middle_no_longer_blocks_the_sensor(settings, defs):
    """A CLI run whose process was killed stayed "started": every later tick skipped with
    "a run is queued or running" until someone ran a date by hand."""
    from orchestration.run_lock import IN_PROCESS_TAG

    instance = dg.DagsterInstance.ephemeral()
    killed = instance.create_run_for_job(
        defs.resolve_job_def(JOB_NAME), tags={IN_PROCESS_TAG: "true"}
    )
    instance.handle_run_event(
        killed.run_id, dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=JOB_NAME)
    )
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED
    deliver_date(settings.landing, DAY)
    assert [r.partition_key for r in _tick(defs, instance).run_requests] == [DAY.isoformat()]
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE


def _successful_run(defs, instance, job_name: str, tags: dict[str, str]) -> dg.DagsterRun:
    """A run of ``job_name`` recorded as succeeded with ``tags`` (as a CLI or daemon run)."""
    run = instance.create_run_for_job(defs.resolve_job_def(job_name), tags=tags)
    instance.report_run_canceled(run)  # any terminal status first, then mark success
    instance.handle_new_event(
        dg.EventLogEntry(
            error_info=None,
            level="debug",
            user_message="",
            run_id=run.run_id,
            timestamp=dt.datetime.now().timestamp(),
            dagster_event=dg.DagsterEvent(dg.DagsterEventType.RUN_SUCCESS.value, job_name=job_name),
        )
    )
    return run


def test_later_date_waits_for_an_earlier_failed_date(settings, defs):
    instance = dg.DagsterInstance.ephemeral()
    earlier = DAY - dt.timedelta(days=1)
    job = defs.resolve_job_def(JOB_NAME)
    failed = instance.create_run_for_job(job, tags={"dagster/partition": earlier.isoformat()})
    instance.report_run_failed(failed)
    deliver_date(settings.landing, DAY)
    result = _tick(defs, instance)
    assert result.run_requests == []
    assert f"waits for failed date(s) {earlier}" in result.skip_message


def test_going_past_a_failed_date_is_decided_once(settings, defs):
    """`run --date D+1 --allow-past D` let that one run through, and every later night
    (the sensor, the backstop, a run without the flag) waited for D again. A retry of D that
    fails after the decision holds later dates again."""
    from orchestration.gating import ALLOW_PAST_TAG, failed_dates_before

    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def(JOB_NAME)
    bad, past, later = DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY
    failed = instance.create_run_for_job(job, tags={"dagster/partition": bad.isoformat()})
    instance.report_run_failed(failed)
    assert failed_dates_before(instance, JOB_NAME, later) == [bad]
    _successful_run(
        defs,
        instance,
        JOB_NAME,
        {"dagster/partition": past.isoformat(), ALLOW_PAST_TAG: bad.isoformat()},
    )
    assert failed_dates_before(instance, JOB_NAME, later) == []
    deliver_date(settings.landing, later)
    assert [r.partition_key for r in _tick(defs, instance).run_requests] == [later.isoformat()]

    retried = instance.create_run_for_job(job, tags={"dagster/partition": bad.isoformat()})
    instance.report_run_failed(retried)
    assert failed_dates_before(instance, JOB_NAME, later) == [bad]


def _schedule_tick(defs, instance, local_time: dt.datetime, name: str = "nightly_backstop"):
    schedule = defs.resolve_schedule_def(name)
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=local_time,
        repository_def=defs.get_repository_def(),
    )
    return schedule.evaluate_tick(context)


def test_nightly_backstop_runs_yesterday_at_0200_shanghai(settings, defs):
    schedule = defs.resolve_schedule_def("nightly_backstop")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    deliver_date(settings.landing, DAY)
    at = dt.datetime(2026, 9, 3, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.instance_for_test() as instance:  # schedule contexts need a persistent instance
        result = _schedule_tick(defs, instance, at)
    assert [r.partition_key for r in result.run_requests] == [DAY.isoformat()]


def test_nightly_backstop_fails_naming_missing_feed_and_file(settings, defs):
    deliver_date(settings.landing, DAY, skip=("deposit_balances", "wealth_orders"))
    pending = settings.landing / "deposit_balances" / "20260902" / "balances.csv"
    pending.parent.mkdir(parents=True)
    pending.write_text("balance_date\n")  # a data file whose control file has not arrived
    misplaced = deliver(settings.landing, "wealth_orders", DAY, [])
    misplaced.parent.rename(misplaced.parent.with_name("2026-09-02"))  # where no feed looks
    at = dt.datetime(2026, 9, 3, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.instance_for_test() as instance, pytest.raises(dg.DagsterError) as info:
        _schedule_tick(defs, instance, at)
    assert "nightly_backstop" in str(info.value)
    message = str(info.value.__cause__)  # the schedule's own error, shown on the failed tick
    assert "required feed wealth_orders: no file" in message
    assert "required feed deposit_balances: incomplete" in message
    assert "balances.csv (no balances.csv.ok control file)" in message
    assert f"- wealth_orders/2026-09-02/{misplaced.name}: not read (date_folder_name): " in message
    assert "clients" not in message
    alerts = [json.loads(p.read_text()) for p in settings.alerts.glob("*.json")]
    assert [a["kind"] for a in alerts] == ["missing_delivery"]
    assert alerts[0]["details"]["missing_required"] == ["deposit_balances", "wealth_orders"]


def test_run_failure_sensor_writes_an_alert(settings, defs):
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def(JOB_NAME)
        run = instance.create_run_for_job(job, tags={"dagster/partition": DAY.isoformat()})
        instance.report_run_failed(run, message="step raw_feeds failed: control count 3 != 2")
        failure = next(
            e.dagster_event
            for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
        )
        sensor = defs.resolve_sensor_def("run_failure_alert")
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(run.run_id),
        )
        sensor(context.for_run_failure())
    alerts = [json.loads(p.read_text()) for p in settings.alerts.glob("*.json")]
    assert len(alerts) == 1
    assert alerts[0]["kind"] == "run_failure"
    assert alerts[0]["business_date"] == DAY.isoformat()
    assert "control count 3 != 2" in alerts[0]["message"]
    assert alerts[0]["details"]["run_id"] == run.run_id


def _target_row(month: str = "2026-09", value: str = "2290000") -> dict[str, str]:
    return {"month": month, "rm_id": "RM1", "metric": "investment_sales", "target_value": value}


def _mark_month_built(defs, instance, month: dt.date, key: str) -> None:
    """A successful month run that ingested ``key`` (as the CLI or a daemon run records it)."""
    tags = {"dagster/partition": month.isoformat(), month_delivery_tag(month): key}
    _successful_run(defs, instance, MONTH_JOB_NAME, tags)


def test_targets_get_a_month_run_first_and_stay_out_of_the_date_key(settings, defs):
    """Monthly feeds are partitioned by month: a targets delivery requests the month job
    (before any date), an identical one nothing, a correction one more month run; the date's
    own run key ignores them."""
    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    without_targets = _tick(defs, dg.DagsterInstance.ephemeral()).run_requests[0].run_key
    deliver(settings.landing, "rm_targets", DAY, [_target_row()])

    first = _tick(defs, instance)
    (month_run,) = first.run_requests
    assert (month_run.job_name, month_run.partition_key) == (MONTH_JOB_NAME, "2026-09-01")
    assert month_run.run_key.startswith("202609-")

    then = _tick(defs, instance, first.cursor)  # the month was requested: now the date
    (date_run,) = then.run_requests
    assert (date_run.job_name, date_run.partition_key) == (JOB_NAME, DAY.isoformat())
    assert date_run.run_key == without_targets

    deliver(settings.landing, "rm_targets", DAY, [_target_row()])  # identical again
    assert _tick(defs, instance, then.cursor).run_requests == []

    deliver(settings.landing, "rm_targets", DAY, [_target_row(value="2500000")])  # corrected
    corrected = _tick(defs, instance, then.cursor)
    assert [(r.job_name, r.partition_key) for r in corrected.run_requests] == [
        (MONTH_JOB_NAME, "2026-09-01")
    ]
    assert corrected.run_requests[0].run_key != month_run.run_key
    assert _tick(defs, instance, corrected.cursor).run_requests == []  # the date is unchanged

    # a month a run already ingested (its key is on the run) is not requested again
    fresh = dg.DagsterInstance.ephemeral()
    _mark_month_built(defs, fresh, DAY.replace(day=1), corrected.run_requests[0].run_key)
    assert [r.job_name for r in _tick(defs, fresh).run_requests] == [JOB_NAME]


def test_a_corrected_control_file_alone_requests_a_new_month_run(settings, defs):
    """A targets file refused for its `.ok` count is fixed by a new `.ok` alone: the month
    job runs again, as a date does. Months ingested by a release whose key counted the data
    files only are not run again after the deploy, until a file changes."""
    from clientmart.generator.writers import write_control
    from ingest.landing import month_delivery_key

    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    targets = deliver(settings.landing, "rm_targets", DAY, [_target_row()])
    write_control(targets, 5)  # upstream's wrong count: the month run refuses the file
    first = _tick(defs, instance)
    write_control(targets, 1)  # the corrected control file, the data file unchanged
    corrected = _tick(defs, instance, first.cursor)
    assert [(r.job_name, r.partition_key) for r in corrected.run_requests] == [
        (MONTH_JOB_NAME, "2026-09-01")
    ]
    assert "-ok-" in corrected.run_requests[0].run_key != first.run_requests[0].run_key

    month = DAY.replace(day=1)
    legacy = month_delivery_key(settings.landing, month, controls=False)
    assert legacy is not None and "-ok-" not in legacy
    fresh = dg.DagsterInstance.ephemeral()
    _mark_month_built(defs, fresh, month, legacy)
    assert [r.job_name for r in _tick(defs, fresh).run_requests] == [JOB_NAME]
    deliver(settings.landing, "rm_targets", DAY, [_target_row(value="2500000")])
    assert [r.job_name for r in _tick(defs, fresh).run_requests] == [MONTH_JOB_NAME]


def test_month_backstop_ingests_yesterdays_month_at_0130_shanghai(settings, defs):
    schedule = defs.resolve_schedule_def("monthly_feeds_backstop")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 1 * * *", "Asia/Shanghai")
    at = dt.datetime(2026, 9, 3, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.instance_for_test() as instance:
        nothing = _schedule_tick(defs, instance, at, "monthly_feeds_backstop")
        assert nothing.run_requests == []
        assert "no monthly feed delivered for 2026-09" in nothing.skip_message
        deliver(settings.landing, "rm_targets", DAY, [_target_row()])
        due = _schedule_tick(defs, instance, at, "monthly_feeds_backstop")
        assert [r.partition_key for r in due.run_requests] == ["2026-09-01"]
        _mark_month_built(defs, instance, DAY.replace(day=1), due.run_requests[0].run_key[9:])
        done = _schedule_tick(defs, instance, at, "monthly_feeds_backstop")
        assert done.run_requests == [] and "already ingested" in done.skip_message


def test_a_date_that_failed_on_its_delivery_is_not_run_again_until_the_delivery_changes(
    settings, defs
):
    """A run that ingested a delivery and failed (a refused file, a failed check) carries the
    delivery's key, as a successful one does. The sensor does not request that delivery
    again, whether the run came from the CLI or the daemon (whose own request's run key
    Dagster does not repeat); a corrected delivery runs the date, and the on-call re-runs a
    date that failed for another reason by hand (docs/runbook.md)."""
    instance = dg.DagsterInstance.ephemeral()
    deliver_date(settings.landing, DAY)
    key = _tick(defs, instance).run_requests[0].run_key
    failed = instance.create_run_for_job(
        defs.resolve_job_def(JOB_NAME),
        tags={"dagster/partition": DAY.isoformat(), delivery_tag(DAY): key},
    )
    instance.report_run_failed(failed)
    assert _tick(defs, instance).run_requests == []

    deliver(settings.landing, "fx_rates", DAY, [fx_row(DAY, "7.190000")])  # a correction
    (request,) = _tick(defs, instance).run_requests
    assert request.run_key != key and request.partition_key == DAY.isoformat()
