"""A run for a date the job has no partition for (its day has not begun in the bank's time
zone, or it is before the first business date) is refused whole, before anything runs, with
a message naming the date and the bound; Dagster alone stopped with an unknown partition key
after the dates before it had run."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import clientmart.cli as cli
from clientmart.settings import Settings
from orchestration.partitions import business_date_bounds
from orchestration.runner import BusinessDateError, backfill, dagster_instance, run_dates


def _today(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()


def test_the_job_runs_from_the_first_business_date_to_today_in_the_bank_time_zone(settings):
    assert business_date_bounds(settings) == (dt.date(2026, 9, 1), _today(settings))
    later = settings.model_copy(update={"first_business_date": "2999-01-01"})
    first, last = business_date_bounds(later)
    assert last < first  # no partition yet: no date runs


def test_a_range_reaching_past_today_is_refused_before_its_first_date_runs(settings, defs):
    instance = dagster_instance(settings)
    today = _today(settings)
    with pytest.raises(BusinessDateError) as error:
        backfill(settings, defs, instance, today - dt.timedelta(days=2), today + dt.timedelta(3))
    message = str(error.value)
    assert f"business date {today + dt.timedelta(3)} has not begun yet" in message
    assert f"the last business date the job runs now is {today}" in message
    assert "CLIENTMART_TIMEZONE" in message and "nothing was run" in message
    with pytest.raises(BusinessDateError, match="has not begun yet"):
        run_dates(settings, defs, instance, today, today + dt.timedelta(days=1))
    assert instance.get_runs() == []  # nothing ran, not even the dates before


def test_a_date_before_the_first_business_date_is_refused(settings, defs):
    instance = dagster_instance(settings)
    with pytest.raises(BusinessDateError) as error:
        run_dates(settings, defs, instance, dt.date(2026, 8, 31), dt.date(2026, 9, 2))
    assert str(error.value).startswith(
        "business date 2026-08-31 is before 2026-09-01, the first business date of this "
        "pipeline (CLIENTMART_FIRST_BUSINESS_DATE)"
    )
    assert instance.get_runs() == []


def test_the_cli_says_so_in_one_line_instead_of_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_load_pipeline", lambda settings: (None, None))  # not reached
    tomorrow = _today(Settings()) + dt.timedelta(days=1)
    for command in (
        ["run", "--date", tomorrow.isoformat()],
        ["backfill", "--from", "2026-01-01", "--to", tomorrow.isoformat()],
    ):
        result = CliRunner().invoke(cli.main, [*command, "--home", str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert f"Error: business date {tomorrow} has not begun yet" in result.output
        assert "Traceback" not in result.output
