"""The range of file formats the landing contract allows, and how a file picks its format.

Each (feed, date) gets a style by rotation, so even a bank of a few days uses every encoding,
delimiter, extension, header style, date format and amount style somewhere. Values arrive
typed (dates as ``pl.Date``, decimals as scaled ``Int64``) and leave as text in the chosen
style; nothing goes through floats on the way out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from ingest.spec import Feed, load_feeds

ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
DELIMITERS = (",", "|")
EXTENSIONS = (".csv", ".txt")
HEADER_STYLES = ("english", "messy", "chinese")
DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d")
MONTH_FORMATS = {"%Y%m%d": "%Y%m", "%Y-%m-%d": "%Y-%m", "%Y/%m/%d": "%Y-%m"}
EXTRA_COLUMNS = ("etl_batch_no", "备用字段")

# Decimal places of each decimal column as generated (default 2: cents). Rates use every
# decimal the contract keeps (feeds.yml ``scale``), so a digit lost on the way shows.
DECIMAL_SCALE = {"cny_per_unit": load_feeds()["fx_rates"].column("cny_per_unit").scale, "units": 2}


def decimal_scale(column: str) -> int:
    return DECIMAL_SCALE.get(column, 2)


@dataclass(frozen=True)
class FileStyle:
    """How one delimited file is written."""

    encoding: str
    delimiter: str
    extension: str
    header: str
    date_format: str
    thousands: bool
    shuffle: bool
    extra_columns: bool
    salt: int

    def headers(self, feed: Feed) -> tuple[list[str], list[str]]:
        """(canonical column order, header texts) for this file."""
        names = feed.names
        shuffler = random.Random(self.salt)
        if self.shuffle:
            shuffler.shuffle(names)
        texts = []
        for name in names:
            col = feed.column(name)
            if self.header == "chinese":
                texts.append(col.aliases[0])
            elif self.header == "messy":
                shape = shuffler.randrange(3)
                word = name.upper() if shape == 0 else name.title() if shape == 1 else name
                texts.append(f" {word}  " if shuffler.random() < 0.5 else f"  {word}")
            else:
                texts.append(name)
        if self.extra_columns:
            texts.extend(EXTRA_COLUMNS)
        return names, texts


def choose_style(feed_index: int, day_index: int, seed: int) -> FileStyle:
    """Rotate through every allowed variant across feeds and dates (deterministic)."""
    k = feed_index * 5 + day_index * 3 + seed % 97
    return FileStyle(
        encoding=ENCODINGS[k % 4],
        delimiter=DELIMITERS[(k // 4) % 2],
        extension=EXTENSIONS[(k // 2) % 2],
        header=HEADER_STYLES[k % 3],
        date_format=DATE_FORMATS[(k + 1) % 3],
        thousands=k % 5 in (1, 3),
        shuffle=k % 2 == 1,
        extra_columns=k % 7 == 2,
        salt=k * 7919 + seed,
    )


def decimal_text(expr: pl.Expr, scale: int, thousands: bool) -> pl.Expr:
    """Scaled integer -> decimal text, optionally ``' 1,234.56 '``."""
    neg = expr < 0
    a = expr.abs()
    ip = a // 10**scale
    if thousands:
        text = ip.cast(pl.Utf8)
        for k in (1, 2, 3, 4):
            groups = [
                (ip // 1000**j % 1000).cast(pl.Utf8).str.zfill(3) for j in range(k - 1, -1, -1)
            ]
            head = (ip // 1000**k).cast(pl.Utf8)
            joined = pl.concat_str([head, *groups], separator=",")
            text = pl.when(ip >= 1000**k).then(joined).otherwise(text)
    else:
        text = ip.cast(pl.Utf8)
    if scale:
        text = text + pl.lit(".") + (a % 10**scale).cast(pl.Utf8).str.zfill(scale)
    text = pl.when(neg).then(pl.lit("-") + text).otherwise(text)
    if thousands:
        text = pl.lit(" ") + text + pl.lit(" ")
    return text


def to_text(feed: Feed, frame: pl.DataFrame, style: FileStyle) -> pl.DataFrame:
    """Typed frame with the feed's canonical columns -> all-text frame in the file's style."""
    exprs = []
    for col in feed.columns:
        e = pl.col(col.name)
        if col.type == "date":
            e = e.dt.strftime(style.date_format)
        elif col.type == "month":
            e = e.dt.strftime(MONTH_FORMATS[style.date_format])
        elif col.type == "decimal":
            e = decimal_text(e, decimal_scale(col.name), style.thousands)
        elif col.type == "integer":
            e = e.cast(pl.Utf8)
        exprs.append(e.cast(pl.Utf8).alias(col.name))
    return frame.select(exprs)


def scaled(values: ArrayLike, scale: int = 2) -> np.ndarray:
    """Float amounts -> scaled int64 (rounded half away from zero), the generator's decimals."""
    v = np.asarray(values, dtype=np.float64) * 10**scale
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)
