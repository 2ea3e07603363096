"""A date that fails because a delivery was refused says which file and why, in the run's
log, the CLI's error, the alert and the asset check, not only "raw/<feed>: expectations"
(Dagster's message for a failed blocking check names the check, not its reason; the reason
was only in the ingest audit); and a failed range says it built none of its dates."""

from __future__ import annotations

import datetime as dt
import json

import click
import dagster as dg
import pytest
from fixture_deliveries import deliver_date

from clientmart.cli import _finish
from clientmart.settings import Settings
from orchestration.defs.ingest.assets import EXPECTATIONS_CHECK, raw_key
from orchestration.defs.pipeline.jobs import failed_check_reasons
from orchestration.runner import RunOutcome, backfill, dagster_instance, run_dates

D1 = dt.date(2026, 9, 1)
REASON = (
    "fx_rates/20260901/fx_rates_20260901.csv: control count 3 disagrees with 1 records in "
    "the file; re-deliver the file and its .ok"
)


def test_a_refused_delivery_names_its_file_and_reason_in_the_error_and_the_alert(settings, defs):
    deliver_date(settings.landing, D1)
    ok = settings.landing / "fx_rates" / "20260901" / "fx_rates_20260901.csv.ok"
    ok.write_text("3\n", encoding="ascii")  # the file holds one record
    instance = dagster_instance(settings)

    (outcome,) = run_dates(settings, defs, instance, D1, D1)

    assert not outcome.success
    assert "raw/fx_rates: expectations" in outcome.error
    assert REASON in outcome.error
    (alert,) = [json.loads(p.read_text()) for p in settings.alerts.glob("*.json")]
    assert alert["kind"] == "run_failure" and REASON in alert["message"]
    # Dagster's module path is not part of what the on-call reads
    assert "dagster._core" not in outcome.error and "dagster._core" not in alert["message"]
    (evaluation,) = [
        r.event_log_entry.dagster_event.event_specific_data
        for r in instance.get_records_for_run(
            outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        if r.event_log_entry.dagster_event.event_specific_data.asset_key == raw_key("fx_rates")
    ]
    assert evaluation.check_name == EXPECTATIONS_CHECK and not evaluation.passed
    assert REASON in evaluation.description
    assert failed_check_reasons(instance, outcome.run_id) == [
        f"raw/fx_rates {EXPECTATIONS_CHECK}: {evaluation.description}"
    ]
    log = "\n".join(e.user_message for e in instance.all_logs(outcome.run_id))
    assert f"fx_rates 2026-09-01: refused; 0 kept, 0 quarantined — NOT OK: {REASON}" in log

    # the daemon's path: the run-failure sensor alerts with the same reasons
    for path in settings.alerts.glob("*.json"):
        path.unlink()
    failure = next(
        e.dagster_event
        for e in instance.all_logs(outcome.run_id)
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(outcome.run_id),
    )
    defs.resolve_sensor_def("run_failure_alert")(context.for_run_failure())
    (alert,) = [json.loads(p.read_text()) for p in settings.alerts.glob("*.json")]
    assert f"raw/fx_rates {EXPECTATIONS_CHECK}: {REASON}" in alert["message"]


def test_the_cli_says_a_failed_range_built_none_of_its_dates(tmp_path) -> None:
    """A backfill range runs as one run: when it fails, no date of it is built, and the CLI
    says so instead of naming its first date as if the others had run."""
    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 4)
    settings = Settings(home=tmp_path)
    with pytest.raises(click.ClickException) as failed_range:
        _finish([RunOutcome("r1", first, last, False, "boom")], settings)
    assert "the range 2026-10-01..2026-10-04 failed as one run" in failed_range.value.message
    with pytest.raises(click.ClickException) as failed_date:
        _finish([RunOutcome("r2", first, first, False, "boom")], settings)
    assert failed_date.value.message.startswith("2026-10-01 failed; later dates were not run")


def test_a_range_with_one_refused_date_fails_that_dates_check_only(settings, defs):
    """A backfill range is one run, but its ingest checks are stored per business date: the
    UI shows the date whose delivery was refused as failed, with its reason, and the other
    dates as passed, not the whole range as one failure (nor any date left "planned")."""
    days = [D1 + dt.timedelta(days=i) for i in range(3)]
    for day in days:
        deliver_date(settings.landing, day)
    ok = settings.landing / "fx_rates" / "20260902" / "fx_rates_20260902.csv.ok"
    ok.write_text("3\n", encoding="ascii")  # the file holds one record
    instance = dagster_instance(settings)

    (outcome,) = backfill(settings, defs, instance, days[0], days[-1])

    assert not outcome.success
    check = dg.AssetCheckKey(raw_key("fx_rates"), EXPECTATIONS_CHECK)
    stored = {
        r.partition: (r.status.value, r.event.dagster_event.event_specific_data.description)
        for r in instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
    }
    reason = REASON.replace("20260901", "20260902")
    assert stored == {
        "2026-09-01": ("SUCCEEDED", None),
        "2026-09-02": ("FAILED", reason),
        "2026-09-03": ("SUCCEEDED", None),
    }
    assert failed_check_reasons(instance, outcome.run_id) == [
        f"raw/fx_rates {EXPECTATIONS_CHECK}: {reason}"
    ]
