"""The landing contract, loaded from ``feeds.yml`` into typed objects.

Everything that needs to know a feed's columns (the reader, the record rules, the
great-expectations suites, the sample-bank generator, the arrival sensor) reads it from here,
so the contract is written down once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("feeds.yml")

COLUMN_TYPES = ("string", "date", "decimal", "integer", "month")
# Digits a decimal column keeps after the point (its raw-layer type is DECIMAL(18 + scale,
# scale): 18 digits before the point whatever the scale). Further digits are rounded half
# to even at ingest (docs/ingest.md, step 5).
DEFAULT_SCALE = 6
MAX_SCALE = 20  # DuckDB's and Parquet's DECIMAL hold at most 38 digits
FEED_KINDS = ("required_daily", "reference", "optional")
ENCODINGS = ("auto", "utf-8", "gbk", "gb18030")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    # every header alias taken: the contract's (feeds.yml ``aliases``), then the project's
    # own (``more_aliases``), which give way to the contract's names (ingest.read.map_header)
    aliases: tuple[str, ...] = ()
    contract_aliases: tuple[str, ...] = ()
    required: bool = True
    nullable: bool = False
    values: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    pii: bool = False
    references: str | None = None
    scale: int | None = None  # decimals only: digits kept after the point

    @property
    def contract_headers(self) -> tuple[str, ...]:
        """The header texts the landing contract names the column by: its English name and
        the contract's aliases."""
        return (self.name, *self.contract_aliases)

    @property
    def reference_feed(self) -> str | None:
        return self.references.split(".")[0] if self.references else None

    @property
    def reference_column(self) -> str | None:
        return self.references.split(".")[1] if self.references else None


@dataclass(frozen=True)
class Feed:
    name: str
    kind: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    date_column: str | None = None
    # days the date column may lie either side of the folder's date (0: equal to it)
    date_window_days: int = 0
    max_bad_share: float = 0.05
    encoding: str = "auto"
    column_index: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def column(self, name: str) -> Column:
        return self.column_index[name]

    def delivery_window(self, business_date: dt.date) -> tuple[dt.date, dt.date]:
        """First and last value ``date_column`` may hold in the delivery of ``business_date``:
        the folder's date (``date_window_days`` either side of it), or its month for a
        monthly feed."""
        if self.grain == "monthly":
            first = business_date.replace(day=1)
            return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        window = dt.timedelta(days=self.date_window_days)
        return business_date - window, business_date + window

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def header_map(self) -> dict[str, str]:
        """Normalised header text (English name or alias, lower-cased) -> canonical name."""
        mapping: dict[str, str] = {}
        for col in self.columns:
            for label in (col.name, *col.aliases):
                mapping[normalise_header(label)] = col.name
        return mapping


def normalise_header(text: str) -> str:
    return text.strip().lstrip("\ufeff").strip().lower()


def _column(name: str, raw: dict[str, Any]) -> Column:
    if raw["type"] not in COLUMN_TYPES:
        raise ValueError(f"feeds.yml: column {name}: unknown type {raw['type']!r}")
    values = raw.get("values")
    scale = raw.get("scale")
    if raw["type"] == "decimal":
        scale = DEFAULT_SCALE if scale is None else scale
        if not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE:
            raise ValueError(
                f"feeds.yml: column {name}: scale must be 0..{MAX_SCALE}, not {scale!r}"
            )
    elif scale is not None:
        raise ValueError(f"feeds.yml: column {name}: scale is for decimal columns only")
    return Column(
        name=name,
        type=raw["type"],
        aliases=(*raw.get("aliases", ()), *raw.get("more_aliases", ())),
        contract_aliases=tuple(raw.get("aliases", ())),
        required=raw.get("required", True),
        nullable=raw.get("nullable", False),
        values=tuple(values) if values is not None else None,
        min=raw.get("min"),
        max=raw.get("max"),
        min_exclusive=raw.get("min_exclusive", False),
        pii=raw.get("pii", False),
        references=raw.get("references"),
        scale=scale,
    )


def _date_window(feed: str, raw: dict[str, Any]) -> int:
    days = raw.get("date_window_days", 0)
    if not isinstance(days, int) or days < 0:
        raise ValueError(f"feeds.yml: feed {feed}: date_window_days must be a whole number >= 0")
    if days and (raw["grain"] != "daily" or raw.get("date_column") is None):
        raise ValueError(f"feeds.yml: feed {feed}: date_window_days needs a daily date_column")
    return days


@cache
def load_feeds(path: Path = SPEC_PATH) -> dict[str, Feed]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = doc.get("defaults", {})
    default_share = defaults.get("max_bad_share", 0.05)
    default_encoding = defaults.get("encoding", "auto")
    feeds: dict[str, Feed] = {}
    for name, raw in doc["feeds"].items():
        if raw["kind"] not in FEED_KINDS:
            raise ValueError(f"feeds.yml: feed {name}: unknown kind {raw['kind']!r}")
        columns = tuple(_column(c, spec) for c, spec in raw["columns"].items())
        encoding = raw.get("encoding", default_encoding)
        if encoding not in ENCODINGS:
            raise ValueError(f"feeds.yml: feed {name}: unknown encoding {encoding!r}")
        feeds[name] = Feed(
            name=name,
            kind=raw["kind"],
            grain=raw["grain"],
            key=tuple(raw["key"]),
            columns=columns,
            date_column=raw.get("date_column"),
            date_window_days=_date_window(name, raw),
            max_bad_share=raw.get("max_bad_share", default_share),
            encoding=encoding,
            column_index={c.name: c for c in columns},
        )
    return feeds


def feeds_of_kind(kind: str) -> list[Feed]:
    return [f for f in load_feeds().values() if f.kind == kind]
