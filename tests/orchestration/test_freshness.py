"""The freshness checks: every mart and the publication hold yesterday's business date by
07:00 in the bank's time zone (docs/runbook.md), run through Dagster as its sensor runs them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public API

from orchestration.defs.serving import freshness
from orchestration.defs.serving.assets import SERVING_KEY

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [
        ("2026-10-07 00:30", "2026-10-05"),  # the night of 10-06 is still to run
        ("2026-10-07 06:59", "2026-10-05"),
        ("2026-10-07 07:00", "2026-10-06"),
        ("2026-10-07 23:30", "2026-10-06"),
    ],
)
def test_the_date_due_is_the_day_before_the_last_deadline(local_time: str, expected: str):
    now = dt.datetime.fromisoformat(local_time).replace(tzinfo=SHANGHAI)
    assert freshness.expected_business_date(now) == dt.date.fromisoformat(expected)


def _evaluate(defs, instance, monkeypatch, local_time: str) -> dict[str, tuple[bool, str]]:
    now = dt.datetime.fromisoformat(local_time).replace(tzinfo=SHANGHAI)
    monkeypatch.setattr(freshness, "_now", lambda zone: now.astimezone(zone))
    keys = [
        dg.AssetCheckKey(SERVING_KEY, freshness.CHECK_NAME),
        dg.AssetCheckKey(dg.AssetKey("mart_fx_daily"), freshness.CHECK_NAME),
    ]
    probe = dg.define_asset_job("freshness_probe", selection=dg.AssetSelection.checks(*keys))
    with set_defs_state_storage(instance.defs_state_storage):
        job = dg.Definitions.merge(defs, dg.Definitions(jobs=[probe])).resolve_job_def(
            "freshness_probe"
        )
        result = job.execute_in_process(instance=instance)
    return {
        e.asset_key.to_user_string(): (e.passed, e.description)
        for e in result.get_asset_check_evaluations()
    }


def test_yesterdays_date_built_is_fresh_all_day_and_overdue_the_next_morning(defs, monkeypatch):
    """Dagster's time-partition checks expected today's date (the partitions hold it, so a
    same-day delivery can run): red from 07:00 until the night ran at 02:00 the next day."""
    assert "mart_fx_daily" in {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    instance = dg.DagsterInstance.ephemeral()
    for key in (SERVING_KEY, dg.AssetKey("mart_fx_daily")):
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2026-10-06"))

    for morning in ("2026-10-07 07:30", "2026-10-07 23:59", "2026-10-08 06:59"):
        got = _evaluate(defs, instance, monkeypatch, morning)
        assert got == {
            "serving_publication": (True, "Business date 2026-10-06 is built."),
            "mart_fx_daily": (True, "Business date 2026-10-06 is built."),
        }, morning

    overdue = _evaluate(defs, instance, monkeypatch, "2026-10-08 07:00")
    assert overdue["serving_publication"] == (
        False,
        "Business date 2026-10-07 is not built, and was due by 07:00 on 2026-10-08.",
    )


def test_nothing_is_due_before_the_first_business_date(defs, monkeypatch):
    instance = dg.DagsterInstance.ephemeral()
    got = _evaluate(defs, instance, monkeypatch, "2026-09-01 08:00")  # first date: 09-01
    assert {passed for passed, _ in got.values()} == {True}
