"""Run a feed's suite on the batch ingest is about to publish (in memory, pandas batch).

GX's SQL datasource returns empty results with duckdb-engine (GX issue #11579), so the batch is
validated as a pandas DataFrame. Only the contract columns are handed over (lineage columns are
pruned) and decimals go as float64: the exact values stay in polars/Parquet; GX gives the
verdict on ranges, sets, nulls, keys and counts.

Cost (bench/bench_validation.py): the batch is fetched once per validation (``Batch.validate``
fetches it a second time), GX's pandas fingerprint of the batch (an md5 over
``hash_pandas_object``, only a batch marker, a third of the time on a 1M-row batch) is skipped
because a delivery is identified by its file checksum, and the suite runs with
``BOOLEAN_ONLY``; only a failing batch is validated again with ``BASIC`` to report unexpected
counts and observed values.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pickle
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from clientmart.settings import Settings
from ingest.spec import SPEC_PATH, Feed

VACUOUS_WHEN_EMPTY = ("expect_column_min_to_be_between", "expect_column_max_to_be_between")


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    observed_value: str | None = None
    # for people, in place of the expectation's name: what is wrong and where (see
    # ingest.pipeline._published_summary)
    detail: str | None = None


@dataclass
class ValidationSummary:
    """What orchestration puts into asset-check metadata."""

    suite: str
    success: bool
    rows: int
    results: list[ExpectationOutcome] = field(default_factory=list)
    # GX's own result objects, kept for the data docs (record_results, build_data_docs)
    documents: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def to_metadata(self) -> dict[str, object]:
        return {
            "suite": self.suite,
            "success": self.success,
            "rows": self.rows,
            "evaluated": len(self.results),
            "failed": self.failures(),
        }

    def failures(self) -> list[str]:
        """Each failed expectation as its detail, else ``expectation(column): unexpected
        count`` (or the observed value, for an expectation that counts none)."""
        return [
            r.detail
            or f"{r.expectation}({r.column or ''}): "
            + (
                str(r.unexpected_count)
                if r.unexpected_count is not None or r.observed_value is None
                else f"observed {r.observed_value}"
            )
            for r in self.failed
        ]

    @staticmethod
    def combine(feed: str, summaries: list[ValidationSummary]) -> ValidationSummary:
        from expectations.suites import suite_name

        return ValidationSummary(
            suite=suite_name(feed),
            success=all(s.success for s in summaries),
            rows=sum(s.rows for s in summaries),
            results=[r for s in summaries for r in s.results],
            documents=[d for s in summaries for d in s.documents],
        )


def _date_window(feed: Feed, business_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    low, high = feed.delivery_window(business_date)
    return dt.datetime.combine(low, dt.time()), dt.datetime.combine(high, dt.time())


def validation_columns(
    frame: pl.DataFrame, feed: Feed, references: Mapping[str, pl.Series]
) -> pl.DataFrame:
    """What the suite looks at, still in polars: the contract columns present in ``frame``,
    one flag column per reference rule (code missing from the reference in force) and the
    duplicate-key flag (``ingest.rules.duplicate_key_flag`` on this frame).

    ``split_records`` hands the reference flags over with the kept records (computed once,
    by the record rule), and the duplicate flag when no key of the piece repeats (then none
    of its kept records can); for any other frame they are computed here. The flags belong
    to ``frame``: frames so prepared can be stacked and validated in one suite run
    (``validate_frames``), each key still checked within its own delivery.
    """
    from ingest.rules import DUPLICATE_KEY_FLAG, duplicate_key_flag, is_known, reference_flag

    cols = [c for c in feed.columns if c.name in frame.columns]
    flags = []
    for c in cols:
        if c.references is None or frame.schema[c.name] != pl.String:
            continue
        name = reference_flag(c.name, c.references)
        if name in frame.columns:
            flags.append(pl.col(name))
            continue
        known = references.get(c.references, pl.Series([], dtype=pl.String))
        value = pl.col(c.name)
        flags.append((value.is_not_null() & ~is_known(value, known, frame.height)).alias(name))
    if DUPLICATE_KEY_FLAG in frame.columns:
        duplicate = [pl.col(DUPLICATE_KEY_FLAG)]
    elif all(k in frame.columns for k in feed.key):
        duplicate = [pl.lit(duplicate_key_flag(frame, feed))]
    else:  # without its key columns the batch fails on them (and on this column)
        duplicate = []
    return frame.select(*(pl.col(c.name) for c in cols), *flags, *duplicate)


def to_batch(  # noqa: ANN201 - pandas DataFrame
    frame: pl.DataFrame, feed: Feed, references: Mapping[str, pl.Series]
):
    """The pruned pandas batch of ``validation_columns``, decimals as float64."""
    columns = validation_columns(frame, feed, references)
    batch = columns.select(
        pl.col(name).cast(pl.Float64) if isinstance(dtype, pl.Decimal) else pl.col(name)
        for name, dtype in columns.schema.items()
    ).to_pandas()
    for col in feed.columns:
        if columns.schema.get(col.name) == pl.String:  # GX's type check knows StringDtype
            batch[col.name] = batch[col.name].astype(pd.StringDtype())
    return batch


_FINGERPRINT_LOCK = threading.Lock()
_DOCS_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_batch_fingerprint() -> Iterator[None]:
    """Skip GX's md5 fingerprint of the pandas batch while our validations fetch batches."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    with _FINGERPRINT_LOCK:
        threshold = engine.HASH_THRESHOLD
        engine.HASH_THRESHOLD = 0
        try:
            yield
        finally:
            engine.HASH_THRESHOLD = threshold


# GX rebuilds an expectation's configuration (a pydantic dump into a new
# ExpectationConfiguration) on every access of ``Expectation.configuration``, and reads it once
# per kwarg while building and checking each expectation's metric graph: a third of a suite
# run's fixed cost (59 -> 37 ms on a 3-row batch of deposit_balances). While this module runs
# a suite, the configuration of each expectation object is built once; other threads and
# callers get GX's own property. The results are those of GX as it is (a test compares them).
CACHE_CONFIGURATIONS = True
_CONFIGURATIONS = threading.local()
_CONFIGURATION_PATCH = threading.Lock()


def _configuration_once(original: Any) -> property:  # noqa: ANN401 - GX property
    def configuration(self: Any) -> Any:  # noqa: ANN401 - GX types
        cache = getattr(_CONFIGURATIONS, "cache", None)
        if cache is None:
            return original.fget(self)
        entry = cache.get(id(self))
        if entry is None:  # the object is kept with its entry, so its id is not reused
            entry = cache[id(self)] = (self, original.fget(self))
        return entry[1]

    configuration.__wrapped__ = original  # type: ignore[attr-defined]
    return property(configuration, doc=original.__doc__)


@contextlib.contextmanager
def _configurations_cached() -> Iterator[None]:
    """Build each expectation's configuration once during a suite run (this thread only)."""
    if not CACHE_CONFIGURATIONS:
        yield
        return
    from great_expectations.expectations.expectation import Expectation

    with _CONFIGURATION_PATCH:
        current = Expectation.__dict__.get("configuration")
        if isinstance(current, property) and not hasattr(current.fget, "__wrapped__"):
            Expectation.configuration = _configuration_once(current)  # type: ignore[method-assign]
    _CONFIGURATIONS.cache = {}
    try:
        yield
    finally:
        _CONFIGURATIONS.cache = None


def _run_suite(feed: Feed, batch: Any, params: dict[str, object], result_format: str) -> Any:  # noqa: ANN401 - GX result
    from great_expectations.validator.v1_validator import Validator

    from expectations.suites import DATASOURCE, runtime_context, suite_name

    context = runtime_context()
    suite = context.suites.get(suite_name(feed.name))
    definition = (
        context.data_sources.get(DATASOURCE).get_asset(feed.name).get_batch_definition("delivery")
    )
    validator = Validator(
        batch_definition=definition,
        batch_parameters={"dataframe": batch},
        result_format=result_format,
    )
    with _without_batch_fingerprint(), _configurations_cached():
        return validator.validate_expectation_suite(suite, params)


def _vacuous(frame: pl.DataFrame, result: Any) -> bool:  # noqa: ANN401 - GX result
    """A header-only delivery has no min or max date: the window rule holds vacuously."""
    return frame.height == 0 and result.expectation_config.type in VACUOUS_WHEN_EMPTY


def validate_batch(
    feed: Feed,
    frame: pl.DataFrame,
    business_date: dt.date,
    expected_rows: int,
    references: Mapping[str, pl.Series],
) -> ValidationSummary:
    """Validate ``frame`` (typed records of one delivery) against the feed's suite."""
    from expectations.suites import suite_name

    batch = to_batch(frame, feed, references)
    low, high = _date_window(feed, business_date)
    params: dict[str, object] = {"expected_rows": expected_rows, "date_min": low, "date_max": high}
    result = _run_suite(feed, batch, params, "BOOLEAN_ONLY")
    if any(not r.success and not _vacuous(frame, r) for r in result.results):
        # the rare failing batch: again, with counts and observed values
        result = _run_suite(feed, batch, params, "BASIC")
    outcomes = []
    for r in result.results:
        kwargs = r.expectation_config.kwargs
        column = kwargs.get("column") or (
            ",".join(kwargs["column_list"]) if "column_list" in kwargs else None
        )
        observed = r.result.get("observed_value")
        vacuous = _vacuous(frame, r)
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
    return ValidationSummary(suite_name(feed.name), success, frame.height, outcomes, [result])


def validate_frames(
    feed: Feed,
    frames: list[pl.DataFrame],
    business_date: dt.date,
    expected_rows: int,
    references: Mapping[str, pl.Series],
) -> ValidationSummary:
    """One suite run over the kept records of several deliveries of ``feed`` (one frame per
    file, alike in columns), ``expected_rows`` their expected row counts summed.

    It passes exactly when each frame would pass alone: every expectation of a suite is per
    record (types, nulls, sets, ranges, the reference and duplicate-key flags, which
    ``validation_columns`` computes per frame), an extreme (the date window's min and max:
    vacuous for an empty frame either way), a column present in all, or the row count, which
    adds up (each frame's expected count is its own kept records, ``ingest.pipeline``). When
    it fails, the caller validates each frame alone to find which.
    """
    stacked = pl.concat([validation_columns(f, feed, references) for f in frames], how="vertical")
    return validate_batch(feed, stacked, business_date, expected_rows, references)


DOCS_SITE = "clientmart"
RESULTS_FOLDER = "_results"
RENDERED_STAMP = ".rendered"


def record_results(docs_dir: Path, summary: ValidationSummary, business_date: dt.date) -> None:
    """Keep the feed's latest GX results for the next ``build_data_docs``.

    Called once per feed and date run. The GX result objects are pickled as they are (GX's
    own JSON serialisation costs tens of milliseconds per result, pickling about nothing);
    rendering is left to ``build_data_docs``, so the hot path never renders HTML. The folder
    is written and read by this module only.
    """
    folder = docs_dir / RESULTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "suite": summary.suite,
        "business_date": business_date.isoformat(),
        "results": summary.documents,
    }
    target = folder / f"{summary.suite}.pickle"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, target)


def build_data_docs(settings: Settings) -> Path:
    """Render GX data docs of each feed's latest validation into ``settings.gx_docs``.

    Returns the site's ``index.html``. Run once per date run, after every feed was ingested:
    people read the docs, the pipeline reads ``ValidationSummary``.

    Only results recorded since the last build are rendered again: a feed that delivered
    nothing keeps its page (a payroll day's 185 files cost 4-5 s to render, every night
    after, without this). The stamp ``_results/.rendered`` carries the time the last build
    began reading results, so a result recorded while it ran is rendered by the next one.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    from expectations.suites import runtime_context

    docs_dir = settings.gx_docs
    docs_dir.mkdir(parents=True, exist_ok=True)
    context = runtime_context()
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    with _DOCS_LOCK:
        if DOCS_SITE in context.list_data_docs_sites():
            context.update_data_docs_site(DOCS_SITE, site)  # type: ignore[arg-type]
        else:
            context.add_data_docs_site(DOCS_SITE, site)  # type: ignore[arg-type]
        store = context.validation_results_store
        for key in store.list_keys():  # only this home's results go into this site
            store.remove_key(key)
        # render the validations, the index, and a suite page only when missing or older
        # than the contract it is built from (suite pages do not change between runs)
        render: list[Any] = []
        stamp = docs_dir / RESULTS_FOLDER / RENDERED_STAMP
        began = time.time()
        last = (
            stamp.stat().st_mtime if stamp.exists() and (docs_dir / "index.html").exists() else 0.0
        )
        for path in sorted((docs_dir / RESULTS_FOLDER).glob("*.pickle")):
            fresh = path.stat().st_mtime >= last
            try:
                suite, keys = _store_results(store, path)
            except Exception:  # noqa: BLE001 - results of another GX release: skip, next run rewrites
                continue
            if fresh:
                render.extend(keys)
            suite_page = docs_dir / "expectations" / f"{suite}.html"
            if not suite_page.exists() or suite_page.stat().st_mtime < SPEC_PATH.stat().st_mtime:
                render.append(ExpectationSuiteIdentifier(suite))
        if render:  # none: every page is current (an empty list would render them all)
            context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=render)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
        os.utime(stamp, (began, began))
    return docs_dir / "index.html"


def _store_results(store: Any, path: Path) -> tuple[str, list[Any]]:
    """Put one feed's recorded results (``record_results``) into the results store the site
    is built from; return the suite's name and the results' keys.

    Every result goes in, changed or not: the site's index lists a page only while its
    result is in the store. The store keeps results serialised (marshmallow, about 7 ms per
    result); the serialised forms are cached beside the recording (``.<suite>.serialized``,
    valid while the recording is unchanged), so a feed's 185 payroll results are neither
    unpickled nor serialised again every night after.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite = path.stem  # record_results writes <suite>.pickle
    source = path.stat().st_mtime_ns
    cache = path.with_name(f".{suite}.serialized")
    held: dict[str, Any] | None = None
    if cache.exists():
        with contextlib.suppress(Exception):  # unreadable: serialise again
            held = pickle.loads(cache.read_bytes())  # noqa: S301 - written below
    if held is None or held.get("source") != source:
        payload = pickle.loads(path.read_bytes())  # noqa: S301 - written by record_results
        held = {
            "source": source,
            "business_date": payload["business_date"],
            "values": [store.serialize(result) for result in payload["results"]],
        }
        tmp = cache.with_name(f"{cache.name}.tmp")
        tmp.write_bytes(pickle.dumps(held, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, cache)
    date = held["business_date"]
    keys = []
    for i, value in enumerate(held["values"]):
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(suite),
            RunIdentifier(run_name=f"{date}-{i}", run_time=dt.datetime.fromisoformat(date)),
            f"{suite}-{date}-{i}",
        )
        store.store_backend.set(store.key_to_tuple(key), value)
        keys.append(key)
    return suite, keys
