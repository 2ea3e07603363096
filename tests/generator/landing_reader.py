"""A minimal reader of generated landing files for the generator's own tests.

It is not the project's ingest (that lives in ``ingest/``); it only decodes what the
generator writes so the tests can check shapes and numbers independently of ingest.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from ingest.spec import load_feeds, normalise_header


def decode(path: Path) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not) first, then GB18030 (a superset of GBK)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), ("utf-8-sig" if raw[:3] == b"\xef\xbb\xbf" else "utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"


def read_file(path: Path, feed_name: str) -> pl.DataFrame:
    """All contract columns as text under their canonical names (extras dropped)."""
    feed = load_feeds()[feed_name]
    mapping = feed.header_map()
    if path.suffix == ".xlsx":
        frame = pl.read_excel(path, engine="calamine", infer_schema_length=0)
    else:
        text, _ = decode(path)
        header = text.split("\n", 1)[0]
        sep = "|" if "|" in header else ","
        frame = pl.read_csv(io.StringIO(text), separator=sep, infer_schema=False)
    renamed = {
        c: mapping[normalise_header(c)] for c in frame.columns if normalise_header(c) in mapping
    }
    present = set(renamed.values())
    return frame.rename(renamed).select([c for c in feed.names if c in present]).cast(pl.Utf8)


def data_files(root: Path, feed_name: str) -> list[Path]:
    return sorted(
        p for p in (root / feed_name).glob("*/*") if p.suffix in (".csv", ".txt", ".xlsx")
    )


def read_feed(root: Path, feed_name: str) -> pl.DataFrame:
    frames = [
        read_file(p, feed_name).with_columns(pl.lit(p.parent.name).alias("folder"))
        for p in data_files(root, feed_name)
    ]
    return pl.concat(frames, how="diagonal") if frames else pl.DataFrame()


def amount(col: str) -> pl.Expr:
    """Decimal text (thousands separators, spaces) -> float, for test arithmetic only."""
    return pl.col(col).str.strip_chars().str.replace_all(",", "").cast(pl.Float64)
