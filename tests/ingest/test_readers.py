"""Decoding, header mapping and value parsers, without the rest of the pipeline."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_series_equal

from ingest.decode import (
    UndecodableFile,
    decode_piece,
    detect_encoding,
    last_record_end,
    record_pieces,
)
from ingest.read import (
    DeliveryRefused,
    _without_trailing_blank_lines,
    read_delivery,
    read_delivery_parts,
)
from ingest.rules import (
    clean,
    decimal_shape,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_month,
)
from ingest.spec import load_feeds

FX = "日期|币种|中间价\n2026-10-01|USD|7.1234\n"


def test_encodings_are_detected_strictly(tmp_path: Path):
    cases = {"bom": b"\xef\xbb\xbf" + FX.encode(), "utf8": FX.encode(), "gbk": FX.encode("gbk")}
    found = {}
    for name, data in cases.items():
        src = tmp_path / f"{name}.txt"
        src.write_bytes(data)
        encoding = detect_encoding(src, "auto")
        found[name] = encoding.name
        text = b"".join(
            decode_piece(piece, encoding, offset)
            for offset, piece in record_pieces(src, encoding.skip, 8)
        )
        assert text.decode("utf-8") == FX
    assert found == {"bom": "utf-8-sig", "utf8": "utf-8", "gbk": "gb18030"}


def test_configured_encoding_is_not_second_guessed(tmp_path: Path):
    src = tmp_path / "gbk.txt"
    src.write_bytes(FX.encode("gbk"))
    with pytest.raises(UndecodableFile, match="undecodable as utf-8 at byte 0"):
        detect_encoding(src, "utf-8")
    feed = dataclasses.replace(load_feeds()["fx_rates"], encoding="utf-8")
    with pytest.raises(DeliveryRefused, match="undecodable as utf-8 at byte 0"):
        read_delivery(src, feed, "fx_rates/20261001/gbk.txt")


def test_a_feed_configured_as_gbk_reads_what_detection_cannot_tell(tmp_path: Path):
    """陆露 in GBK is also valid UTF-8 (½¶): under ``auto`` such a file is refused
    (``ambiguous_encoding``); the feed's configured encoding reads it, and ``utf-8`` too."""
    src = tmp_path / "fx.csv"
    src.write_bytes("rate_date,currency,cny_per_unit,note\n20261001,USD,7.1,陆露\n".encode("gbk"))
    feed = load_feeds()["fx_rates"]
    with pytest.raises(DeliveryRefused, match="encoding cannot be told") as refused:
        read_delivery(src, feed, "fx")
    assert refused.value.rule == "ambiguous_encoding"
    for encoding, note in (("gbk", "陆露"), ("utf-8", "½¶")):
        read = read_delivery(src, dataclasses.replace(feed, encoding=encoding), "fx")
        assert (read.encoding, read.frame["note"].to_list()) == (encoding, [note])


def test_chinese_headers_any_case_and_order(tmp_path: Path):
    src = tmp_path / "fx.csv"
    src.write_text(" CNY_PER_UNIT ,币种,Rate_Date,note\n7.1,USD,20261001,x\n", encoding="utf-8")
    read = read_delivery(src, load_feeds()["fx_rates"], "fx")
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


def test_decimals_take_a_plus_and_a_point_with_digits_on_one_side():
    """The contract's amounts are decimal numbers: an export that writes ``+5``, ``.5`` or
    ``5.`` (DB2's DEL files sign every number) sent them to quarantine as parse_decimal."""
    values = ["+5", ".5", "5.", "-.5", "+1,234.50", "-5.", ".", "+", "-", "1..2", "+-1", "1.2."]
    got = pl.DataFrame({"v": values}).select(parse_decimal(pl.col("v")))["v"].to_list()
    expected = ["5", "0.5", "5", "-0.5", "1234.5", "-5", None, None, None, None, None, None]
    assert got == [None if e is None else Decimal(e) for e in expected]


# Unicode white space (what strip_chars removes) and look-alikes that are not white space
SPACES = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2002", "\u2009",
          "\u2028", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff", "\x1f"]  # fmt: skip


def messy_decimals() -> list[str | None]:
    """Thousands separators right and wrong, spaces of every kind, signs, exponents, garbage,
    empty and blank cells, huge values, Excel's cells, other scripts' digits."""
    import random

    rng = random.Random(20261203)
    alphabet = [*"0123456789" * 4, *",.-+eE x_", "\u0661", "\uff11", *SPACES]
    values: list[str | None] = [
        *("", None, "   ", " 9,061.93 ", "1,234", "12,34", "1,2345", ",123", "1,234,", "-0"),
        *("+5", ".5", "5.", "-.5", "1..2", "--1", "1e5", "NaN", "inf", "42.0", "-1,000.5"),
        *("9" * 18, "9" * 19, "9" * 30, "1" + ",000" * 6 + ".1234567", "0.0000001", "１２３"),
        *(f"{s}-1,234.5{t}" for s in SPACES for t in SPACES),
    ]
    for _ in range(20_000):
        values.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))))
    for _ in range(5_000):  # well-formed amounts with padding, the common case
        whole = f"{rng.randint(0, 10 ** rng.randint(1, 12)):,}"
        values.append(
            f"{rng.choice(SPACES) * rng.randint(0, 2)}{rng.choice(['', '-'])}"
            f"{whole.replace(',', '') if rng.random() < 0.5 else whole}"
            f"{rng.choice(['', '.5', '.25', '.123456', '.1234567'])}"
            f"{rng.choice(SPACES) * rng.randint(0, 2)}"
        )
    return values


def test_decimal_shape_on_the_raw_text_parses_as_the_cleaned_text():
    """The decimal shape guard runs on the raw text, in the stage that cleans it
    (``decimal_shape``): the typed values are those of guarding the cleaned text."""
    frame = pl.DataFrame({"v": messy_decimals()}, schema={"v": pl.String})
    strict = frame.select(parse_decimal(clean(pl.col("v"))).alias("d"))["d"]
    staged = (
        frame.lazy()
        .with_columns(clean(pl.col("v")).alias("raw"), decimal_shape(pl.col("v")).alias("shape"))
        .select(parse_decimal(pl.col("raw"), shape=pl.col("shape")).alias("d"))
        .collect()["d"]
    )
    assert_series_equal(staged, strict)
    assert 1_000 < strict.is_not_null().sum() < len(frame) - 1_000  # both kinds well covered


def test_a_piece_never_ends_inside_quotes():
    assert last_record_end(b'a,b\n1,"x\ny"\n2,') == len(b'a,b\n1,"x\ny"\n')
    assert last_record_end(b'1,"x\ny') == 0  # the only line feed is quoted
    assert last_record_end(b'1,"say ""hi""\n"\n2') == len(b'1,"say ""hi""\n"\n')
    assert last_record_end(b"no line feed") == 0


def test_pieces_read_as_the_whole_file(tmp_path: Path):
    """Small pieces give the same records, on the same lines, as one read: quoted fields
    with line breaks, CRLF, GBK text, and trailing blank lines that are not records."""
    rows = [
        f'2026-10-01,USD,7.{i:04d},"备注 {i}\r\nsecond line"'
        if i % 7 == 0
        else f"2026-10-01,USD,7.{i:04d},plain {i}"
        for i in range(60)
    ]
    text = "rate_date,currency,cny_per_unit,note\r\n" + "\r\n".join(rows) + "\r\n\r\n\n"
    src = tmp_path / "fx.txt"
    src.write_bytes(text.encode("gbk"))
    feed = load_feeds()["fx_rates"]
    whole = read_delivery(src, feed, "fx")
    parts = list(read_delivery_parts(src, feed, "fx", chunk_bytes=64))
    assert len(parts) > 10
    assert [p.last for p in parts] == [False] * (len(parts) - 1) + [True]
    assert whole.last
    pieced = pl.concat([p.frame for p in parts])
    assert pieced.equals(whole.frame)
    assert whole.frame.height == 60
    lines = whole.frame["_source_line"].to_list()
    assert lines[:9] == [2, 4, 5, 6, 7, 8, 9, 10, 12]  # record 0 and 7 span two lines
    assert whole.frame["note"][7] == "备注 7\r\nsecond line"


def test_undecodable_byte_in_a_later_piece_is_located(tmp_path: Path):
    good = FX.encode("gbk") + "2026-10-02|USD|7.2\n".encode("gbk") * 50
    src = tmp_path / "fx.txt"
    src.write_bytes(good + b"2026-10-03|\xff\xff|7\n")
    feed = dataclasses.replace(load_feeds()["fx_rates"], encoding="gbk")
    with pytest.raises(DeliveryRefused, match=f"undecodable as gbk at byte {len(good) + 11}"):
        list(read_delivery_parts(src, feed, "fx", chunk_bytes=100))


def test_a_bad_byte_in_a_later_piece_of_a_gbk_file_refuses_it_at_its_offset(tmp_path: Path):
    """A GBK/GB18030 file is checked strictly as each piece is decoded (not in a pass of its
    own first): a bad byte far into the file still refuses the whole delivery, at its offset."""
    good = FX.encode("gbk") + "2026-10-02|USD|7.2000\n".encode("gbk") * 50
    src = tmp_path / "fx.txt"
    src.write_bytes(good + b"2026-10-03|\xff\xfe|7.3\n")
    feed = load_feeds()["fx_rates"]
    assert detect_encoding(src, "auto").name == "gb18030"
    line = good.count(b"\n") + 1  # the bad record's line, as an editor shows it
    with pytest.raises(
        DeliveryRefused, match=rf"undecodable as gb18030 at byte {len(good) + 11} \(line {line}\)"
    ):
        list(read_delivery_parts(src, feed, "fx_rates/20261003/fx.txt", chunk_bytes=64))


def test_a_file_of_one_piece_is_checked_as_utf8_by_its_parser(tmp_path: Path):
    """A file that fits in one piece is not decoded by Python first: polars refuses invalid
    UTF-8 while it parses, and only then is the file checked again, so the outcome is the
    one a check first gives. English headers over GBK records (the header decodes as UTF-8)
    and Chinese headers in GBK are both read as GB18030 under `auto`; a feed configured as
    UTF-8 refuses the file at the first bad byte; a last line without a line feed (two
    pieces) is checked first."""
    feed = load_feeds()["fx_rates"]
    english = "rate_date|currency|cny_per_unit|note\n2026-10-01|USD|7.1|备注\n"
    cases = {
        "english_gbk.txt": (english.encode("gbk"), "gb18030"),
        "chinese_gbk.txt": (FX.encode("gbk"), "gb18030"),
        "utf8.txt": (english.encode(), "utf-8"),
        "bom.txt": (b"\xef\xbb\xbf" + english.encode(), "utf-8-sig"),
        "no_last_line_feed.txt": (english.encode("gbk").rstrip(b"\n"), "gb18030"),
        # 妡 is 0x8A 0x7C in GBK: read as UTF-8 bytes, its second byte would split a field
        "pipe_byte_gbk.txt": (english.replace("备注", "妡").encode("gbk"), "gb18030"),
    }
    for name, (data, expected) in cases.items():
        src = tmp_path / name
        src.write_bytes(data)
        parts = list(read_delivery_parts(src, feed, name))
        assert {p.encoding for p in parts} == {expected}, name
        frame = pl.concat([p.frame for p in parts])
        text = data.decode("utf-8-sig" if expected.startswith("utf") else "gb18030")
        assert frame.height == text.strip("\n").count("\n") == 1, name
        assert frame["_source_line"].to_list() == [2]
    assert read_delivery(tmp_path / "english_gbk.txt", feed, "x").frame["note"][0] == "备注"
    assert read_delivery(tmp_path / "pipe_byte_gbk.txt", feed, "x").frame["note"][0] == "妡"

    bad = english.encode() + b"2026-10-02|USD|7.2|\xff\n"
    src = tmp_path / "bad.txt"
    src.write_bytes(bad)
    configured = dataclasses.replace(feed, encoding="utf-8")
    at = bad.index(b"\xff")
    with pytest.raises(DeliveryRefused, match=f"undecodable as utf-8 at byte {at}"):
        list(read_delivery_parts(src, configured, "fx_rates/20261002/bad.txt"))
    with_bom = b"\xef\xbb\xbf" + bad
    src.write_bytes(with_bom)  # a BOM says UTF-8: no second guess under `auto` either
    with pytest.raises(DeliveryRefused, match=f"at byte {at + 3}"):
        list(read_delivery_parts(src, feed, "fx_rates/20261002/bad.txt"))


def test_trailing_blank_lines_go_and_a_clean_end_is_not_copied():
    piece = b"a,b\n1,2\n"
    assert _without_trailing_blank_lines(piece) is piece
    assert _without_trailing_blank_lines(b"a,b\r\n1,2\r\n\r\n\n") == b"a,b\r\n1,2\n"
    assert _without_trailing_blank_lines(b"a,b\n1,2") == b"a,b\n1,2\n"
    long_tail = b"a,b\n1,2" + b"\r\n" * 100
    assert _without_trailing_blank_lines(long_tail) == b"a,b\n1,2\n"
    assert _without_trailing_blank_lines(b"x" * 100 + b"\n") == b"x" * 100 + b"\n"
    assert _without_trailing_blank_lines(b"\n\r\n") == b""


def test_a_valid_utf8_file_of_one_piece_is_not_decoded_by_python(tmp_path, monkeypatch):
    import ingest.decode

    checked = []
    monkeypatch.setattr(ingest.decode, "_check", lambda *args, **kw: checked.append(args))
    src = tmp_path / "fx.txt"
    src.write_bytes(FX.encode())
    (part,) = read_delivery_parts(src, load_feeds()["fx_rates"], "fx")
    assert part.encoding == "utf-8" and part.frame.height == 1
    assert checked == []
    list(read_delivery_parts(src, load_feeds()["fx_rates"], "fx", chunk_bytes=8))
    assert len(checked) == 1  # a file of several pieces is checked before it is read
