"""Ingest a feed (or a whole business date): landing files -> raw layer, quarantine, audit.

Two levels of failure: a bad record goes to quarantine with the rules it broke and the rest of
the delivery loads; a bad delivery (undecodable, missing column, wrong delimiter, control
count that disagrees, too many bad records, failed suite) is refused whole and nothing of it
is published. Bad data is reported, never raised; only programming and IO errors raise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from clientmart.settings import Settings
from expectations.validate import (
    ExpectationOutcome,
    ValidationSummary,
    build_data_docs,
    record_results,
    validate_batch,
    validate_frames,
    validation_columns,
)
from ingest import store
from ingest.landing import (
    DeliveryStatus,
    LandedFile,
    checksum_cached,
    delivery_dates,
    feed_dates,
    scan_date,
    scan_feed,
)
from ingest.read import LINE, DeliveryRefused, check_format, read_delivery_parts
from ingest.rules import EarlierKeys, reference_flag, split_records
from ingest.spec import Feed, load_feeds
from ingest.stray import StrayFile, stray_files

PUBLISHED = ("loaded", "replaced")


@dataclass
class FileResult:
    """The outcome of one delivered data file (mirrors its ingest-audit row)."""

    file_name: str
    status: str  # loaded | replaced | refused | skipped_identical | unchanged
    checksum: str
    encoding: str | None = None
    file_format: str | None = None
    delimiter: str | None = None
    control_count: int | None = None
    records_read: int = 0
    records_kept: int = 0
    records_quarantined: int = 0
    message: str = ""
    rule: str | None = None  # the delivery-level rule of a refusal
    quarantine_rules: dict[str, int] = field(default_factory=dict)


@dataclass
class FeedResult:
    feed: str
    business_date: dt.date
    files: list[FileResult] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    validation: ValidationSummary | None = None

    @property
    def ok(self) -> bool:
        refused = any(f.status == "refused" for f in self.files)
        failed = self.validation is not None and not self.validation.success
        return not refused and not failed

    @property
    def problems(self) -> list[str]:
        """Why the feed's date is not ok, for people: each refused file's message (it names
        the file and the rule), and the suite's failed expectations when no file was refused."""
        refused = [f.message for f in self.files if f.status == "refused"]
        if refused or self.validation is None or self.validation.success:
            return refused
        failed = ", ".join(self.validation.failures())
        return [f"{self.feed} {self.business_date}: suite {self.validation.suite} failed: {failed}"]


@dataclass
class DateResult:
    business_date: dt.date
    status: DeliveryStatus
    feeds: dict[str, FeedResult] = field(default_factory=dict)
    # files delivered for the date that no feed takes (audited, never read; not blocking)
    stray: list[StrayFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status.is_complete and all(r.ok for r in self.feeds.values())


def ensure_schemas(settings: Settings) -> dict[Path, int]:
    """Empty ``_schema.parquet`` per feed, quarantine and audit so dbt sources always resolve,
    and every file of each holding its columns (store.ensure_table_schema)."""
    return store.ensure_schema_files(settings.raw, settings.quarantine, load_feeds())


def dependency_order(feeds: dict[str, Feed]) -> list[str]:
    """Feeds ordered so that reference data is loaded before the feeds that check against it."""
    order: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in stack:
            raise ValueError(f"feeds.yml: reference cycle through {' -> '.join(stack)}")
        for col in feeds[name].columns:
            ref = col.reference_feed
            if ref is not None and ref != name:
                visit(ref, (*stack, name))
        order.append(name)

    for name in feeds:
        visit(name, ())
    return order


def references_in_force(settings: Settings, feed: Feed, business_date: dt.date) -> dict:
    feeds = load_feeds()
    refs: dict[str, pl.Series] = {}
    for col in feed.columns:
        if col.references and col.references not in refs:
            target = feeds[col.reference_feed]  # type: ignore[index]
            refs[col.references] = store.reference_values(
                settings.raw, col.references, business_date, snapshot=target.kind == "reference"
            )
    return refs


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    """Audit times are UTC written as plain TIMESTAMP (dbt's ingest_audit reads them so)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _control_count(landed: LandedFile, source: str) -> int:
    # utf-8-sig: a count saved by Notepad starts with a BOM
    text = landed.control_path.read_text(encoding="utf-8-sig", errors="replace").strip()
    if not text.isdecimal():  # isdigit() takes '²', which int() refuses
        raise DeliveryRefused(
            "control_file",
            f"{source}.ok: control file must hold the record count as one integer, found "
            f"{text[:40]!r}; re-deliver the control file",
        )
    return int(text)


def _declared_count(landed: LandedFile) -> int | None:
    """The count the control file declares now, None when it holds no count."""
    try:
        return _control_count(landed, landed.name)
    except DeliveryRefused:
        return None


def _audit_row(feed: str, result: FileResult, started: dt.datetime) -> dict[str, object]:
    return {
        "feed": feed,
        "file_name": result.file_name,
        "checksum": result.checksum,
        "encoding": result.encoding,
        "file_format": result.file_format,
        "delimiter": result.delimiter,
        "control_count": result.control_count,
        "records_read": result.records_read,
        "records_kept": result.records_kept,
        "records_quarantined": result.records_quarantined,
        "status": result.status,
        "message": result.message,
        "started_at": _utc_naive(started),
        "finished_at": _utc_naive(_now()),
    }


def _previous(settings: Settings, feed: str, business_date: dt.date, name: str) -> list[dict]:
    return store.read_audit(settings.raw, business_date, feed, name).to_dicts()


@dataclass
class _Pieces:
    """What the pieces of one delivered file added up to."""

    read: int = 0
    kept: int = 0
    quarantined: int = 0
    rules: Counter = field(default_factory=Counter)
    lines: list[int] = field(default_factory=list)  # the first SHOWN_LINES broken records'
    blank_lines: int = 0  # not records (ingest.read)
    first_blank_line: int | None = None
    summaries: list[ValidationSummary] = field(default_factory=list)
    # a file read in one piece whose suite run was left to its group: its kept records and
    # the row count the suite expects of them
    deferred: pl.DataFrame | None = None
    expected: int = 0


def _take_pieces(
    settings: Settings,
    feed: Feed,
    business_date: dt.date,
    landed: LandedFile,
    references: dict[str, pl.Series],
    result: FileResult,
    sinks: tuple[store.ParquetSink, store.ParquetSink],
    defer: bool = False,
) -> _Pieces:
    """Read, split, validate and write the file piece by piece (one piece for most files).

    The suite's row-count expectation gets, for the last piece, what the whole file must then
    hold (control count - quarantined - kept in earlier pieces), so a one-piece file is
    checked exactly against its control count; an earlier piece is checked against itself.
    ``defer``: a file read in one piece is not validated here; its kept records wait in
    ``deferred`` for the suite run of its group (``_FileGroup``).
    """
    source = f"{feed.name}/{business_date:%Y%m%d}/{landed.name}"
    raw_sink, quarantine_sink = sinks
    lineage = [
        pl.lit(landed.path.relative_to(settings.landing).as_posix()).alias("_source_file"),
        pl.lit(landed.checksum).alias("_delivery_checksum"),
        pl.lit(_now(), dtype=store.TIMESTAMP).alias(store.LOADED_AT),
    ]
    total = _Pieces()
    with tempfile.TemporaryDirectory(prefix=f"ingest-keys-{feed.name}-") as spill:
        earlier = EarlierKeys(feed, Path(spill))
        parts = read_delivery_parts(landed.path, feed, source, settings.ingest_chunk_bytes)
        # one parsed piece at a time: the next is parsed only once this one is written
        for index, part in enumerate(parts):
            result.encoding, result.file_format = part.encoding, part.file_format
            result.delimiter = part.delimiter
            split = split_records(
                part, feed, business_date, references, earlier, keep_keys=not part.last
            )
            if not part.last:  # only a file read in several pieces keeps its keys
                earlier.add(split.keys)
            total.read += part.frame.height
            if part.blank_lines and not total.blank_lines:
                total.first_blank_line = part.first_blank_line
            total.blank_lines += part.blank_lines
            total.quarantined += split.quarantined.height
            total.rules.update(r for rules in split.quarantined["rules"] for r in rules.split(";"))
            total.lines += split.quarantined[LINE].head(SHOWN_LINES - len(total.lines)).to_list()
            expected = split.kept.height
            if part.last and result.control_count is not None:
                expected = result.control_count - total.quarantined - total.kept
            if defer and index == 0 and part.last:
                total.deferred, total.expected = split.kept, expected
            else:
                summary = validate_batch(feed, split.kept, business_date, expected, references)
                if total.summaries and summary.success:
                    summary.documents = []  # the data docs keep the first piece and any failure
                total.summaries.append(summary)
            total.kept += split.kept.height
            raw_sink.write(split.kept.with_columns(lineage))
            quarantine_sink.write(split.quarantined.with_columns(lineage))
            del part, split  # written: free them before the next piece is parsed
    return total


@dataclass
class _OpenFile:
    """A delivered file being ingested: read and split into its (uncommitted) sinks, its
    verdict still to come, or its refusal already known (``pieces`` None)."""

    landed: LandedFile
    source: str
    started: dt.datetime
    republished: bool  # an earlier delivery of the file was published (a replacement)
    result: FileResult
    sinks: tuple[store.ParquetSink, ...]  # raw and quarantine; none before the format passed
    pieces: _Pieces | None = None


def _open_file(
    settings: Settings,
    feed: Feed,
    business_date: dt.date,
    landed: LandedFile,
    references: dict[str, pl.Series],
    started: dt.datetime,
    republished: bool,
    stack: ExitStack,
    defer: bool,
    twin: str | None = None,
) -> _OpenFile:
    """Read and split the file into its sinks (removed when ``stack`` closes, unless
    committed) and apply the delivery rules that do not need the suite: control count,
    share of bad records, and no records of a ``twin`` again (``_twins``). A refusal is
    recorded in the result (``pieces`` None)."""
    source = f"{feed.name}/{business_date:%Y%m%d}/{landed.name}"
    result = FileResult(landed.name, "refused", landed.checksum)
    opened = _OpenFile(landed, source, started, republished, result, ())
    try:
        result.control_count = _control_count(landed, source)
        if twin is not None and result.control_count:
            raise DeliveryRefused(
                "duplicate_content",
                f"{source}: the same content as {twin}, delivered for the same date before "
                f"it: its {result.control_count} records would count twice; remove one of "
                "the two files, or re-deliver this one with its own records",
            )
        # before any sink: only a file that can be taken has a raw and quarantine file
        # (store.layer_file relies on it)
        check_format(landed.path, source)
        raw_target = store.layer_file(settings.raw, feed.name, business_date, landed.name)
        quarantine_target = store.layer_file(
            settings.quarantine, feed.name, business_date, landed.name
        )
        opened.sinks = sinks = (
            stack.enter_context(store.ParquetSink(raw_target, store.raw_schema(feed))),
            stack.enter_context(store.ParquetSink(quarantine_target, store.QUARANTINE_SCHEMA)),
        )
        pieces = _take_pieces(
            settings, feed, business_date, landed, references, result, sinks, defer
        )
        result.records_read = pieces.read
        result.quarantine_rules = dict(pieces.rules)
        bad = pieces.quarantined
        if result.records_read != result.control_count:
            raise DeliveryRefused(
                "control_count",
                f"{source}: control count {result.control_count} disagrees with "
                f"{result.records_read} records in the file{_blank_note(pieces)}; re-deliver "
                "the file and its .ok",
            )
        if result.records_read and bad / result.records_read > feed.max_bad_share:
            raise DeliveryRefused(
                "max_bad_share",
                f"{source}: {bad} of {result.records_read} records break rules "
                f"({bad / result.records_read:.1%} > max_bad_share "
                f"{feed.max_bad_share:.1%}; rules: {_top_rules(result.quarantine_rules)}; "
                f"{_lines(pieces.lines, bad)}); "
                "fix and re-deliver the file",
            )
    except DeliveryRefused as refusal:
        _refuse(opened, refusal)
        return opened
    opened.pieces = pieces
    return opened


def _twins(files: list[LandedFile]) -> dict[str, str]:
    """File name -> the file of the same date delivered before it with the same content
    (``t_resend.csv`` beside ``t.csv``). The contract lets a feed deliver several files for a
    date, and identical content arriving again must change nothing: loaded under a second
    name, the same transactions counted twice. The first delivered (then by name) is the
    original; a file the audit already holds keeps its outcome (``_settled``)."""
    originals: dict[str, LandedFile] = {}
    twins = {}
    for landed in sorted(files, key=lambda f: (f.delivered_at, f.name)):
        original = originals.setdefault(landed.checksum, landed)
        if original is not landed:
            twins[landed.name] = original.name
    return twins


def _blank_note(pieces: _Pieces) -> str:
    """For a control count that disagrees: the blank lines not counted as records, which a
    sender may have counted."""
    n = pieces.blank_lines
    if not n:
        return ""
    lines = "1 blank line is not a record" if n == 1 else f"{n} blank lines are not records"
    where = "" if n == 1 else "the first "
    return f" ({lines}, {where}at line {pieces.first_blank_line})"


def _refuse(opened: _OpenFile, refusal: DeliveryRefused) -> None:
    result = opened.result
    result.status, result.rule, result.message = "refused", refusal.rule, refusal.message
    result.records_kept = result.records_quarantined = 0
    for sink in opened.sinks:
        sink.discard()


def _close_file(
    settings: Settings, feed: Feed, business_date: dt.date, opened: _OpenFile, passed: bool
) -> None:
    """Commit an open file whose suite verdict is ``passed`` (or refuse it), and audit it."""
    result, pieces = opened.result, opened.pieces
    if pieces is not None and not passed:
        summary = ValidationSummary.combine(feed.name, pieces.summaries)
        failed = "; ".join(f"{o.expectation}({o.column or ''})" for o in summary.failed)
        _refuse(
            opened,
            DeliveryRefused(
                "expectations",
                f"{opened.source}: great-expectations suite {summary.suite} failed: {failed}; "
                "nothing published; inspect the file and re-deliver",
            ),
        )
    elif pieces is not None:
        raw_sink, quarantine_sink = opened.sinks
        raw_sink.commit()
        quarantine_sink.commit(keep_empty=False)
        bad = pieces.quarantined
        result.status = "replaced" if opened.republished else "loaded"
        result.records_kept, result.records_quarantined = pieces.kept, bad
        result.message = f"{opened.source}: {pieces.kept} kept, {bad} quarantined" + (
            f" ({_top_rules(result.quarantine_rules)})" if bad else ""
        )
    store.write_audit(settings.raw, business_date, _audit_row(feed.name, result, opened.started))


def _top_rules(counts: dict[str, int]) -> str:
    return ", ".join(f"{r} x{n}" for r, n in Counter(counts).most_common(5))


SHOWN_LINES = 5  # a refusal for too many bad records names the lines of the first ones


def _lines(lines: list[int], bad: int) -> str:
    shown = ", ".join(str(n) for n in lines)
    return f"line {shown}" if bad == 1 else f"lines {shown}" + (", ..." if bad > len(lines) else "")


def _settled(
    settings: Settings, feed: Feed, business_date: dt.date, landed: LandedFile
) -> tuple[FileResult | None, list[dict]]:
    """From the audit: the result of a file already ingested with this content and count
    (the same content again, the content in force back after a refused correction, or a
    refusal not re-delivered), else None (new, or a correction of the file or of its control
    file), with the file's earlier events."""
    started = _now()
    events = _previous(settings, feed.name, business_date, landed.name)
    last = events[-1] if events else None
    if last is None:
        return None, events
    if last["checksum"] != landed.checksum:
        in_force = next((e for e in reversed(events) if e["status"] in PUBLISHED), None)
        if in_force is None or in_force["checksum"] != landed.checksum:
            return None, events
        last = in_force  # a refused correction, then the published content again
    if _declared_count(landed) != last["control_count"]:
        # the control file was corrected (a count refused before, now right) or changed to
        # another count: the delivery is read and checked again, whatever the files' times
        return None, events
    redelivered = _utc_naive(landed.delivered_at) > last["finished_at"]
    if last["status"] != "refused":
        in_force = next(e for e in reversed(events) if e["status"] in PUBLISHED)
        result = FileResult(
            landed.name,
            "skipped_identical" if redelivered else "unchanged",
            landed.checksum,
            in_force["encoding"],
            in_force["file_format"],
            in_force["delimiter"],
            in_force["control_count"],
            in_force["records_read"],
            in_force["records_kept"],
            in_force["records_quarantined"],
            "same content as the delivery already loaded; nothing changed",
        )
        if redelivered:
            store.write_audit(settings.raw, business_date, _audit_row(feed.name, result, started))
        return result, events
    if not redelivered:
        result = FileResult(
            landed.name,
            "refused",
            landed.checksum,
            last["encoding"],
            last["file_format"],
            last["delimiter"],
            last["control_count"],
            last["records_read"],
            0,
            0,
            last["message"],
            rule="unchanged_refusal",
        )
        return result, events
    return None, events


# A file up to this size is read whole and validated together with the feed's other small
# files of the date, in one suite run (``_FileGroup``): a payday brings one payroll file per
# employer (about 180 at 1M clients) and a suite run costs about 50 ms of GX's Python however
# few its records. Up to GROUP_MAX_BYTES of such files wait at a time.
GROUP_FILE_MAX_BYTES = 8 * 2**20
GROUP_MAX_BYTES = 128 * 2**20


@dataclass
class _FileGroup:
    """Small files of one feed and date, read and split, waiting for one suite run."""

    settings: Settings
    feed: Feed
    business_date: dt.date
    references: dict[str, pl.Series]
    waiting: list[_OpenFile] = field(default_factory=list)
    size: int = 0
    summaries: list[ValidationSummary] = field(default_factory=list)

    def add(self, opened: _OpenFile) -> None:
        self.waiting.append(opened)
        self.size += opened.landed.path.stat().st_size
        if self.size > GROUP_MAX_BYTES:
            self._settle_waiting()

    def settle(self) -> list[ValidationSummary]:
        """Settle the files still waiting; return the summaries of every file of the group,
        which the feed's verdict is made of."""
        self._settle_waiting()
        return self.summaries

    def _settle_waiting(self) -> None:
        """Validate the waiting files (together, by alike columns; alone when that fails)
        and commit or refuse each."""
        by_columns: dict[tuple, list[_OpenFile]] = {}
        for opened in self.waiting:
            deferred = opened.pieces.deferred  # type: ignore[union-attr]
            by_columns.setdefault(tuple(deferred.schema.items()), []).append(opened)
        for group in by_columns.values():
            self.summaries.extend(self._validate(group))
        self.waiting, self.size = [], 0

    def _validate(self, group: list[_OpenFile]) -> list[ValidationSummary]:
        pieces = [opened.pieces for opened in group]
        together = validate_frames(
            self.feed,
            [p.deferred for p in pieces],  # type: ignore[union-attr, misc]
            self.business_date,
            sum(p.expected for p in pieces),  # type: ignore[union-attr]
            self.references,
        )
        if together.success or len(group) == 1:
            if len(group) == 1:  # its own verdict, as if validated while read
                pieces[0].summaries.append(together)  # type: ignore[union-attr]
            for opened in group:
                _close_file(self.settings, self.feed, self.business_date, opened, together.success)
            return [together]
        alone = []
        for opened, p in zip(group, pieces, strict=True):
            summary = validate_batch(
                self.feed, p.deferred, self.business_date, p.expected, self.references
            )
            p.summaries.append(summary)
            _close_file(self.settings, self.feed, self.business_date, opened, summary.success)
            alone.append(summary)
        return alone


def _published_summary(
    settings: Settings, feed: Feed, business_date: dt.date, references: dict[str, pl.Series]
) -> ValidationSummary | None:
    """Re-validate what is published for the date, so every run reports a verdict."""
    files = store.data_files(settings.raw, feed.name, business_date)
    if not files:
        return None
    parts = [pl.read_parquet(f) for f in files]
    summary = ValidationSummary.combine(
        feed.name,
        [validate_batch(feed, part, business_date, part.height, references) for part in parts],
    )
    if not summary.success:
        summary.results = [_orphans_named(feed, parts, references, r) for r in summary.results]
    return summary


ORPHANS_SHOWN = 5


def _orphans_named(
    feed: Feed,
    parts: list[pl.DataFrame],
    references: dict[str, pl.Series],
    outcome: ExpectationOutcome,
) -> ExpectationOutcome:
    """A failed reference check of published records, said for people: the records loaded
    before their reference was corrected (a client, product or institution removed since),
    with their values, files and lines, and what to do. Other outcomes as they are."""
    if outcome.success:
        return outcome
    flags = {reference_flag(c.name, c.references): c for c in feed.columns if c.references}
    column = flags.get(outcome.column or "")
    if column is None:
        return outcome
    flag = outcome.column
    orphans = pl.concat(
        [
            part.with_columns(validation_columns(part, feed, references)[flag].alias("_orphan"))
            .filter(pl.col("_orphan"))
            .select(column.name, "_source_file", "_source_line")
            for part in parts
        ]
    )
    shown = ", ".join(
        f"{value} ({source} line {line})"
        for value, source, line in orphans.head(ORPHANS_SHOWN).iter_rows()
    )
    more = f" and {orphans.height - ORPHANS_SHOWN} more" if orphans.height > ORPHANS_SHOWN else ""
    detail = (
        f"{orphans.height} published record(s) whose {column.name} is no longer in "
        f"{column.references} in force: {shown}{more}. The reference was corrected after they "
        f"were loaded; re-deliver the {feed.name} file(s) without or with corrected records, "
        f"or the reference with those codes again, then run the date again"
    )
    return dataclasses.replace(outcome, unexpected_count=orphans.height, detail=detail)


def ingest_feed(settings: Settings, feed: str, business_date: dt.date) -> FeedResult:
    """Ingest every complete file of ``feed`` for ``business_date``.

    Files are taken in delivery order; small ones (GROUP_FILE_MAX_BYTES) are validated
    together (``_FileGroup``), so their commits and audit rows come after the larger ones'.
    """
    spec = load_feeds()[feed]
    ensure_schemas(settings)
    delivery = scan_feed(settings.landing, feed, business_date)
    result = FeedResult(feed, business_date, pending=list(delivery.pending))
    if not delivery.complete:
        return result
    references = references_in_force(settings, spec, business_date)
    summaries: list[ValidationSummary] = []
    group = _FileGroup(settings, spec, business_date, references)
    several = len(delivery.complete) > 1
    twins = _twins(delivery.complete) if several else {}
    with ExitStack() as stack:  # sinks of files not committed are removed on the way out
        for landed in delivery.complete:
            settled, events = _settled(settings, spec, business_date, landed)
            if settled is not None:
                result.files.append(settled)
                continue
            defer = several and landed.path.stat().st_size <= GROUP_FILE_MAX_BYTES
            republished = any(e["status"] in PUBLISHED for e in events)
            opened = _open_file(
                settings,
                spec,
                business_date,
                landed,
                references,
                _now(),
                republished,
                stack,
                defer,
                twins.get(landed.name),
            )
            result.files.append(opened.result)
            if opened.pieces is not None and opened.pieces.deferred is not None:
                group.add(opened)
                continue
            passed = opened.pieces is not None and all(s.success for s in opened.pieces.summaries)
            _close_file(settings, spec, business_date, opened, passed)
            if opened.pieces is not None:
                summaries.append(ValidationSummary.combine(feed, opened.pieces.summaries))
        summaries.extend(group.settle())
    if summaries:
        result.validation = ValidationSummary.combine(feed, summaries)
    else:
        result.validation = _published_summary(settings, spec, business_date, references)
    if result.validation is not None:
        record_results(settings.gx_docs, result.validation, business_date)
    return result


def ingest_date(settings: Settings, business_date: dt.date, data_docs: bool = False) -> DateResult:
    """Ingest every feed delivered for the date, reference data first.

    ``data_docs``: render the GX data docs at the end (``build_data_docs``, about a second);
    off by default so that tests and backfills ingesting many dates do not pay it per date.
    A date run (orchestration, ingesting feed by feed) calls ``build_data_docs`` once at its
    end; every feed's latest results are already recorded by ``ingest_feed``.
    """
    feeds = load_feeds()
    ensure_schemas(settings)
    status = scan_date(settings.landing, business_date)
    result = DateResult(business_date, status)
    for name in dependency_order(feeds):
        if status.feeds[name].complete or status.feeds[name].pending:
            result.feeds[name] = ingest_feed(settings, name, business_date)
    result.stray, _ = record_stray_files(settings, business_date)
    if data_docs and result.feeds:
        build_data_docs(settings)
    return result


def record_stray_files(
    settings: Settings, business_date: dt.date
) -> tuple[list[StrayFile], list[StrayFile]]:
    """The date's files that no feed takes (``ingest.stray``), and those of them the audit
    did not hold yet (same folder, name and checksum), which get their ``refused`` row now."""
    found = stray_files(settings.landing, business_date, load_feeds())
    new = []
    for stray in found:
        checksum = checksum_cached(stray.path)
        seen = store.read_audit(settings.raw, business_date, stray.folder, stray.name)
        if seen.filter(seen["checksum"] == checksum).height:
            continue
        result = FileResult(stray.name, "refused", checksum, message=stray.report, rule=stray.rule)
        store.write_audit(settings.raw, business_date, _audit_row(stray.folder, result, _now()))
        new.append(stray)
    return found, new


def ingest_month(settings: Settings, feed: str, month: dt.date) -> list[FeedResult]:
    """Ingest every delivery of a monthly feed within ``month`` (each delivery folder of the
    month, in date order), as its month run does; returns one FeedResult per folder.

    The reference data its records are checked against (and the reference data those are
    checked against) must be in force first, as within a date (``ingest_date`` loads
    reference feeds first): every delivery of those reference feeds on or before the
    folder's date is taken, in dependency and date order. A delivery already loaded
    by its date run is found unchanged and not written again; one taken here is found
    unchanged by the date run."""
    feeds = load_feeds()
    spec = feeds[feed]
    if spec.grain != "monthly":
        raise ValueError(f"{feed} is a {spec.grain} feed; ingest it by business date")
    references = _references_of(feeds, feed)
    results = []
    for date in delivery_dates(settings.landing, feed, month.replace(day=1)):
        for reference in references:
            for delivered in feed_dates(settings.landing, reference):
                if delivered <= date:
                    ingest_feed(settings, reference, delivered)
        results.append(ingest_feed(settings, feed, date))
    return results


def _references_of(feeds: dict[str, Feed], feed: str) -> list[str]:
    """The reference feeds ``feed`` checks against, with theirs, in dependency order."""
    needed: set[str] = set()
    todo = [feed]
    while todo:
        for col in feeds[todo.pop()].columns:
            ref = col.reference_feed
            if ref and feeds[ref].kind == "reference" and ref not in needed:
                needed.add(ref)
                todo.append(ref)
    return [name for name in dependency_order(feeds) if name in needed]
