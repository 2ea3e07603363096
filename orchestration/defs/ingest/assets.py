"""One asset per landing feed (its raw-layer table), with a blocking expectations check each.

Daily feeds: a single step ingests every selected feed for every business date of the run,
date by date in order and reference data first within a date, because feeds check their
references against the reference data in force on that date. The step refuses to start
when a required feed is missing or when an earlier date failed (later dates wait for it).

Monthly feeds (RM targets): monthly partitions and a step of their own (the month job):
a month run ingests every delivery folder of the month. The daily dbt models depend on the
month partition holding their date.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from expectations.validate import build_data_docs
from ingest.landing import month_delivery_key, monthly_feeds
from ingest.pipeline import (
    FeedResult,
    dependency_order,
    ensure_schemas,
    ingest_feed,
    ingest_month,
    record_stray_files,
)
from ingest.spec import load_feeds
from ingest.stray import StrayFile
from orchestration.alerts import write_alert
from orchestration.check_results import CheckReporter, Verdict, partitioned_spec
from orchestration.delivery import MissingDeliveryError, check_delivery
from orchestration.gating import (
    delivery_tag,
    failed_dates_before,
    month_delivery_tag,
    parse_allowed,
)
from orchestration.partitions import (
    BACKFILL_POLICY,
    dates_between,
    month_partition_key,
    months_between,
    partition_dates,
    partition_key,
)
from orchestration.resources import ClientmartResource

EXPECTATIONS_CHECK = "expectations"
# File-system hiccups and a warehouse/raw file held by another process are worth retrying;
# bad data and missing deliveries are raised as Failure(allow_retries=False).
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def raw_key(feed: str) -> dg.AssetKey:
    """The asset key of a feed's raw-layer table."""
    return dg.AssetKey(["raw", feed])


def _file_metadata(result: FeedResult) -> list[dict[str, Any]]:
    return [
        {
            "file": f.file_name,
            "status": f.status,
            "records_read": f.records_read,
            "records_kept": f.records_kept,
            "records_quarantined": f.records_quarantined,
            "message": f.message,
        }
        for f in result.files
    ]


def feed_outcome(results: list[FeedResult]) -> tuple[bool, dict[str, Any]]:
    """Verdict and metadata of one feed over the run's dates (all dates must be ok)."""
    per_date = {
        r.business_date.isoformat(): {
            "ok": r.ok,
            "files": _file_metadata(r),
            "pending": r.pending,
            "validation": r.validation.to_metadata() if r.validation else None,
        }
        for r in results
    }
    return all(r.ok for r in results), per_date


def _specs(
    names: list[str], partitions_def: dg.PartitionsDefinition
) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    feeds = load_feeds()
    specs = [
        dg.AssetSpec(
            raw_key(name),
            group_name="raw",
            description=f"Raw-layer Parquet of the {name} feed ({feeds[name].kind}, "
            f"{feeds[name].grain}): one folder per business date (docs/raw-layer.md).",
            kinds={"parquet", "polars"},
            skippable=True,
        )
        for name in names
    ]
    checks = [
        partitioned_spec(
            dg.AssetCheckSpec(
                EXPECTATIONS_CHECK,
                asset=raw_key(name),
                blocking=True,
                description="great-expectations suite of the feed on the date's batches, plus "
                "the delivery-level rules (control count, decodable, share of bad records).",
            ),
            partitions_def,
        )
        for name in names
    ]
    return specs, checks


def _finish(
    context: dg.AssetExecutionContext,
    settings: Any,
    results: dict[str, list[FeedResult]],
    delivered: dict[str, str],
    partition_of: Callable[[dt.date], str],
) -> Iterator:
    """The end of an ingest step: tag the run with the delivery keys it built (so the
    arrival sensor does not request them again), render the data docs once per run (each
    feed's latest validation), and yield each feed's materialization and check."""
    context.instance.add_run_tags(context.run.run_id, delivered)
    docs = build_data_docs(settings)
    context.log.info(f"great-expectations data docs: {docs}")
    yield from _outcomes(context, results, partition_of)


def _outcomes(
    context: dg.AssetExecutionContext,
    results: dict[str, list[FeedResult]],
    partition_of: Callable[[dt.date], str],
) -> Iterator:
    """A materialization of each feed over the run's results, and its expectations check
    for each partition of the run (``partition_of`` a result's business date) from that
    partition's results alone: a range with one bad date fails that date's check."""
    checks = CheckReporter(context)
    for name, feed_results in results.items():
        _, per_date = feed_outcome(feed_results)
        rows = sum(f.records_kept for r in feed_results for f in r.files)
        yield dg.MaterializeResult(
            asset_key=raw_key(name),
            metadata={"records_kept": rows, "dates": dg.MetadataValue.json(per_date)},
        )
        by_partition: dict[str, list[FeedResult]] = {key: [] for key in context.partition_keys}
        for result in feed_results:
            by_partition[partition_of(result.business_date)].append(result)
        yield from checks.evaluations(
            dg.AssetCheckKey(raw_key(name), EXPECTATIONS_CHECK),
            {key: _verdict(key_results) for key, key_results in by_partition.items()},
        )


def _verdict(results: list[FeedResult]) -> Verdict:
    passed, per_date = feed_outcome(results)
    problems = [p for r in results for p in r.problems]
    return Verdict(
        passed,
        {"dates": dg.MetadataValue.json(per_date)},
        # the reasons reach the run's error and its alert (failed_check_reasons)
        "; ".join(problems) if problems else None,
    )


def daily_feed_names() -> list[str]:
    """Every feed but the monthly ones, in dependency order."""
    monthly = monthly_feeds()
    return [n for n in dependency_order(load_feeds()) if n not in monthly]


def build_ingest_assets(
    partitions_def: dg.PartitionsDefinition, job_name: str
) -> dg.AssetsDefinition:
    """The daily feeds: one step for every business date of the run."""
    order = daily_feed_names()
    specs, checks = _specs(order, partitions_def)

    @dg.multi_asset(
        name="raw_feeds",
        specs=specs,
        check_specs=checks,
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        retry_policy=TRANSIENT_RETRY,
        can_subset=True,
    )
    def raw_feeds(context: dg.AssetExecutionContext, clientmart: ClientmartResource) -> Iterator:
        settings = clientmart.settings()
        start, end = partition_dates(context)
        waiting = failed_dates_before(
            context.instance, job_name, start, parse_allowed(context.run.tags)
        )
        if waiting:
            listed = ", ".join(d.isoformat() for d in waiting)
            raise dg.Failure(
                f"business date {start} waits for earlier failed date(s) {listed}: re-run them "
                f"(clientmart run --date {waiting[0]}) or allow past them "
                f"(clientmart run --date {start} --allow-past {waiting[0]})",
                allow_retries=False,
            )
        selected = [n for n in order if raw_key(n) in context.selected_asset_keys]
        ensure_schemas(settings)
        results: dict[str, list[FeedResult]] = {n: [] for n in selected}
        delivered: dict[str, str] = {}
        unread: list[StrayFile] = []
        for date in dates_between(start, end):
            delivered[delivery_tag(date)] = _check_complete(settings.landing, date)
            for name in selected:
                result = ingest_feed(settings, name, date)
                results[name].append(result)
                context.log.info(_summary_line(result))
            unread += _stray_files(context, settings, date)
        _alert_unread(settings, start, end, unread)
        yield from _finish(context, settings, results, delivered, partition_key)

    return raw_feeds


def build_monthly_ingest_assets(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The monthly feeds: one step for every month of the run, every delivery of the month."""
    order = [n for n in dependency_order(load_feeds()) if n in monthly_feeds()]
    specs, checks = _specs(order, partitions_def)

    @dg.multi_asset(
        name="raw_monthly_feeds",
        specs=specs,
        check_specs=checks,
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        retry_policy=TRANSIENT_RETRY,
        can_subset=True,
    )
    def raw_monthly_feeds(
        context: dg.AssetExecutionContext, clientmart: ClientmartResource
    ) -> Iterator:
        settings = clientmart.settings()
        start, end = partition_dates(context)
        selected = [n for n in order if raw_key(n) in context.selected_asset_keys]
        ensure_schemas(settings)
        results: dict[str, list[FeedResult]] = {n: [] for n in selected}
        delivered: dict[str, str] = {}
        for month in months_between(start, end):
            key = month_delivery_key(settings.landing, month)
            if key is not None:
                delivered[month_delivery_tag(month)] = key
            for name in selected:
                for result in ingest_month(settings, name, month):
                    results[name].append(result)
                    context.log.info(_summary_line(result))
                if not results[name]:
                    context.log.info(f"{name} {month:%Y-%m}: nothing delivered")
        yield from _finish(context, settings, results, delivered, month_partition_key)

    return raw_monthly_feeds


def _stray_files(
    context: dg.AssetExecutionContext, settings: Any, date: dt.date
) -> list[StrayFile]:
    """Files delivered for the date that no feed takes (ingest/stray.py): a warning each,
    every run of the date; returns those seen for the first time, which the audit now holds.
    Not blocking: they are not read, and the date runs on what the feeds delivered."""
    found, new = record_stray_files(settings, date)
    for stray in found:
        context.log.warning(stray.report)
    return new


def _alert_unread(settings: Any, start: dt.date, end: dt.date, new: list[StrayFile]) -> None:
    """One ``unread_delivery`` alert for a run's first sightings, however many dates it has
    (a misnamed folder repeats on every date of a range)."""
    if not new:
        return
    dates = start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
    write_alert(
        settings.alerts,
        "unread_delivery",
        f"{len(new)} file(s) delivered for {dates} that no feed takes, not read: "
        + "; ".join(f"{s.source} ({s.rule})" for s in new[:5])
        + (f"; and {len(new) - 5} more" if len(new) > 5 else ""),
        business_date=dates,
        details={"files": [{"path": s.source, "rule": s.rule, "advice": s.message} for s in new]},
        webhook_url=settings.alert_webhook_url,
    )


def _check_complete(landing: Any, date: dt.date) -> str:
    try:
        return check_delivery(landing, date).run_key(exclude=monthly_feeds())
    except MissingDeliveryError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def _summary_line(result: FeedResult) -> str:
    kept = sum(f.records_kept for f in result.files)
    bad = sum(f.records_quarantined for f in result.files)
    statuses = ",".join(sorted({f.status for f in result.files})) or "nothing delivered"
    line = f"{result.feed} {result.business_date}: {statuses}; {kept} kept, {bad} quarantined"
    return line if result.ok else f"{line} — NOT OK: " + "; ".join(result.problems)
