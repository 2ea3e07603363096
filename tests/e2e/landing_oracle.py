"""An independent reading of landing files for end-to-end assertions.

Deliberately written with the standard library only and without the ingest package or the
dbt models, so the end-to-end tests compare the warehouse with a second, simple
implementation of the contract rather than with itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

SPEC = Path(__file__).resolve().parents[2] / "ingest" / "feeds.yml"


def _aliases(feed: str) -> dict[str, str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["feeds"][feed]["columns"]
    out = {}
    for name, col in spec.items():
        for label in [name, *col.get("aliases", []), *col.get("more_aliases", [])]:
            out[label.strip().lower()] = name
    return out


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def parse_date(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(text)


def parse_amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "").strip())


def records(landing: Path, feed: str, day: dt.date) -> Iterator[dict[str, str]]:
    """Every record of every complete delimited file of a feed for one date (header mapped)."""
    folder = landing / feed / day.strftime("%Y%m%d")
    if not folder.is_dir():
        return
    aliases = _aliases(feed)
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".csv", ".txt") or not path.with_name(path.name + ".ok").exists():
            continue
        text = _decode(path.read_bytes())
        first = text.split("\n", 1)[0]
        delimiter = "|" if first.count("|") > first.count(",") else ","
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = [aliases.get(h.strip().lower(), h.strip().lower()) for h in next(rows)]
        for row in rows:
            if row:
                yield dict(zip(header, row, strict=False))


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
