"""Daily partitions by business date, monthly ones for monthly feeds, and a run's range.

A run covers one business date (nightly) or a contiguous range (backfill, run as one run
under ``BackfillPolicy.single_run()``); every step reads its range from the context the
same way, so ingest loops over the dates in order and dbt gets them as start/end vars.
Monthly feeds (RM targets) are partitioned by month: a month run ingests every delivery of
the month; a daily partition depends on the month partition holding it.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import dagster as dg

from clientmart.settings import Settings
from orchestration.chosen_apis import chosen

BACKFILL_POLICY = dg.BackfillPolicy.single_run()


def single_run_backfills() -> contextlib.AbstractContextManager[None]:
    """Around an ``@dg.asset`` given ``BACKFILL_POLICY``: Dagster 1.13 marks that parameter
    of ``asset`` beta (not of ``multi_asset``). A range as one run is this project's design
    (orchestration/chosen_apis.py); a Dagster upgrade that changes the policy fails
    tests/orchestration."""
    return chosen(dg.BetaWarning, "Parameter `backfill_policy`")


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per business date; today's exists so a same-day delivery can run."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.first_business_date, timezone=settings.timezone, end_offset=1
    )


def business_date_bounds(settings: Settings) -> tuple[dt.date, dt.date]:
    """First and last business date the job runs now: CLIENTMART_FIRST_BUSINESS_DATE, and
    today in the bank's time zone (a date's partition exists once its day has begun there)."""
    first = dt.date.fromisoformat(settings.first_business_date)
    last = daily_partitions(settings).get_last_partition_key()
    # no partition yet (a first business date still to come): no date runs
    return first, dt.date.fromisoformat(last) if last else first - dt.timedelta(days=1)


def partition_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last business date (inclusive) of the partitions this step materialises."""
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()


def dates_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def partition_key(date: dt.date) -> str:
    return date.isoformat()


def month_partition_key(date: dt.date) -> str:
    """The monthly partition holding ``date`` (its key is the month's first day)."""
    return date.replace(day=1).isoformat()


def monthly_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    """One partition per month (key: its first day). The current month's and the next
    month's exist: targets for month M are planned, and may be delivered, during M-1."""
    first = dt.date.fromisoformat(settings.first_business_date).replace(day=1)
    return dg.MonthlyPartitionsDefinition(
        start_date=first.isoformat(), timezone=settings.timezone, end_offset=2
    )


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of every month from ``start``'s to ``end``'s (inclusive)."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months
