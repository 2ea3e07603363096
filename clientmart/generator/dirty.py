"""Bad records and bad deliveries, injected on purpose so ingest's rejections can be tested.

Dirty records are EXTRA rows appended after a chunk of clean rows (never a clean row made
bad), drawn from their own random stream: the same seed without dirty records gives exactly
the clean bank, and ingest's quarantine must give back the clean marts. Bad deliveries are
extra files in the optional ``payroll`` feed, so they cannot hold back a date's run.
Every injection is listed in ``<out>/_generator/dirty_manifest.jsonl``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from clientmart.generator.formats import FileStyle
from clientmart.generator.writers import write_control
from ingest.spec import Feed

MANIFEST = Path("_generator") / "dirty_manifest.jsonl"
# Per file, dirty rows stay well under the contract's max_bad_share (0.05), so a delivery is
# never refused whole because of them.
MAX_DIRTY_SHARE = 0.04

RECORD_KINDS = (
    "duplicate_key",
    "negative_amount",
    "unknown_institution",
    "unknown_product",
    "bad_date",
    "garbage_amount",
    "date_outside_delivery",
    "bad_coded_value",
    "missing_required_value",
)
DELIVERY_KINDS = (
    "undecodable_file",
    "control_count_mismatch",
    "missing_control_file",
    "missing_required_column",
)
DELIVERY_OUTCOME = {
    "undecodable_file": "refused:undecodable",
    "control_count_mismatch": "refused:control_count",
    "missing_control_file": "not_delivered",
    "missing_required_column": "refused:missing_column",
}


@dataclass(frozen=True)
class KindPlan:
    kind: str
    column: str
    rule: str


def applicable_kinds(feed: Feed) -> list[KindPlan]:
    """The record-level kinds that make sense for a feed, with the column they break."""
    if len(feed.key) != 1:
        return []
    key = feed.key[0]
    plans = [KindPlan("duplicate_key", key, "duplicate_key")]
    decimals = [c for c in feed.columns if c.type == "decimal" and c.min is not None]
    if decimals:
        plans.append(KindPlan("negative_amount", decimals[0].name, f"range:{decimals[0].name}"))
    for col in feed.columns:
        if col.references == "institutions.inst_code":
            plans.append(KindPlan("unknown_institution", col.name, f"references:{col.references}"))
        if col.references == "products.product_code":
            plans.append(KindPlan("unknown_product", col.name, f"references:{col.references}"))
    dates = [c for c in feed.columns if c.type == "date" and not c.nullable]
    if dates:
        target = feed.date_column or dates[0].name
        plans.append(KindPlan("bad_date", target, f"parse_date:{target}"))
    amounts = [c for c in feed.columns if c.type == "decimal"]
    if amounts:
        plans.append(
            KindPlan("garbage_amount", amounts[0].name, f"parse_decimal:{amounts[0].name}")
        )
    if feed.date_column and feed.column(feed.date_column).type == "date":
        plans.append(
            KindPlan(
                "date_outside_delivery",
                feed.date_column,
                f"date_matches_delivery:{feed.date_column}",
            )
        )
    coded_cols = [c for c in feed.columns if c.values is not None and c.type == "string"]
    if coded_cols:
        plans.append(
            KindPlan("bad_coded_value", coded_cols[0].name, f"allowed_values:{coded_cols[0].name}")
        )
    plans.append(KindPlan("missing_required_value", key, f"not_null:{key}"))
    return plans


def dirty_rows(
    gen: np.random.Generator,
    feed: Feed,
    chunk: pl.DataFrame,
    rate: float,
    style: FileStyle,
    day: dt.date,
    serial: int,
) -> tuple[pl.DataFrame, list[KindPlan]]:
    """Extra bad rows for one chunk of clean text rows (to be written right after it)."""
    plans = applicable_kinds(feed)
    n = chunk.height
    if not plans or rate <= 0 or n == 0:
        return chunk.head(0), []
    k = min(int(np.floor(n * rate + gen.random())), int(n * MAX_DIRTY_SHARE))
    if k <= 0:
        return chunk.head(0), []
    picks = [plans[i] for i in gen.integers(0, len(plans), k)]
    source = chunk[gen.integers(0, n, k)].to_dicts()
    key = feed.key[0]
    rows = []
    for i, (plan, row) in enumerate(zip(picks, source, strict=True)):
        if plan.kind != "duplicate_key":
            row[key] = f"{row[key]}X{serial + i}"
        row[plan.column] = bad_value(plan.kind, row[plan.column], style, day)
        rows.append(row)
    return pl.DataFrame(rows, schema=chunk.schema, orient="row"), picks


def bad_value(kind: str, value: str | None, style: FileStyle, day: dt.date) -> str | None:
    if kind == "duplicate_key":
        return value
    if kind == "negative_amount":
        return "-" + ((value or "").strip().lstrip("-") or "1.00")
    if kind == "unknown_institution":
        return "ZZ9999"
    if kind == "unknown_product":
        return "XX_UNKNOWN"
    if kind == "bad_date":
        return "2026-13-45"
    if kind == "garbage_amount":
        return "12x.5?"
    if kind == "date_outside_delivery":
        return (day + dt.timedelta(days=3)).strftime(style.date_format)
    if kind == "bad_coded_value":
        return "X"
    if kind == "missing_required_value":
        return None
    raise ValueError(f"unknown dirty kind {kind!r}")


class Manifest:
    """Appends one JSON line per injected bad record or bad delivery."""

    def __init__(self, out: Path) -> None:
        self.path = out / MANIFEST
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w", encoding="utf-8")
        self.records = 0
        self.deliveries = 0

    def record(self, feed: str, day: dt.date, file: str, line: int, plan: KindPlan) -> None:
        self._write(
            {
                "level": "record",
                "feed": feed,
                "business_date": day.isoformat(),
                "file": file,
                "line": line,
                "kind": plan.kind,
                "column": plan.column,
                "expected_rule": plan.rule,
            }
        )
        self.records += 1

    def delivery(self, day: dt.date, file: str, line: int | None, kind: str) -> None:
        self._write(
            {
                "level": "delivery",
                "feed": "payroll",
                "business_date": day.isoformat(),
                "file": file,
                "line": line,
                "kind": kind,
                "column": None,
                "expected_rule": DELIVERY_OUTCOME[kind],
            }
        )
        self.deliveries += 1

    def _write(self, entry: dict[str, object]) -> None:
        self._fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")

    def close(self) -> None:
        self._fh.close()


def delivery_days(n_days: int, rate: float) -> dict[int, str]:
    """Which day indexes get a bad payroll delivery, and of which kind (every kind appears
    once there are four dates)."""
    if rate <= 0 or n_days == 0:
        return {}
    step = max(1, min(n_days // len(DELIVERY_KINDS), round(1 / (25 * rate))))
    days = list(range(0, n_days, step))
    return {d: DELIVERY_KINDS[i % len(DELIVERY_KINDS)] for i, d in enumerate(days)}


def write_bad_delivery(
    out: Path, feed: Feed, kind: str, day: dt.date, rows: pl.DataFrame, manifest: Manifest
) -> Path:
    """One bad payroll file (text columns in canonical order) for ``day``."""
    folder = out / "payroll" / f"{day:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"payroll_late_{kind}.csv" if kind != "undecodable_file" else "payroll_gbk_batch.txt"
    path = folder / name
    columns = feed.names
    if kind == "missing_required_column":
        columns = [c for c in columns if c != "amount"]
    lines = [",".join(columns)] + [
        ",".join(str(r[c]) for c in columns) for r in rows.iter_rows(named=True)
    ]
    bad_line = None
    if kind == "undecodable_file":
        header = ",".join(feed.column(c).aliases[0] for c in columns)
        body = [header, *lines[1:]]
        data = [s.encode("gbk") for s in body]
        bad_line = min(2, len(data))
        data[bad_line - 1] = data[bad_line - 1] + b"\xff\xfe\x80"
        path.write_bytes(b"\n".join(data) + b"\n")
    else:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    count = rows.height
    if kind == "control_count_mismatch":
        write_control(path, count + 2)
    elif kind != "missing_control_file":
        write_control(path, count)
    manifest.delivery(day, f"payroll/{day:%Y%m%d}/{name}", bad_line, kind)
    return path
