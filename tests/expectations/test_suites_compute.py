"""The suites really compute on this stack: every expectation fails on purpose.

GX's SQL datasource returns empty results with duckdb-engine (GX issue #11579); ingest validates
in-memory pandas batches instead, and these tests prove each expectation sees the data.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from expectations.suites import PROJECT_DIR, build_suite, suite_name
from expectations.validate import validate_batch
from ingest.rules import POLARS_TYPES
from ingest.spec import Column, Feed, load_feeds

DAY = dt.date(2026, 10, 1)
STRUCTURAL = ("expect_column_to_exist", "expect_column_values_to_be_in_type_list")


def good(col: Column, feed: Feed) -> object:
    if col.values is not None:
        return col.values[0]
    if col.type in ("date", "month"):
        return DAY
    if col.type == "decimal":
        return Decimal("5")
    if col.type == "integer":
        return 5
    return "KNOWN"


def bad(col: Column, feed: Feed) -> object:
    if col.type in ("date", "month"):
        return DAY - dt.timedelta(days=400)
    if col.type == "decimal":
        return Decimal("-5") if col.min is not None else Decimal("5")
    if col.type == "integer":
        return 99 if col.values is not None or col.max is not None else -5
    return "UNKNOWN"


def violating_frame(feed: Feed) -> pl.DataFrame:
    """Row 1 all null, row 2 every value out of contract, rows 3-4 the same key, row 5 dates
    after the delivery's window."""
    late = DAY + dt.timedelta(days=400)
    data = {
        c.name: [
            None,
            bad(c, feed),
            good(c, feed),
            good(c, feed),
            late if c.type in ("date", "month") else good(c, feed),
        ]
        for c in feed.columns
    }
    return pl.DataFrame(data, schema={c.name: POLARS_TYPES[c.type] for c in feed.columns})


@pytest.mark.parametrize("feed_name", list(load_feeds()))
def test_every_value_expectation_fails_on_purpose(feed_name):
    feed = load_feeds()[feed_name]
    references = {c.references: pl.Series(["KNOWN"]) for c in feed.columns if c.references}
    summary = validate_batch(feed, violating_frame(feed), DAY, 999, references)
    value_results = [r for r in summary.results if r.expectation not in STRUCTURAL]
    assert not summary.success and len(value_results) >= 2
    for outcome in value_results:
        assert not outcome.success, outcome
        if outcome.expectation == "expect_table_row_count_to_equal":
            assert outcome.observed_value == "5"
        elif outcome.expectation.startswith(("expect_column_min", "expect_column_max")):
            assert outcome.observed_value is not None
        else:
            assert outcome.unexpected_count and outcome.unexpected_count > 0, outcome


@pytest.mark.parametrize("feed_name", ["deposit_balances", "contacts", "rm_targets"])
def test_every_structural_expectation_fails_on_purpose(feed_name):
    feed = load_feeds()[feed_name]
    dropped = feed.columns[0].name
    wrong = pl.DataFrame(
        {c.name: ["x"] if c.type != "string" else [1] for c in feed.columns if c.name != dropped}
    )
    summary = validate_batch(feed, wrong, DAY, 1, {})
    exists = {r.column: r.success for r in summary.results if r.expectation == STRUCTURAL[0]}
    types = {r.column: r.success for r in summary.results if r.expectation == STRUCTURAL[1]}
    # only a required column has a "column exists" expectation (an optional one may be absent)
    assert exists == {c.name: c.name != dropped for c in feed.columns if c.required}
    assert types == {c.name: False for c in feed.columns}


@pytest.mark.parametrize("feed_name", list(load_feeds()))
def test_a_clean_batch_passes(feed_name):
    feed = load_feeds()[feed_name]
    frame = violating_frame(feed).slice(2, 1)
    references = {c.references: pl.Series(["KNOWN"]) for c in feed.columns if c.references}
    summary = validate_batch(feed, frame, DAY, 1, references)
    assert summary.success, summary.failed


def test_committed_suites_match_the_contract():
    folder = PROJECT_DIR / "gx" / "expectations"
    for feed in load_feeds().values():
        committed = json.loads((folder / f"{suite_name(feed.name)}.json").read_text())
        built = build_suite(feed).to_json_dict()
        strip = [{k: v for k, v in e.items() if k not in ("id",)} for e in built["expectations"]]
        on_disk = [
            {k: v for k, v in e.items() if k not in ("id",)} for e in committed["expectations"]
        ]
        assert on_disk == strip, f"rebuild with: python -m expectations.suites ({feed.name})"
    assert Path(PROJECT_DIR / "gx" / "great_expectations.yml").exists()


def test_building_a_suite_never_writes_to_the_running_context():
    """GX's add_expectation writes through to a saved suite of the same name: building the
    suites again (tests, ``python -m expectations.suites``) must not double them."""
    from expectations.suites import runtime_context

    feed = load_feeds()["fx_rates"]
    stored = runtime_context().suites.get(suite_name(feed.name))
    count = len(stored.expectations)
    build_suite(feed)
    build_suite(feed)
    after = runtime_context().suites.get(suite_name(feed.name))
    assert len(after.expectations) == count == len(build_suite(feed).expectations)


def test_a_header_only_batch_passes_in_one_suite_run(monkeypatch):
    """An empty delivery (header only) passes: its date-window rules hold vacuously, so the
    suite is not run a second time for failure details (about 0.2-0.3 s per empty feed)."""
    from expectations import validate

    runs: list[str] = []
    original = validate._run_suite
    monkeypatch.setattr(
        validate,
        "_run_suite",
        lambda feed, batch, params, fmt: runs.append(fmt) or original(feed, batch, params, fmt),
    )
    feed = load_feeds()["wealth_orders"]
    empty = pl.DataFrame(schema={c.name: POLARS_TYPES[c.type] for c in feed.columns})
    summary = validate_batch(feed, empty, DAY, 0, {})
    assert summary.success and summary.rows == 0
    assert runs == ["BOOLEAN_ONLY"]
    # a failing empty batch (one record expected) still gets the detailed run
    runs.clear()
    assert not validate_batch(feed, empty, DAY, 1, {}).success
    assert runs == ["BOOLEAN_ONLY", "BASIC"]


def _outcomes(result) -> str:
    """A suite result as text (NaN in unexpected lists compares equal to itself)."""
    rows = [
        (r.success, r.expectation_config.to_json_dict(), r.result, r.exception_info)
        for r in result.results
    ]
    return json.dumps(rows, default=str, sort_keys=True)


@pytest.mark.parametrize("feed_name", list(load_feeds()))
def test_caching_expectation_configurations_changes_no_result(feed_name, monkeypatch):
    """GX rebuilds an expectation's configuration from its fields on every access (dozens of
    times per expectation and run); validate caches it for the duration of a suite run. The
    results, failing and passing, summary and detailed, equal those of GX as it is."""
    from expectations import validate

    feed = load_feeds()[feed_name]
    references = {c.references: pl.Series(["KNOWN"]) for c in feed.columns if c.references}
    low, high = validate._date_window(feed, DAY)
    for frame in (violating_frame(feed), violating_frame(feed).slice(2, 1)):
        batch = validate.to_batch(frame, feed, references)
        params = {"expected_rows": 1, "date_min": low, "date_max": high}
        for result_format in ("BOOLEAN_ONLY", "BASIC"):
            monkeypatch.setattr(validate, "CACHE_CONFIGURATIONS", True)
            cached = validate._run_suite(feed, batch, params, result_format)
            monkeypatch.setattr(validate, "CACHE_CONFIGURATIONS", False)
            plain = validate._run_suite(feed, batch, params, result_format)
            assert _outcomes(cached) == _outcomes(plain)
            assert cached.success == plain.success
