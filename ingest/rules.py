"""Record rules as vectorised polars expressions: parse every value, name every broken rule.

Each contract column becomes a typed column; each rule is an expression that yields its rule id
when broken (null otherwise), and ``_rules`` joins them with ``;``. A record with any rule id
goes to quarantine with all of them; the rest of the delivery loads. Rule ids (documented in
docs/raw-layer.md): ``not_null:<col>``, ``parse_<type>:<col>``, ``allowed_values:<col>``,
``range:<col>``, ``date_matches_delivery:<col>``, ``references:<feed>.<col>``,
``duplicate_key``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from ingest.read import LINE, ReadResult
from ingest.spec import Column, Feed

DECIMAL = pl.Decimal(24, 6)  # a decimal column of the default scale (spec.DEFAULT_SCALE)
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "date": pl.Date(),
    "decimal": DECIMAL,
    "integer": pl.Int64(),
    "month": pl.Date(),
}
RULES = "_rules"
EXTRA = "_extra"
RAW_RECORD = "raw_record"

# a sign (the contract's leading -, or +), digits with or without thousands separators, and
# a point with digits on at least one side of it: 1,234.56, -7, +5, .5, 5. (polars casts each)
_DECIMAL_BODY = r"[-+]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)"
_DECIMAL_RE = rf"^{_DECIMAL_BODY}$"
_DECIMAL_PADDED_RE = rf"^\s*{_DECIMAL_BODY}\s*$"
_INTEGER_RE = r"^-?\d+(\.0+)?$"
_DATE_RE = r"^\d{4}(-\d{2}-\d{2}|/\d{2}/\d{2}|\d{4})$"
_MONTH_RE = r"^\d{4}-?\d{2}$"
_EXCEL_SERIAL_RE = r"^\d{5}(\.0+)?$"


def column_type(col: Column) -> pl.DataType:
    """The polars type of a contract column in the raw layer: a decimal keeps its ``scale``
    digits after the point and 18 before it."""
    if col.type == "decimal" and col.scale is not None:
        return pl.Decimal(18 + col.scale, col.scale)
    return POLARS_TYPES[col.type]


def clean(expr: pl.Expr) -> pl.Expr:
    """Trim surrounding spaces; an empty string means missing."""
    return expr.str.strip_chars().replace("", None)


def parse_decimal(
    expr: pl.Expr, shape: pl.Expr | None = None, dtype: pl.DataType = DECIMAL
) -> pl.Expr:
    """``1,234.56`` / ``-12.5`` / ``100`` / ``+5`` / ``.5`` (cleaned text) -> ``dtype`` (a
    Decimal; digits beyond its scale rounded half to even); anything else, or a value with
    more digits before the point than the type holds -> null. ``shape``: ``decimal_shape``
    of the raw text, when computed beforehand."""
    if shape is None:
        shape = expr.str.contains(_DECIMAL_RE)
    return (
        pl.when(shape).then(expr.str.replace_all(",", "", literal=True)).cast(dtype, strict=False)
    )


def decimal_shape(raw: pl.Expr) -> pl.Expr:
    """True where the raw (uncleaned) text, once cleaned, has a decimal's shape: the guard
    of ``parse_decimal`` with the white space ``clean`` strips allowed around it (the regex's
    Unicode ``\\s`` is the White_Space that ``strip_chars`` strips). It reads the raw text, so
    it runs next to the cleaning instead of after it, on the other core."""
    return raw.str.contains(_DECIMAL_PADDED_RE)


def parse_integer(expr: pl.Expr) -> pl.Expr:
    """``42`` (or Excel's ``42.0``) -> Int64; anything else -> null."""
    return (
        pl.when(expr.str.contains(_INTEGER_RE))
        .then(expr.str.replace(r"\.0+$", ""))
        .cast(pl.Int64, strict=False)
    )


def parse_date(expr: pl.Expr, excel: bool = False) -> pl.Expr:
    """``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY/MM/DD`` (Excel: also a date cell) -> Date.

    One regex pass guards the shape (polars' parser alone accepts ``2026101`` or
    ``2026-10-1``); each format's parser caches repeated values, so a date column, which
    holds few distinct values, costs about one pass whatever mix of formats it carries.
    """
    text = expr.str.replace(r"[ T]00:00:00(\.0+)?$", "") if excel else expr
    parsed = pl.when(text.str.contains(_DATE_RE)).then(
        pl.coalesce(
            text.str.to_date("%Y%m%d", strict=False),
            text.str.to_date("%Y-%m-%d", strict=False),
            text.str.to_date("%Y/%m/%d", strict=False),
        )
    )
    if not excel:
        return parsed
    serial = pl.when(text.str.contains(_EXCEL_SERIAL_RE)).then(
        pl.lit(dt.date(1899, 12, 30)) + pl.duration(days=text.cast(pl.Float64).cast(pl.Int64))
    )
    return pl.coalesce(parsed, serial)


def parse_month(expr: pl.Expr, excel: bool = False) -> pl.Expr:
    """``YYYY-MM`` / ``YYYYMM`` -> the first day of the month. Excel: also a date cell of a
    month's first day, which is what Excel stores when ``2026-10`` is typed into a cell (a
    date cell of another day is no month, and breaks the rule)."""
    month = (
        pl.when(expr.str.contains(_MONTH_RE))
        .then(expr.str.replace("-", "", literal=True) + "01")
        .str.to_date("%Y%m%d", strict=False)
    )
    if not excel:
        return month
    cell = parse_date(expr, excel=True)
    return pl.coalesce(month, pl.when(cell.dt.day() == 1).then(cell))


def parse(col: Column, expr: pl.Expr, excel: bool) -> pl.Expr:
    if col.type == "decimal":
        return parse_decimal(expr, dtype=column_type(col))
    if col.type == "integer":
        return parse_integer(expr)
    if col.type == "date":
        return parse_date(expr, excel)
    if col.type == "month":
        return parse_month(expr, excel)
    return expr


# A column that repeats few values (a daily feed's business date, a currency, a product
# code) is cleaned, parsed and looked up in its reference once per distinct value: each record
# gets the index of its value (one hashing pass) and every derived column is a gather from the
# small table of distinct values, instead of a strip, a parse and a reference lookup per
# record. A string column qualifies with at most FEW_DISTINCT values (a lookup in more costs
# as much as the strip it saves), a typed one with at most a quarter of the records distinct
# (parsing costs several lookups); the first SAMPLE records tell cheaply when a column is far
# from either.
FEW_DISTINCT = 64
SAMPLE = 1024


def _few_distinct(column: pl.Series, col: Column) -> tuple[pl.Series, pl.Series | None] | None:
    """The distinct values of ``column`` (as read, nulls left out) and each record's index
    into them, when it has few enough distinct values; else None. The index is None when
    the values are those of the first SAMPLE records: ``index_few_distinct`` computes it.

    The first SAMPLE records' values are tried first: when they are all the column holds (a
    daily feed's date, a currency), indexing costs one pass (one comparison when it is a
    single value); else the column's distinct values are counted and the records indexed
    into them (``_all_distinct``)."""
    limit = FEW_DISTINCT if col.type == "string" else max(FEW_DISTINCT, column.len() // 4)
    if not column.len() or column.dtype != pl.String:
        return None
    sample = column.head(SAMPLE).unique().drop_nulls()
    if sample.len() > min(limit, SAMPLE // 4):
        return None
    return sample, None


def _all_distinct(column: pl.Series, col: Column) -> tuple[pl.Series, pl.Series] | None:
    """``_few_distinct`` for a column holding values beyond its first SAMPLE records'."""
    limit = FEW_DISTINCT if col.type == "string" else max(FEW_DISTINCT, column.len() // 4)
    distinct = column.unique().drop_nulls()
    if distinct.len() > limit:
        return None
    return distinct, column.cast(pl.Enum(distinct)).to_physical()


COMPARED = 4  # up to this many values, comparisons index a column more cheaply than a cast


def _sample_index(source: pl.Expr, sample: pl.Series) -> pl.Expr:
    """Each record's index into ``sample`` (null where its value is not one of them): one
    comparison per value for a few values (a daily file's date, a currency: one; on 1M
    records one value costs 1.6 ms, two 5.6 ms, four 8 ms), else a cast into an Enum of them
    (11 ms, about the same for 2 or 20 values)."""
    if sample.len() <= COMPARED:
        index = pl.lit(None, pl.UInt32)  # no value: every index null
        for i, value in reversed(list(enumerate(sample.to_list()))):
            index = pl.when(source == value).then(pl.lit(i, pl.UInt32)).otherwise(index)
        return index
    return source.cast(pl.Enum(sample), strict=False).to_physical()


def index_few_distinct(
    frame: pl.DataFrame, columns: Mapping[str, Column]
) -> dict[str, tuple[pl.Series, pl.Series] | None]:
    """``_few_distinct`` of each column of ``frame`` (by header) that it maps, indexed.

    The columns whose first records hold all their values are indexed together, in one
    select (in parallel, instead of one after another); a column with a value beyond its
    sample's (more index nulls than value nulls) is then counted and indexed in full."""
    plans = {h: _few_distinct(frame.get_column(h), col) for h, col in columns.items()}
    sampled = {h: plan[0] for h, plan in plans.items() if plan is not None and plan[1] is None}
    # lazily: an eager select first copies every column of a frame read in many chunks
    indexed = (
        frame.lazy()
        .select(_sample_index(pl.col(h), v).alias(h) for h, v in sampled.items())
        .collect()
    )
    found: dict[str, tuple[pl.Series, pl.Series] | None] = {}
    for h, plan in plans.items():
        if plan is None or plan[1] is not None:
            found[h] = plan  # type: ignore[assignment]
        elif indexed[h].null_count() == frame[h].null_count():  # every value in the sample
            found[h] = (plan[0], indexed[h])
        else:
            found[h] = _all_distinct(frame.get_column(h), columns[h])
    return found


@dataclass(frozen=True)
class ColumnValues:
    """How ``split_records`` computes one contract column, in two ``with_columns`` stages.

    ``first`` and ``second``: the expressions of each stage; after both, the frame holds the
    cleaned raw value ``_raw(name)`` and the typed value ``name`` (null where it does not
    parse). ``unknown``: True where the typed value is missing from the column's reference,
    when it was decided per distinct value (None: ``reference_rules`` computes it)."""

    first: list[pl.Expr]
    second: list[pl.Expr]
    unknown: pl.Expr | None = None


def column_values(
    col: Column,
    source: str | None,
    excel: bool,
    known: pl.Series | None = None,
    distinct: tuple[pl.Series, pl.Series] | None = None,
) -> ColumnValues:
    """The raw and typed values of ``col``, computed from the column ``source`` record by
    record, or gathered from its ``distinct`` values and each record's index into them
    (``index_few_distinct``), when it has few of them. ``known``: the codes of the column's
    reference in force, if it has one."""
    dtype = column_type(col)
    if source is None:
        raw = pl.lit(None, pl.String)
    else:
        if distinct is not None:
            values, codes = distinct
            table = pl.select(clean(pl.lit(values)).alias("raw")).with_columns(
                parse(col, pl.col("raw"), excel).cast(dtype).alias("typed")
            )
            index = pl.lit(codes)
            unknown = None
            if known is not None and col.references is not None:
                found = table.select(is_known(pl.col("typed"), known, table.height)).to_series()
                missing = table["typed"].is_not_null() & ~found
                unknown = pl.lit(missing).gather(index)
            # a text column's typed value is its raw value: one gather, not two
            typed = (
                pl.col(_raw(col.name))
                if col.type == "string"
                else pl.lit(table["typed"]).gather(index)
            )
            return ColumnValues(
                [pl.lit(table["raw"]).gather(index).alias(_raw(col.name))],
                [typed.alias(col.name)],
                unknown,
            )
        raw = clean(pl.col(source))
        if col.type == "decimal":  # the shape guard reads the raw text, next to its cleaning
            shape = f"__shape_{col.name}"
            typed = parse_decimal(pl.col(_raw(col.name)), shape=pl.col(shape), dtype=dtype)
            return ColumnValues(
                [raw.alias(_raw(col.name)), decimal_shape(pl.col(source)).alias(shape)],
                [typed.alias(col.name)],
            )
    typed = parse(col, pl.col(_raw(col.name)), excel).cast(dtype)
    return ColumnValues([raw.alias(_raw(col.name))], [typed.alias(col.name)])


def _literal(col: Column, value: float) -> pl.Expr:
    if col.type == "decimal":
        return pl.lit(Decimal(str(value)), dtype=column_type(col))
    return pl.lit(int(value), dtype=pl.Int64)


def _raw(name: str) -> str:
    return f"__raw_{name}"


Check = tuple[str, pl.Expr]  # (rule id, boolean expression true where the rule is broken)


def column_rules(col: Column) -> list[Check]:
    """The rule id and the "broken" condition of each column rule."""
    value, raw = pl.col(col.name), pl.col(_raw(col.name))
    rules: list[Check] = []
    if not col.nullable:
        rules.append((f"not_null:{col.name}", raw.is_null()))
    if col.type != "string":
        rules.append((f"parse_{col.type}:{col.name}", raw.is_not_null() & value.is_null()))
    if col.values is not None:
        allowed = pl.Series(list(col.values), dtype=column_type(col)).implode()
        rules.append((f"allowed_values:{col.name}", value.is_not_null() & ~value.is_in(allowed)))
    if col.min is not None or col.max is not None:
        out = pl.lit(False)
        if col.min is not None:
            low = _literal(col, col.min)
            out = out | ((value <= low) if col.min_exclusive else (value < low))
        if col.max is not None:
            out = out | (value > _literal(col, col.max))
        rules.append((f"range:{col.name}", value.is_not_null() & out))
    return rules


def delivery_date_rule(feed: Feed, business_date: dt.date) -> list[Check]:
    """The record's business date must lie in the delivery's window (``Feed.delivery_window``:
    the folder's date, its month for monthly feeds, or ``date_window_days`` either side)."""
    if feed.date_column is None:
        return []
    value = pl.col(feed.date_column)
    low, high = feed.delivery_window(business_date)
    broken = value.is_not_null() & ~value.is_between(pl.lit(low), pl.lit(high))
    return [(f"date_matches_delivery:{feed.date_column}", broken)]


# An ``is_in`` hashes its whole value list every time: against the 1M client numbers in force
# that is 0.2-0.3 s, paid by every referencing column of every feed and piece of a night,
# even a 9k-record file's. A reference's codes are instead registered once in their own
# categorical namespace (ids 0 .. n-1, in a fresh polars ``Categories``) and a column is
# cast into it: a code is known when its id is below n (a code not in the reference gets a
# new, higher id). Registering costs about one ``is_in``'s hashing of the codes; the cast then
# probes the persistent hash map once per record, which costs about what an ``is_in`` costs
# per record (more for a small reference, whose set stays in cache), so it pays off for a
# file of up to twice the reference's size (1M rows against 200k codes: is_in 31 ms, cast
# 51 ms; 1.83M against 1M: 300 ms, 135 ms; 358k against 1M: 216 ms, 59 ms), and larger files
# keep ``is_in``. The first such file of a date registers the reference; every later file of
# the date (same ``known`` object, ``store.reference_values``) reuses it. A registration lives
# as long as its ``known`` codes: once the reference cache holds the next date's codes, the
# old registration (about 120 MB for 1M client numbers) is dropped with them. Keeping the last
# eight regardless held about 1 GB more in a process that ingests date after date (a range).
_REGISTERED: dict[int, tuple[weakref.ref[pl.Series], pl.Series, int]] = {}
_REGISTERED_KEEP = 8  # an upper bound only: a date holds one large reference (client numbers)
REGISTER_MIN = 50_000  # below this many codes building the is_in set costs nothing much
REGISTER_MAX_ROWS = 2  # files of up to this many times the reference's codes use the cast


def is_known(value: pl.Expr, known: pl.Series, rows: int) -> pl.Expr:
    """True where ``value`` (text) is one of the ``known`` codes, null where it is null;
    exact either way. ``rows``: how many records the expression runs over."""
    if known.len() < REGISTER_MIN or rows > REGISTER_MAX_ROWS * known.len():
        return value.is_in(known.cast(pl.String).implode())
    entry = _REGISTERED.get(id(known))
    if entry is None or entry[0]() is not known:
        # registers every code (ids 0 .. distinct codes - 1, a repeated code keeps its id, so
        # no unique() pass is needed: reference_values' codes are distinct already); the
        # namespace lives as long as a column of it does, so the registered codes are kept
        registered = known.cast(pl.String).drop_nulls().cast(pl.Categorical(pl.Categories.random()))
        count = 0 if registered.is_empty() else int(registered.to_physical().max()) + 1  # type: ignore[arg-type]
        while len(_REGISTERED) >= _REGISTERED_KEEP:
            _REGISTERED.pop(next(iter(_REGISTERED)))
        codes = weakref.ref(known)
        entry = _REGISTERED[id(known)] = (codes, registered, count)
        # the finalizer holds the weak reference only, so an entry evicted above is freed
        weakref.finalize(known, _forget_registration, id(known), codes)
    _, registered, count = entry
    return value.cast(registered.dtype).to_physical() < count


def _forget_registration(key: int, codes: weakref.ref[pl.Series]) -> None:
    entry = _REGISTERED.get(key)
    if entry is not None and entry[0] is codes:  # not a later registration reusing the id
        del _REGISTERED[key]


def reference_flag(column: str, reference: str) -> str:
    """Column of a kept batch: True where ``column`` holds a code missing from the reference.

    The record rule computes it once; the great-expectations suite gives the batch verdict on
    it (a GX ``value_set`` of millions of reference codes costs minutes of Python).
    """
    return f"_unknown__{column}__{reference.replace('.', '__')}"


def _known(col: Column, references: Mapping[str, pl.Series]) -> pl.Series:
    return references.get(col.references or "", pl.Series(col.references, [], pl.String))


def reference_rules(
    feed: Feed,
    references: Mapping[str, pl.Series],
    decided: Mapping[str, pl.Expr] | None = None,
    rows: int = 0,
    early: Collection[str] = (),
) -> list[Check]:
    """A referenced code must exist in the reference data in force (``references`` by id).

    ``decided``: the condition of a column already decided per distinct value
    (``ColumnValues.unknown``), by column name. ``rows``: the records checked (``is_known``).
    ``early``: text columns whose cleaned raw value (which is their typed value) is read."""
    rules: list[Check] = []
    for col in feed.columns:
        if col.references is None:
            continue
        broken = (decided or {}).get(col.name)
        if broken is None:
            value = pl.col(_raw(col.name) if col.name in (early or ()) else col.name)
            broken = value.is_not_null() & ~is_known(value, _known(col, references), rows)
        rules.append((f"references:{col.references}", broken))
    return rules


KEY_HASH = "__key_hash"


def _key(feed: Feed, early: Collection[str] = ()) -> pl.Expr:
    """The key (a struct of compound keys); the columns in ``early`` (text columns) are read
    from their cleaned raw values, which are their typed values."""
    keys = [pl.col(_raw(k) if k in early else k).alias(k) for k in feed.key]
    return keys[0] if len(keys) == 1 else pl.struct(keys)


def _key_present(feed: Feed) -> pl.Expr:
    return pl.all_horizontal(pl.col(k).is_not_null() for k in feed.key)


DUPLICATE_KEY_FLAG = "_duplicate_key"


def _unless_keys_unique(
    frame: pl.DataFrame, feed: Feed, hashes: pl.Expr, broken: pl.Expr
) -> pl.Series:
    """``broken`` (a per-record key condition) over ``frame``, decided cheaply when no key
    repeats: the distinct 64-bit ``hashes`` of the present keys are counted (a fifth of the
    cost of marking occurrences); only when the count falls short (a duplicate, or a hash
    collision) is ``broken`` computed on the keys themselves, so a collision flags nothing."""
    if KEY_COUNTS[0] in frame.columns:  # counted by split_records' main collect
        distinct, count = frame.select(KEY_COUNTS).row(0) if frame.height else (0, 0)
    else:
        distinct, count = frame.select(_key_counts(feed, hashes)).row(0)
    if distinct == count:
        return pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    return frame.select(broken.fill_null(False)).to_series()


def duplicate_key_flag(frame: pl.DataFrame, feed: Feed) -> pl.Series:
    """For the great-expectations suite: True on every record of ``frame`` whose present key
    occurs more than once in it (each occurrence, the first one too).

    Computed on the batch the suite validates, independently of the record rule (which keeps
    a key's first occurrence and quarantines the rest); ``split_records`` hands it over as
    False throughout only when no key of the piece repeats, so none of its kept records can.
    GX's pandas uniqueness check cost 0.3-1 s on 1M keys, a polars ``is_duplicated`` over a
    compound key 0.57 s, this 0.05 s when no key repeats; GX gives the verdict on the flag.
    """
    broken = _key_present(feed) & _key(feed).is_duplicated()
    return _unless_keys_unique(frame, feed, _key(feed).hash(), broken).alias(DUPLICATE_KEY_FLAG)


def duplicate_key_rule(feed: Feed) -> Check:
    """Every occurrence of a key after its first (in file order) within the delivery."""
    return ("duplicate_key", _key_present(feed) & ~_key(feed).is_first_distinct())


KEY_COUNTS = ("__distinct_key_hashes", "__present_keys")


def _key_counts(feed: Feed, hashes: pl.Expr) -> list[pl.Expr]:
    """The distinct key hashes and the records with a key (``_unless_keys_unique``)."""
    present = _key_present(feed)
    distinct, count = KEY_COUNTS
    return [hashes.filter(present).n_unique().alias(distinct), present.sum().alias(count)]


def _duplicate_flags(frame: pl.DataFrame, feed: Feed) -> pl.Series:
    """The duplicate-key rule over a piece, on the key hashes it already holds."""
    _, broken = duplicate_key_rule(feed)
    return _unless_keys_unique(frame, feed, pl.col(KEY_HASH), broken)


class EarlierKeys:
    """The keys of a delivery's pieces already read, for the duplicate-key rule across pieces.

    Memory holds one 64-bit hash per key; the keys themselves are spilled to Parquet in
    ``folder``. A record whose hash was seen before is checked against the spilled keys with
    that hash, so a hash collision never quarantines a record.
    """

    def __init__(self, feed: Feed, folder: Path) -> None:
        self.keys = list(feed.key)
        self.folder = folder
        self.hashes: list[pl.Series] = []

    def add(self, keys: pl.DataFrame) -> None:
        """``keys``: the key hash and key columns of a piece's records (``Split.keys``)."""
        keys.write_parquet(self.folder / f"keys-{len(self.hashes):05d}.parquet")
        self.hashes.append(keys[KEY_HASH])

    def seen(self, frame: pl.DataFrame) -> pl.Series:
        """True for the records of ``frame`` whose key occurred in an earlier piece."""
        if not self.hashes:
            return pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
        earlier = pl.concat(self.hashes)
        candidate = frame[KEY_HASH].is_in(earlier.implode()).fill_null(False)
        if not candidate.any():
            return candidate
        spilled = (
            pl.scan_parquet(self.folder / "keys-*.parquet")
            .filter(pl.col(KEY_HASH).is_in(frame[KEY_HASH].filter(candidate).implode()))
            .select(self.keys)
            .collect(engine="streaming")
        )
        hits = (
            frame.select(self.keys).with_row_index("__row").join(spilled, on=self.keys, how="semi")
        )
        return pl.Series(range(frame.height), dtype=pl.UInt32).is_in(hits["__row"].implode())


@dataclass
class Split:
    """Typed kept records (raw-layer columns) and quarantined ones (line, rules, raw record);
    ``keys`` (when asked for) are the key hash and typed key columns of the records with a
    key, for the pieces that follow (``EarlierKeys``)."""

    kept: pl.DataFrame
    quarantined: pl.DataFrame
    keys: pl.DataFrame | None


# polars 2.1's common-subexpression elimination takes two one-element literal Series for one
# when their values print alike, whatever their types: the raw "2026-12-02" and the typed
# 2026-12-02 of a one-value date column came out as one String column (a one-record clients
# file failed its type expectation). The gathers it would share cost a few ms.
_NO_CSE = pl.QueryOptFlags(comm_subexpr_elim=False)


def split_records(
    read: ReadResult,
    feed: Feed,
    business_date: dt.date,
    references: Mapping[str, pl.Series],
    earlier_keys: EarlierKeys | None = None,
    keep_keys: bool = False,
) -> Split:
    """Parse every contract column and split the records into kept and quarantined.

    ``earlier_keys``: the keys of the delivery's earlier pieces (a large file is read piece by
    piece); a key seen there breaks the duplicate-key rule here too, as in a whole read.
    ``keep_keys``: return the piece's keys (``Split.keys``) for the pieces that follow.

    One collect computes the typed columns and one boolean per rule; the rule-id text is
    built only for the (rare) records that broke a rule, never for every record.
    """
    # A piece comes from read_csv in about one chunk per thread's share of the text (29 for
    # the bench's 1M records); every string kernel, gather and filter below then works chunk
    # by chunk, and the main collect copies the columns into one chunk anyway. Put in one
    # chunk first, in parallel: split_records 0.37 -> 0.31 CPU-s on the bench file.
    read = dataclasses.replace(read, frame=read.frame.rechunk())
    headers = [h for h in read.frame.columns if h != LINE]
    alias = {h: f"__h{i}" for i, h in enumerate(headers)}
    excel = read.file_format == "xlsx"
    present = {h: c for c in feed.columns if (h := read.columns.get(c.name)) is not None}
    few = index_few_distinct(read.frame, present)
    values = {
        col.name: column_values(
            col, alias.get(h or ""), excel, _known(col, references), few.get(h or "")
        )
        for col, h in ((c, read.columns.get(c.name)) for c in feed.columns)
    }
    decided = {name: v.unknown for name, v in values.items() if v.unknown is not None}
    # Each with_columns stage runs its expressions in parallel and waits for the slowest. The
    # reference lookups and the key hash of text columns cleaned record by record need only
    # the cleaned raw values (their typed values), so they run in the stage that parses the
    # typed values (next to the decimal parse) instead of in a stage of their own.
    first = {e.meta.output_name() for v in values.values() for e in v.first}
    early = {c.name for c in feed.columns if c.type == "string" and _raw(c.name) in first}
    checks = [r for col in feed.columns for r in column_rules(col)]
    checks += delivery_date_rule(feed, business_date)
    checks += [(rule, pl.lit(mask).fill_null(False)) for rule, mask in read.broken.items()]
    first_reference = len(checks)
    # one per referencing column, in column order
    checks += reference_rules(feed, references, decided, read.frame.height, early)
    checks.append(duplicate_key_rule(feed))
    flags = [f"__rule{i}" for i in range(len(checks))]
    named = list(zip(flags, checks, strict=True))
    referencing = [c for c in feed.columns if c.references is not None]
    soon = {
        flags[first_reference + i]
        for i, c in enumerate(referencing)
        if c.name in early or c.name in decided
    }
    key_early = set(feed.key) <= early
    key_hash = _key(feed, early if key_early else ()).hash().alias(KEY_HASH)
    rules = [(f, broken.fill_null(False).alias(f)) for f, (_, broken) in named[:-1]]
    # the duplicate-key rule's counts (_duplicate_flags) are aggregates computed alongside
    counts = _key_counts(feed, pl.col(KEY_HASH))
    frame = (
        read.frame.lazy()
        .rename(alias)
        .with_columns(e for v in values.values() for e in v.first)
        .with_columns(
            *(e for v in values.values() for e in v.second),
            *([key_hash] if key_early else []),
            *(e for f, e in rules if f in soon),
        )
        .with_columns(
            *([] if key_early else [key_hash]),
            *(e for f, e in rules if f not in soon),
            *(counts if key_early else []),
        )
        .with_columns(pl.any_horizontal(flags[:-1]).alias(RULES), *([] if key_early else counts))
        .collect(engine="in-memory", optimizations=_NO_CSE)
    )
    duplicate = _duplicate_flags(frame, feed)
    # no key repeats within the piece, so none within its kept records: the suite's flag
    # (duplicate_key_flag) is False throughout and goes over with them, not computed again
    keys_distinct = not duplicate.any()
    if earlier_keys is not None and frame.height:
        duplicate = duplicate | earlier_keys.seen(frame)
    frame = frame.with_columns(
        duplicate.alias(flags[-1]),  # the last check
        (frame[RULES] | duplicate).alias(RULES),
    )
    broken_any = bool(frame[RULES].any())
    if read.extras:
        extra = pl.struct([pl.col(alias[h]).alias(h) for h in read.extras]).struct.json_encode()
    else:
        extra = pl.lit(None, pl.String)
    referencing = [c for c in feed.columns if c.references is not None]
    flags_kept = [
        pl.col(flag).alias(reference_flag(col.name, col.references))  # type: ignore[arg-type]
        for flag, col in zip(flags[first_reference:], referencing, strict=False)
    ]
    # select, then filter: filtering the whole working frame would copy every column of it
    if keys_distinct:
        flags_kept.append(pl.lit(False).alias(DUPLICATE_KEY_FLAG))
    kept = frame.select(*feed.names, extra.alias(EXTRA), LINE, *flags_kept, RULES)
    kept = (kept.filter(~pl.col(RULES)) if broken_any else kept).drop(RULES)
    record = pl.struct([pl.col(alias[h]).alias(h) for h in headers]).struct.json_encode()
    rule_ids = pl.concat_str(
        [pl.when(pl.col(f)).then(pl.lit(rule_id)) for f, (rule_id, _) in named],
        separator=";",
        ignore_nulls=True,
    )
    quarantined = (
        frame.lazy()
        .filter(pl.col(RULES))
        .select(LINE, rule_ids.alias("rules"), record.alias(RAW_RECORD))
        .sort(LINE)
        .collect(engine="in-memory")
    )
    keys = None
    if keep_keys:
        keys = frame.lazy().select(KEY_HASH, *feed.key).filter(_key_present(feed)).collect()
    return Split(kept, quarantined, keys)
