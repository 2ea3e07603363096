"""Freshness: every mart and the publication hold yesterday's business date by 07:00.

Dagster's ``build_time_partition_freshness_checks`` expects the partition of the last
window its partitions definition holds at the deadline. The business-date partitions hold
today's date too (``end_offset=1``, so a same-day delivery can run), so at 07:00 on D it
expected D, which the night of D builds only at 02:00 on D+1: the checks were red from
07:00 to 02:00 every day and could not show a night that never ran. These checks expect the
date before the deadline's, as the runbook says.

Their results carry Dagster's ``fresh_until`` metadata, so Dagster's freshness sensor
(``build_freshness_sensor``) evaluates them as it does its own: once a deadline passes, and
after a failure only when the asset is materialized again.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

import dagster as dg

CHECK_NAME = "freshness_check"
DEADLINE = dt.time(7)
# read by Dagster's freshness sensor: when a passed check can be overdue again
FRESH_UNTIL = "dagster/fresh_until_timestamp"


def expected_business_date(now: dt.datetime, deadline: dt.time = DEADLINE) -> dt.date:
    """The business date that must be built by now: the day before the latest deadline
    passed (``now`` is in the bank's time zone)."""
    passed = now.date() if now.time() >= deadline else now.date() - dt.timedelta(days=1)
    return passed - dt.timedelta(days=1)


def next_deadline(now: dt.datetime, deadline: dt.time = DEADLINE) -> dt.datetime:
    today = dt.datetime.combine(now.date(), deadline, now.tzinfo)
    return today if today > now else today + dt.timedelta(days=1)


def _now(zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.now(zone)


def freshness_results(
    instance: dg.DagsterInstance,
    check_keys: Iterable[dg.AssetCheckKey],
    now: dt.datetime,
    first_business_date: dt.date,
) -> list[dg.AssetCheckResult]:
    """One result per check: passed when the asset has a materialization of the expected
    business date (or none is expected yet, before the first business date)."""
    expected = expected_business_date(now)
    results = []
    for key in check_keys:
        if expected < first_business_date:
            passed = True
            text = f"No business date is due yet (the first is {first_business_date})."
        else:
            found = instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=key.asset_key, asset_partitions=[expected.isoformat()]
                ),
                limit=1,
            )
            passed = bool(found.records)
            text = (
                f"Business date {expected} is built."
                if passed
                else f"Business date {expected} is not built, and was due by "
                f"{DEADLINE:%H:%M} on {expected + dt.timedelta(days=1)}."
            )
        metadata: dict[str, dg.RawMetadataValue] = {"expected_business_date": str(expected)}
        if passed:
            metadata[FRESH_UNTIL] = dg.TimestampMetadataValue(next_deadline(now).timestamp())
        results.append(
            dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=text,
                metadata=metadata,
            )
        )
    return results


def build_freshness_checks(
    asset_keys: Sequence[dg.AssetKey], timezone: str, first_business_date: str
) -> list[dg.AssetChecksDefinition]:
    """A ``freshness_check`` on each asset: is yesterday's business date built by 07:00 in
    the bank's time zone (see the module's docstring)."""
    zone = ZoneInfo(timezone)
    first = dt.date.fromisoformat(first_business_date)

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=key,
                description=f"Yesterday's business date is built by {DEADLINE:%H:%M} {timezone}.",
            )
            for key in asset_keys
        ],
        can_subset=True,
        name="mart_freshness_checks",
    )
    def freshness(context: dg.AssetCheckExecutionContext) -> Iterable[dg.AssetCheckResult]:
        yield from freshness_results(
            context.instance, context.selected_asset_check_keys, _now(zone), first
        )

    return [freshness]
