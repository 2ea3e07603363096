"""Decoding, header mapping and value parsers, without the rest of the pipeline."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_series_equal

from ingest.decode import UndecodableFile, decode_to_utf8
from ingest.read import DeliveryRefused, read_delivery
from ingest.rules import parse_date, parse_decimal, parse_integer, parse_month
from ingest.spec import load_feeds

FX = "日期|币种|中间价\n2026-10-01|USD|7.1234\n"


def test_encodings_are_detected_strictly(tmp_path: Path):
    cases = {"bom": b"\xef\xbb\xbf" + FX.encode(), "utf8": FX.encode(), "gbk": FX.encode("gbk")}
    found = {}
    for name, data in cases.items():
        src = tmp_path / f"{name}.txt"
        src.write_bytes(data)
        decoded = decode_to_utf8(src, "auto", tmp_path)
        found[name] = decoded.encoding
        assert decoded.path.read_text(encoding="utf-8") == FX
    assert found == {"bom": "utf-8-sig", "utf8": "utf-8", "gbk": "gb18030"}


def test_configured_encoding_is_not_second_guessed(tmp_path: Path):
    src = tmp_path / "gbk.txt"
    src.write_bytes(FX.encode("gbk"))
    with pytest.raises(UndecodableFile, match="undecodable as utf-8 at byte 0"):
        decode_to_utf8(src, "utf-8", tmp_path)
    feed = dataclasses.replace(load_feeds()["fx_rates"], encoding="utf-8")
    with pytest.raises(DeliveryRefused, match="undecodable as utf-8 at byte 0"):
        read_delivery(src, feed, "fx_rates/20261001/gbk.txt", tmp_path)


def test_chinese_headers_any_case_and_order(tmp_path: Path):
    src = tmp_path / "fx.csv"
    src.write_text(" CNY_PER_UNIT ,币种,Rate_Date,note\n7.1,USD,20261001,x\n", encoding="utf-8")
    read = read_delivery(src, load_feeds()["fx_rates"], "fx", tmp_path)
    assert read.columns == {
        "cny_per_unit": " CNY_PER_UNIT ",
        "currency": "币种",
        "rate_date": "Rate_Date",
    }
    assert read.extras == ["note"] and read.delimiter == ","
    assert read.frame["_source_line"].to_list() == [2]


def test_parsers():
    frame = pl.DataFrame(
        {
            "v": [
                "20261001",
                "2026-10-01",
                "2026/10/01",
                "2026-02-30",
                "1,234.5",
                "-7",
                "12x",
                "2026-10",
                "202610",
                "3.0",
            ]
        }
    )
    got = frame.select(
        parse_date(pl.col("v")).alias("date"),
        parse_decimal(pl.col("v")).alias("dec"),
        parse_integer(pl.col("v")).alias("int"),
        parse_month(pl.col("v")).alias("month"),
    )
    day = dt.date(2026, 10, 1)
    assert got["date"].to_list()[:4] == [day, day, day, None]
    assert_series_equal(
        got["dec"].slice(4, 3),
        pl.Series("dec", [Decimal("1234.5"), Decimal("-7"), None], pl.Decimal(24, 6)),
    )
    assert got["int"].to_list()[5:] == [-7, None, None, 202610, 3]
    assert got["month"].to_list()[7:9] == [day, day]
