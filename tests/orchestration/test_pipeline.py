"""The business-date job end to end on a tiny dbt project: graph, failure, re-run, backfill."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time

import dagster as dg
import duckdb
import polars as pl
from check_records import check_records, stored
from fixture_deliveries import FIXTURE_DBT, deliver, deliver_date, fx_row, warehouse_held
from polars.testing import assert_frame_equal

from clientmart.generator.writers import write_control
from clientmart.serving.publish import latest_publication, serving_path, storage_format
from ingest import store
from ingest.spec import load_feeds
from orchestration.alerts import read_alerts
from orchestration.build import build_definitions
from orchestration.defs.dbt.assets import DBT_ASSETS_NAME
from orchestration.defs.pipeline.jobs import JOB_NAME, MONTH_JOB_NAME
from orchestration.gating import delivered_month_keys
from orchestration.runner import backfill, dagster_instance, run_dates

D1, D2, D3 = dt.date(2026, 9, 1), dt.date(2026, 9, 2), dt.date(2026, 9, 3)


def test_asset_graph_snapshot(defs):
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    raw = sorted(f"raw/{feed}" for feed in load_feeds())
    assert keys == sorted(
        [
            *raw,
            "currencies",
            "stg_raw__fx_rates",
            "mart_fx_daily",
            "mart_fx_monthly",
            "serving_publication",
        ]
    )
    # the dbt source maps onto the ingest asset; the publication waits for every mart
    assert graph.get(dg.AssetKey("stg_raw__fx_rates")).parent_keys == {
        dg.AssetKey(["raw", "fx_rates"])
    }
    assert graph.get(dg.AssetKey("serving_publication")).parent_keys == {
        dg.AssetKey("mart_fx_daily"),
        dg.AssetKey("mart_fx_monthly"),
    }
    job = defs.resolve_job_def(JOB_NAME)
    assert job.executor_def.name == "in_process"
    assert job.partitions_def.get_partition_keys()[0] == "2026-09-01"
    # monthly feeds (RM targets): monthly partitions and a job of their own
    month_job = defs.resolve_job_def(MONTH_JOB_NAME)
    assert month_job.executor_def.name == "in_process"
    assert month_job.partitions_def.get_partition_keys()[:2] == ["2026-09-01", "2026-10-01"]
    targets = graph.get(dg.AssetKey(["raw", "rm_targets"]))
    assert targets.partitions_def == month_job.partitions_def
    assert dg.AssetKey(["raw", "rm_targets"]) in month_job.asset_layer.selected_asset_keys
    assert dg.AssetKey(["raw", "rm_targets"]) not in job.asset_layer.selected_asset_keys


def test_a_date_run_ingests_its_months_targets_first_once(settings, defs):
    """The CLI's date run takes the month's RM targets in a month run of their own when they
    are new or changed, then the date; the next date of the month does not repeat it."""
    instance = dagster_instance(settings)
    for day in (D1, D2):
        deliver_date(settings.landing, day)
    target = {"month": "2026-09", "rm_id": "RM1", "metric": "investment_sales"}
    deliver(settings.landing, "rm_targets", D1, [{**target, "target_value": "2290000"}])

    outcomes = run_dates(settings, defs, instance, D1, D2)
    assert [o.success for o in outcomes] == [True, True]
    # the dbt step says which memory limit it gave DuckDB, and why (CLIENTMART_WAREHOUSE_
    # MEMORY_LIMIT=auto: the positions of the date's position feeds)
    log = [e.user_message for e in instance.all_logs(outcomes[0].run_id)]
    said = "dbt build for business dates 2026-09-01 .. 2026-09-01, DuckDB memory limit 3GB "
    assert any(
        m.startswith(said + "(auto: ") and " positions (deposit_balances " in m for m in log
    ), log
    month_runs = instance.get_runs(dg.RunsFilter(job_name=MONTH_JOB_NAME))
    assert [r.tags["dagster/partition"] for r in month_runs] == ["2026-09-01"]
    assert delivered_month_keys(instance, MONTH_JOB_NAME)[D1.replace(day=1)].startswith("202609-")
    raw = settings.raw / "rm_targets" / "business_date=2026-09-01"
    assert [p.name for p in raw.glob("*.parquet")] == ["rm_targets_20260901.csv.parquet"]
    (month_record,) = instance.get_run_records(dg.RunsFilter(job_name=MONTH_JOB_NAME))
    date_records = instance.get_run_records(dg.RunsFilter(job_name=JOB_NAME))
    assert len(date_records) == 2
    assert all(r.start_time >= month_record.end_time for r in date_records)

    # a corrected targets file with a wrong control count: the month run refuses it, the
    # next date runs all the same; the corrected `.ok` alone then gets the month run again
    fixed = deliver(settings.landing, "rm_targets", D1, [{**target, "target_value": "2500000"}])
    write_control(fixed, 4)
    deliver_date(settings.landing, D3)
    assert run_dates(settings, defs, instance, D3, D3)[0].success
    refused = instance.get_runs(dg.RunsFilter(job_name=MONTH_JOB_NAME))
    assert [r.status for r in refused] == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
    write_control(fixed, 1)
    assert run_dates(settings, defs, instance, D3, D3)[0].success
    month_runs = instance.get_runs(dg.RunsFilter(job_name=MONTH_JOB_NAME))
    assert [r.status for r in month_runs][:1] == [dg.DagsterRunStatus.SUCCESS]
    assert len(month_runs) == 3
    loaded = pl.read_parquet(raw / "rm_targets_20260901.csv.parquet")
    assert loaded["target_value"].cast(pl.Float64).to_list() == [2500000.0]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mart(settings, name: str, key: str) -> pl.DataFrame:
    con = duckdb.connect(str(serving_path(settings.serving)), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {name} ORDER BY {key}").pl()
    finally:
        con.close()


def test_failed_check_does_not_publish_later_dates_wait_and_a_rerun_completes(settings, defs):
    instance = dagster_instance(settings)
    deliver_date(settings.landing, D1)
    deliver_date(settings.landing, D2, rate="5000")  # the dbt test rejects this rate
    deliver_date(settings.landing, D3)

    first = run_dates(settings, defs, instance, D1, D3)
    assert [(o.start, o.success) for o in first] == [(D1, True), (D2, False)]  # D3 not tried
    assert "assert_rates_plausible: fail" in first[1].error
    # each check is stored per date: every check of the job passed on D1 (not the freshness
    # checks, run by their own sensor, nor the monthly feed's, run by the month job)
    checks = check_records(instance, defs)
    assert {p for _, p in checks} == {"2026-09-01", "2026-09-02"}
    on_d1 = {c: runs[0] for (c, p), runs in checks.items() if p == "2026-09-01"}
    assert set(on_d1.values()) == {("SUCCEEDED", first[0].run_id)}
    assert set(on_d1) == {
        f"{k.asset_key.to_user_string()}:{k.name}"
        for k in defs.resolve_asset_graph().asset_check_keys
        if k.name != "freshness_check" and k.asset_key != dg.AssetKey(["raw", "rm_targets"])
    }
    # D2's failed test failed on D2 only
    (plausible,) = [c for c in on_d1 if "assert_rates_plausible" in c]
    assert checks[(plausible, "2026-09-02")] == [("FAILED", first[1].run_id)]
    published = _sha(serving_path(settings.serving))
    assert latest_publication(settings.serving)["business_date_max"] == D1
    alerts = [json.loads(p.read_text()) for p in sorted(settings.alerts.glob("*.json"))]
    assert [(a["kind"], a["business_date"]) for a in alerts] == [("run_failure", "2026-09-02")]

    waiting = run_dates(settings, defs, instance, D3, D3)
    assert not waiting[0].success
    assert "waits for earlier failed date(s) 2026-09-02" in waiting[0].error
    assert _sha(serving_path(settings.serving)) == published  # the BI copy never changed

    deliver(settings.landing, "fx_rates", D2, [fx_row(D2, "7.200000")])  # the correction
    rerun = run_dates(settings, defs, instance, D2, D3)
    assert [o.success for o in rerun] == [True, True]
    checks = check_records(instance, defs)
    for outcome in rerun:
        on_date = {c: runs[0] for (c, p), runs in checks.items() if p == outcome.start.isoformat()}
        assert set(on_date) == set(on_d1)
        # the seeds' tests were not run again (seeds unchanged): planned, which Dagster shows
        # as skipped once the run has ended; every other check passed on its date
        not_run = {c for c, status in on_date.items() if status != ("SUCCEEDED", outcome.run_id)}
        assert not_run == {c for c in on_d1 if c.startswith("currencies:")}
        assert {on_date[c] for c in not_run} == {("PLANNED", outcome.run_id)}
    log = latest_publication(settings.serving)
    assert (log["business_date_min"], log["business_date_max"]) == (D1, D3)
    nightly_daily = _mart(settings, "mart_fx_daily", "rate_date")
    nightly_monthly = _mart(settings, "mart_fx_monthly", "month_start")
    assert nightly_daily["cny_per_unit"].cast(pl.Float64).to_list() == [7.1, 7.2, 7.1]
    assert nightly_monthly["days_loaded"].to_list() == [3]

    # A backfill of the same range into a fresh warehouse: one run, the same figures.
    fresh = settings.model_copy(
        update={
            name: getattr(settings, name).parent / f"backfill-{getattr(settings, name).name}"
            for name in (
                "raw_root",
                "quarantine_root",
                "warehouse_path",
                "serving_dir",
                "dagster_home",
            )
        }
    )
    fresh_instance = dagster_instance(fresh)
    outcomes = backfill(fresh, build_definitions(fresh, FIXTURE_DBT), fresh_instance, D1, D3)
    assert [(o.start, o.end, o.success) for o in outcomes] == [(D1, D3, True)]
    assert len(fresh_instance.get_runs()) == 1
    # the range run planned each asset once (holding the 3 dates), not once per date
    (range_run,) = fresh_instance.get_runs()
    planned = [
        e.dagster_event.event_specific_data
        for e in fresh_instance.all_logs(range_run.run_id)
        if e.dagster_event
        and e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ]
    assert planned and all(p.partition is None for p in planned)
    assert len(planned) == len({p.asset_key for p in planned})
    assert {len(p.partitions_subset.get_partition_keys()) for p in planned} == {3}
    # its checks: one evaluation per date, none left planned, none without a date, each
    # made against that date's materialization by the range run
    dates = {"2026-09-01", "2026-09-02", "2026-09-03"}
    checks = check_records(fresh_instance, defs)
    assert {p for _, p in checks} == dates
    assert set(map(tuple, checks.values())) == {(("SUCCEEDED", range_run.run_id),)}
    raw_check = dg.AssetCheckKey(dg.AssetKey(["raw", "fx_rates"]), "expectations")
    model_check = dg.AssetCheckKey(dg.AssetKey("mart_fx_daily"), "assert_rates_plausible")
    for check in (raw_check, model_check):
        assert stored(fresh_instance, check) == dict.fromkeys(
            dates, ("SUCCEEDED", range_run.run_id, range_run.run_id)
        )
    assert_frame_equal(_mart(fresh, "mart_fx_daily", "rate_date"), nightly_daily)
    assert_frame_equal(_mart(fresh, "mart_fx_monthly", "month_start"), nightly_monthly)


def _steps_up_for_retry(instance: dg.DagsterInstance) -> list[str]:
    """The step keys of the STEP_UP_FOR_RETRY events of every run of ``instance``."""
    return [
        entry.step_key or ""
        for run in instance.get_runs()
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    ]


def test_the_dbt_step_retries_while_another_process_holds_the_warehouse(settings, defs):
    """A warehouse file held by another process (a notebook opened on build.duckdb) fails
    the dbt step with DuckDB's lock error; the step is retried, not the run failed, and the
    retry builds once the file is free."""
    instance = dagster_instance(settings)
    deliver_date(settings.landing, D1)
    retried: list[str] = []

    def release_on_retry(release) -> None:
        """Let the file go once the dbt step has failed and is up for retry."""
        deadline = time.monotonic() + 120
        while not retried and time.monotonic() < deadline:
            retried.extend(_steps_up_for_retry(instance))
            time.sleep(0.2)
        release()

    with warehouse_held(settings.warehouse) as release:
        watcher = threading.Thread(target=release_on_retry, args=(release,))
        watcher.start()
        try:
            (outcome,) = run_dates(settings, defs, instance, D1, D1)
        finally:
            watcher.join()
    assert outcome.success, outcome.error
    assert retried == [DBT_ASSETS_NAME]
    assert latest_publication(settings.serving)["business_date_max"] == D1


def test_the_publish_writes_the_serving_storage_version_setting(settings):
    """CLIENTMART_SERVING_STORAGE_VERSION (Settings.serving_storage_version) reaches the
    publish: the serving file is in DuckDB 1.0's format by default and in 1.5's when set."""
    instance = dagster_instance(settings)
    deliver_date(settings.landing, D1)
    for version, tag in (("v1.0.0", "v1.0.0+"), ("v1.5.0", "v1.5.0+")):
        chosen = settings.model_copy(update={"serving_storage_version": version})
        (outcome,) = run_dates(chosen, build_definitions(chosen, FIXTURE_DBT), instance, D1, D1)
        assert outcome.success, outcome.error
        assert storage_format(serving_path(settings.serving)) == tag, version


def test_the_publish_runs_under_its_memory_limit_setting(settings):
    """CLIENTMART_PUBLISH_MEMORY_LIMIT (Settings.publish_memory_limit) reaches the publish:
    under 1 MB the run fails at the publish, at once (not retried), with an error that names
    the limit, and nothing is published; under the default the same date publishes."""
    starved = settings.model_copy(update={"publish_memory_limit": "1MB"})
    instance = dagster_instance(starved)
    deliver_date(starved.landing, D1)
    (failed,) = run_dates(starved, build_definitions(starved, FIXTURE_DBT), instance, D1, D1)
    assert not failed.success
    assert "memory limit 1MB (CLIENTMART_PUBLISH_MEMORY_LIMIT)" in failed.error
    assert latest_publication(starved.serving) is None
    assert not _steps_up_for_retry(instance)

    (published,) = run_dates(settings, build_definitions(settings, FIXTURE_DBT), instance, D1, D1)
    assert published.success, published.error
    assert latest_publication(settings.serving)["business_date_max"] == D1


def test_a_file_no_feed_takes_is_warned_of_audited_and_alerted_once(settings, defs):
    """A file delivered for the date outside every feed's delivery folder is not read and does
    not hold the date back; the run says so (a warning), the audit records it, and the alert
    is raised the first time only."""
    instance = dagster_instance(settings)
    deliver_date(settings.landing, D1)
    stray = settings.landing / "payrol" / "20260901" / "p.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("employer_client_id,batch_id\n", encoding="utf-8")
    for _ in range(2):  # the date again: warned again, audited and alerted once
        (outcome,) = run_dates(settings, defs, instance, D1, D1)
        assert outcome.success
        log = [e.user_message for e in instance.all_logs(outcome.run_id)]
        said = "payrol/20260901/p.csv: not read (not_a_feed): payrol is not a feed of the "
        assert any(m.startswith(said) and "did you mean payroll?" in m for m in log), log
    alerts = [a for a in read_alerts(settings.alerts) if a["kind"] == "unread_delivery"]
    assert [(a["business_date"], a["details"]["files"][0]["path"]) for a in alerts] == [
        ("2026-09-01", "payrol/20260901/p.csv")
    ]
    audit = store.read_audit(settings.raw, D1, "payrol")
    assert audit.select("file_name", "status").rows() == [("p.csv", "refused")]


def test_a_range_alerts_once_for_the_files_no_feed_takes_on_its_dates(settings, defs):
    instance = dagster_instance(settings)
    for day in (D1, D2):
        deliver_date(settings.landing, day)
        stray = settings.landing / "payrol" / f"{day:%Y%m%d}" / "p.csv"
        stray.parent.mkdir(parents=True)
        stray.write_text("employer_client_id,batch_id\n", encoding="utf-8")
    outcomes = backfill(settings, defs, instance, D1, D2)
    assert [o.success for o in outcomes] == [True]
    (alert,) = [a for a in read_alerts(settings.alerts) if a["kind"] == "unread_delivery"]
    assert alert["business_date"] == "2026-09-01..2026-09-02"
    assert [f["path"] for f in alert["details"]["files"]] == [
        "payrol/20260901/p.csv",
        "payrol/20260902/p.csv",
    ]
