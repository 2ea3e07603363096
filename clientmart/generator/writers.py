"""Writing landing files: delimited text in any allowed encoding, Excel, and control files.

Rows are streamed chunk by chunk (polars formats a chunk, Python encodes its bytes), so a
file of millions of rows never sits in memory as text. A file's control file is written
last, when its record count is known: a crash mid-write leaves a file that is not delivered.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl
import xlsxwriter

from clientmart.generator.formats import EXTRA_COLUMNS, FileStyle
from ingest.spec import Feed

# xlsx files carry a creation time; a fixed one keeps files byte-identical across runs.
FIXED_CREATED = dt.datetime(2026, 1, 1)


def write_control(data_file: Path, count: int) -> Path:
    """``<file>.ok``: one line, the number of data records (header excluded)."""
    ok = data_file.with_name(data_file.name + ".ok")
    ok.write_text(f"{count}\n", encoding="ascii")
    return ok


def write_rows(
    landing: Path,
    feed: Feed,
    date: dt.date,
    rows: Iterable[Mapping[str, object]],
    name: str | None = None,
) -> Path:
    """A small delivery written as upstream would: ``<landing>/<feed>/<YYYYMMDD>/<name>``
    (default ``<feed>_<YYYYMMDD>.csv``), UTF-8, ','-delimited, the contract's column names
    as header (a value missing from a row, or None, is written empty), then its control file."""
    folder = landing / feed.name / f"{date:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{feed.name}_{date:%Y%m%d}.csv")
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=feed.names)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row[c] for c in feed.names})
            count += 1
    write_control(path, count)
    return path


class DelimitedWriter:
    """One delimited data file, written in chunks of text frames with canonical columns."""

    def __init__(self, path: Path, feed: Feed, style: FileStyle, extra_value: str = "") -> None:
        self.path = path
        self.feed = feed
        self.style = style
        self.order, header = style.headers(feed)
        self.extra_value = extra_value
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("wb")
        prefix = "\ufeff" if style.encoding == "utf-8-sig" else ""
        self._emit(prefix + style.delimiter.join(header) + "\n")

    def _emit(self, text: str) -> None:
        codec = "utf-8" if self.style.encoding == "utf-8-sig" else self.style.encoding
        self._fh.write(text.encode(codec))

    def write(self, text_frame: pl.DataFrame) -> int:
        """Append rows; returns the file line number of the first of them (header = line 1)."""
        first_line = self.count + 2
        if text_frame.height == 0:
            return first_line
        frame = text_frame.select(self.order)
        if self.style.extra_columns:
            frame = frame.with_columns(
                pl.lit(self.extra_value).alias(EXTRA_COLUMNS[0]), pl.lit("").alias(EXTRA_COLUMNS[1])
            )
        buf = io.BytesIO()
        frame.write_csv(
            buf, include_header=False, separator=self.style.delimiter, quote_style="necessary"
        )
        data = buf.getvalue()
        if self.style.encoding in ("gbk", "gb18030"):
            data = data.decode("utf-8").encode(self.style.encoding)
        self._fh.write(data)
        self.count += text_frame.height
        return first_line

    def close(self, control_count: int | None = None) -> int:
        """Close the file and write its control file (``control_count`` overrides, for tests
        of bad deliveries); returns the number of records written."""
        self._fh.close()
        write_control(self.path, self.count if control_count is None else control_count)
        return self.count


def write_xlsx(path: Path, header: list[str], rows: pl.DataFrame, numeric: set[str]) -> int:
    """A small Excel file (employer payroll batches): first sheet, header in row 1.

    ``rows`` holds text columns in ``header`` order, except those named in ``numeric``,
    which are floats written as number cells (how employers' spreadsheets carry amounts).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    wb.set_properties({"created": FIXED_CREATED, "author": "payroll"})
    ws = wb.add_worksheet("Sheet1")
    ws.write_row(0, 0, header)
    for c, name in enumerate(rows.columns):
        values = rows[name].to_list()
        if name in numeric:
            for r, v in enumerate(values, start=1):
                ws.write_number(r, c, v)
        else:
            for r, v in enumerate(values, start=1):
                ws.write_string(r, c, v)
    wb.close()
    write_control(path, rows.height)
    return rows.height
