"""Unit tests of the generator's building blocks: value formatting, IDs, styles, dirty plans."""

from __future__ import annotations

import numpy as np
import polars as pl

from clientmart.generator.dirty import RECORD_KINDS, applicable_kinds, delivery_days
from clientmart.generator.formats import choose_style, decimal_text, scaled
from clientmart.generator.naming import id_numbers
from ingest.spec import load_feeds


def test_decimal_text_plain_and_with_thousands() -> None:
    values = pl.DataFrame({"v": scaled([0, 0.05, 999.99, 1000, 1234567.891, -2500.5])})
    plain = values.select(decimal_text(pl.col("v"), 2, False).alias("t"))["t"].to_list()
    assert plain == ["0.00", "0.05", "999.99", "1000.00", "1234567.89", "-2500.50"]
    grouped = values.select(decimal_text(pl.col("v"), 2, True).alias("t"))["t"].to_list()
    assert grouped == [
        " 0.00 ",
        " 0.05 ",
        " 999.99 ",
        " 1,000.00 ",
        " 1,234,567.89 ",
        " -2,500.50 ",
    ]
    rate = pl.DataFrame({"v": scaled([7.123456], 6)}).select(
        decimal_text(pl.col("v"), 6, False).alias("t")
    )
    assert rate["t"][0] == "7.123456"


def test_id_numbers_carry_birth_date_and_a_valid_check_character() -> None:
    births = np.array(["1980-05-17", "1999-12-31", "1950-01-01"], dtype="datetime64[D]")
    ids = id_numbers(np.random.default_rng(0), births).to_list()
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for value, birth in zip(ids, births, strict=True):
        assert len(value) == 18 and value[6:14] == str(birth).replace("-", "")
        total = sum(int(a) * w for a, w in zip(value[:17], weights, strict=True))
        assert "10X98765432"[total % 11] == value[17]


def test_styles_rotate_through_every_variant() -> None:
    styles = [choose_style(f, d, 42) for f in range(13) for d in range(3)]
    assert {s.encoding for s in styles} == {"utf-8", "utf-8-sig", "gbk", "gb18030"}
    assert {s.delimiter for s in styles} == {",", "|"}
    assert {s.header for s in styles} == {"english", "messy", "chinese"}
    assert {s.date_format for s in styles} == {"%Y%m%d", "%Y-%m-%d", "%Y/%m/%d"}
    assert {s.thousands for s in styles} == {True, False}
    assert {s.extra_columns for s in styles} == {True, False}


def test_dirty_kinds_follow_the_contract() -> None:
    feeds = load_feeds()
    txn = {p.kind: p for p in applicable_kinds(feeds["deposit_transactions"])}
    assert txn["bad_coded_value"].rule == "allowed_values:direction"
    assert txn["date_outside_delivery"].rule == "date_matches_delivery:txn_date"
    assert txn["negative_amount"].rule == "range:amount"
    balances = {p.kind for p in applicable_kinds(feeds["deposit_balances"])}
    assert {"unknown_institution", "unknown_product"} <= balances
    assert applicable_kinds(feeds["fx_rates"]) == []  # composite keys get no dirty rows
    every = {p.kind for f in feeds.values() for p in applicable_kinds(f)}
    assert every == set(RECORD_KINDS)
    assert delivery_days(31, 0.0) == {}
    assert len(set(delivery_days(4, 0.02).values())) == 4
