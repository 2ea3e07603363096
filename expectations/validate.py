"""Run a feed's suite on the batch ingest is about to publish (in memory, pandas batch).

GX's SQL datasource returns empty results with duckdb-engine (GX issue #11579), so the batch is
validated as a pandas DataFrame. Only the contract columns are handed over (lineage columns are
pruned) and decimals go as float64: the exact values stay in polars/Parquet; GX gives the
verdict on ranges, sets, nulls, keys and counts.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import polars as pl

from ingest.spec import Feed

VACUOUS_WHEN_EMPTY = ("expect_column_min_to_be_between", "expect_column_max_to_be_between")


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    observed_value: str | None = None


@dataclass
class ValidationSummary:
    """What orchestration puts into asset-check metadata."""

    suite: str
    success: bool
    rows: int
    results: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def to_metadata(self) -> dict[str, object]:
        return {
            "suite": self.suite,
            "success": self.success,
            "rows": self.rows,
            "evaluated": len(self.results),
            "failed": [
                f"{r.expectation}({r.column or ''}): {r.unexpected_count}" for r in self.failed
            ],
        }

    @staticmethod
    def combine(feed: str, summaries: list[ValidationSummary]) -> ValidationSummary:
        from expectations.suites import suite_name

        return ValidationSummary(
            suite=suite_name(feed),
            success=all(s.success for s in summaries),
            rows=sum(s.rows for s in summaries),
            results=[r for s in summaries for r in s.results],
        )


def _date_window(feed: Feed, business_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if feed.grain == "monthly":
        last = calendar.monthrange(business_date.year, business_date.month)[1]
        low, high = business_date.replace(day=1), business_date.replace(day=last)
    else:
        low = high = business_date
    return dt.datetime.combine(low, dt.time()), dt.datetime.combine(high, dt.time())


def to_batch(  # noqa: ANN201 - pandas DataFrame
    frame: pl.DataFrame, feed: Feed, references: Mapping[str, pl.Series]
):
    """The pruned pandas batch: contract columns present in ``frame``, decimals as float64,
    plus one flag column per reference rule (code missing from the reference in force)."""
    from expectations.suites import reference_flag

    cols = [c for c in feed.columns if c.name in frame.columns]
    flags = [
        (
            pl.col(c.name).is_not_null()
            & ~pl.col(c.name).is_in(
                references.get(c.references, pl.Series([], dtype=pl.String)).implode()
            )
        ).alias(reference_flag(c.name, c.references))
        for c in cols
        if c.references is not None and frame.schema[c.name] == pl.String
    ]
    batch = frame.select(
        *(
            pl.col(c.name).cast(pl.Float64)
            if isinstance(frame.schema[c.name], pl.Decimal)
            else pl.col(c.name)
            for c in cols
        ),
        *flags,
    ).to_pandas()
    for col in cols:
        if frame.schema[col.name] == pl.String:  # GX's type check knows pandas' StringDtype
            batch[col.name] = batch[col.name].astype(pd.StringDtype())
    return batch


def validate_batch(
    feed: Feed,
    frame: pl.DataFrame,
    business_date: dt.date,
    expected_rows: int,
    references: Mapping[str, pl.Series],
) -> ValidationSummary:
    """Validate ``frame`` (typed records of one delivery) against the feed's suite."""
    from expectations.suites import DATASOURCE, runtime_context, suite_name

    context = runtime_context()
    suite = context.suites.get(suite_name(feed.name))
    batch = (
        context.data_sources.get(DATASOURCE)
        .get_asset(feed.name)
        .get_batch_definition("delivery")
        .get_batch(batch_parameters={"dataframe": to_batch(frame, feed, references)})
    )
    low, high = _date_window(feed, business_date)
    params: dict[str, object] = {"expected_rows": expected_rows, "date_min": low, "date_max": high}
    result = batch.validate(suite, expectation_parameters=params, result_format="BASIC")
    outcomes = []
    for r in result.results:
        kwargs = r.expectation_config.kwargs
        column = kwargs.get("column") or (
            ",".join(kwargs["column_list"]) if "column_list" in kwargs else None
        )
        observed = r.result.get("observed_value")
        # a header-only delivery has no min or max date: the window rule holds vacuously
        vacuous = frame.height == 0 and r.expectation_config.type in VACUOUS_WHEN_EMPTY
        outcomes.append(
            ExpectationOutcome(
                expectation=r.expectation_config.type,
                column=column,
                success=bool(r.success) or vacuous,
                unexpected_count=r.result.get("unexpected_count"),
                observed_value=None if observed is None else str(observed),
            )
        )
    success = all(o.success for o in outcomes)
    return ValidationSummary(suite.name, success, frame.height, outcomes)
