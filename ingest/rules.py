"""Record rules as vectorised polars expressions: parse every value, name every broken rule.

Each contract column becomes a typed column; each rule is an expression that yields its rule id
when broken (null otherwise), and ``_rules`` joins them with ``;``. A record with any rule id
goes to quarantine with all of them; the rest of the delivery loads. Rule ids (documented in
docs/raw-layer.md): ``not_null:<col>``, ``parse_<type>:<col>``, ``allowed_values:<col>``,
``range:<col>``, ``date_matches_delivery:<col>``, ``references:<feed>.<col>``,
``duplicate_key``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from ingest.read import LINE, ReadResult
from ingest.spec import Column, Feed

DECIMAL = pl.Decimal(24, 6)
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

_DECIMAL_RE = r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"
_INTEGER_RE = r"^-?\d+(\.0+)?$"
_DATE_RE = r"^\d{4}(-\d{2}-\d{2}|/\d{2}/\d{2}|\d{4})$"
_MONTH_RE = r"^\d{4}-?\d{2}$"
_EXCEL_SERIAL_RE = r"^\d{5}(\.0+)?$"


def clean(expr: pl.Expr) -> pl.Expr:
    """Trim surrounding spaces; an empty string means missing."""
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def parse_decimal(expr: pl.Expr) -> pl.Expr:
    """``1,234.56`` / ``-12.5`` / ``100`` -> Decimal(24,6); anything else -> null."""
    return (
        pl.when(expr.str.contains(_DECIMAL_RE))
        .then(expr.str.replace_all(",", "", literal=True))
        .cast(DECIMAL, strict=False)
    )


def parse_integer(expr: pl.Expr) -> pl.Expr:
    """``42`` (or Excel's ``42.0``) -> Int64; anything else -> null."""
    return (
        pl.when(expr.str.contains(_INTEGER_RE))
        .then(expr.str.replace(r"\.0+$", ""))
        .cast(pl.Int64, strict=False)
    )


def parse_date(expr: pl.Expr, excel: bool = False) -> pl.Expr:
    """``YYYYMMDD`` / ``YYYY-MM-DD`` / ``YYYY/MM/DD`` (Excel: also a date cell) -> Date."""
    text = expr.str.replace(r"[ T]00:00:00(\.0+)?$", "")
    parsed = (
        pl.when(text.str.contains(_DATE_RE))
        .then(text.str.replace_all(r"[-/]", ""))
        .str.to_date("%Y%m%d", strict=False)
    )
    if not excel:
        return parsed
    serial = pl.when(text.str.contains(_EXCEL_SERIAL_RE)).then(
        pl.lit(dt.date(1899, 12, 30)) + pl.duration(days=text.cast(pl.Float64).cast(pl.Int64))
    )
    return pl.coalesce(parsed, serial)


def parse_month(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` / ``YYYYMM`` -> the first day of the month."""
    return (
        pl.when(expr.str.contains(_MONTH_RE))
        .then(expr.str.replace("-", "", literal=True) + "01")
        .str.to_date("%Y%m%d", strict=False)
    )


def parse(col: Column, expr: pl.Expr, excel: bool) -> pl.Expr:
    if col.type == "decimal":
        return parse_decimal(expr)
    if col.type == "integer":
        return parse_integer(expr)
    if col.type == "date":
        return parse_date(expr, excel)
    if col.type == "month":
        return parse_month(expr)
    return expr


def _literal(col: Column, value: float) -> pl.Expr:
    if col.type == "decimal":
        return pl.lit(Decimal(str(value)), dtype=DECIMAL)
    return pl.lit(int(value), dtype=pl.Int64)


def _raw(name: str) -> str:
    return f"__raw_{name}"


def column_rules(col: Column) -> list[pl.Expr]:
    """Expressions yielding the rule id of each broken column rule (null when kept)."""
    value, raw = pl.col(col.name), pl.col(_raw(col.name))
    rules: list[pl.Expr] = []

    def rule(broken: pl.Expr, rule_id: str) -> None:
        rules.append(pl.when(broken).then(pl.lit(rule_id)))

    if not col.nullable:
        rule(raw.is_null(), f"not_null:{col.name}")
    if col.type != "string":
        rule(raw.is_not_null() & value.is_null(), f"parse_{col.type}:{col.name}")
    if col.values is not None:
        rule(value.is_not_null() & ~value.is_in(list(col.values)), f"allowed_values:{col.name}")
    if col.min is not None or col.max is not None:
        out = pl.lit(False)
        if col.min is not None:
            low = _literal(col, col.min)
            out = out | ((value <= low) if col.min_exclusive else (value < low))
        if col.max is not None:
            out = out | (value > _literal(col, col.max))
        rule(value.is_not_null() & out, f"range:{col.name}")
    return rules


def delivery_date_rule(feed: Feed, business_date: dt.date) -> list[pl.Expr]:
    """The record's business date must be the delivery folder's (its month, monthly feeds)."""
    if feed.date_column is None:
        return []
    value = pl.col(feed.date_column)
    expected = business_date.replace(day=1) if feed.grain == "monthly" else business_date
    if feed.grain == "monthly" and feed.column(feed.date_column).type == "date":
        value = value.dt.month_start()
    return [
        pl.when(value.is_not_null() & (value != pl.lit(expected))).then(
            pl.lit(f"date_matches_delivery:{feed.date_column}")
        )
    ]


def reference_rules(feed: Feed, references: Mapping[str, pl.Series]) -> list[pl.Expr]:
    """A referenced code must exist in the reference data in force (``references`` by id)."""
    rules = []
    for col in feed.columns:
        if col.references is None:
            continue
        known = references.get(col.references, pl.Series(col.references, [], pl.String))
        rules.append(
            pl.when(pl.col(col.name).is_not_null() & ~pl.col(col.name).is_in(known.implode())).then(
                pl.lit(f"references:{col.references}")
            )
        )
    return rules


def duplicate_key_rule(feed: Feed) -> pl.Expr:
    """Every occurrence of a key after its first (in file order) within the delivery."""
    keys = list(feed.key)
    present = pl.all_horizontal(pl.col(k).is_not_null() for k in keys)
    key = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    return pl.when(present & ~key.is_first_distinct()).then(pl.lit("duplicate_key"))


@dataclass
class Split:
    """Typed kept records (raw-layer columns) and quarantined ones (line, rules, raw record)."""

    kept: pl.DataFrame
    quarantined: pl.DataFrame


def split_records(
    read: ReadResult,
    feed: Feed,
    business_date: dt.date,
    references: Mapping[str, pl.Series],
) -> Split:
    """Parse every contract column and split the records into kept and quarantined."""
    headers = [h for h in read.frame.columns if h != LINE]
    alias = {h: f"__h{i}" for i, h in enumerate(headers)}
    excel = read.file_format == "xlsx"
    raw_cols = []
    for col in feed.columns:
        header = read.columns.get(col.name)
        source = clean(pl.col(alias[header])) if header is not None else pl.lit(None, pl.String)
        raw_cols.append(source.alias(_raw(col.name)))
    typed = [
        parse(col, pl.col(_raw(col.name)), excel).cast(POLARS_TYPES[col.type]).alias(col.name)
        for col in feed.columns
    ]
    rules = [r for col in feed.columns for r in column_rules(col)]
    rules += delivery_date_rule(feed, business_date)
    rules += reference_rules(feed, references)
    rules.append(duplicate_key_rule(feed))
    extra = (
        pl.struct([pl.col(alias[h]).alias(h) for h in read.extras]).struct.json_encode()
        if read.extras
        else pl.lit(None, pl.String)
    )
    frame = (
        read.frame.lazy()
        .rename(alias)
        .with_columns(raw_cols)
        .with_columns(typed)
        .with_columns(
            pl.concat_str(rules, separator=";", ignore_nulls=True).alias(RULES),
            extra.alias(EXTRA),
        )
        .with_columns(pl.when(pl.col(RULES) != "").then(pl.col(RULES)).alias(RULES))
        .collect(engine="in-memory")
        .sort(LINE)
    )
    kept = frame.filter(pl.col(RULES).is_null()).select(*feed.names, EXTRA, LINE)
    record = pl.struct([pl.col(alias[h]).alias(h) for h in headers]).struct.json_encode()
    quarantined = frame.filter(pl.col(RULES).is_not_null()).select(
        LINE, pl.col(RULES).alias("rules"), record.alias(RAW_RECORD)
    )
    return Split(kept, quarantined)
