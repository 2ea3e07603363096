"""A decimal column keeps the digits its ``scale`` in feeds.yml says, and rounds only beyond.

The contract's amounts are decimal numbers; the raw layer is DECIMAL, never floats. Money has
2 decimals, but an FX rate per unit of a currency quoted the other way round (1 CNY = 190.12
KRW) has no short decimal form: with the 6 decimals every decimal column had, KRW's
0.0052598312 became 0.005260 without a word, and a balance of 1e9 KRW converted 168.80 CNY
too high. ``cny_per_unit`` keeps 10 decimals (DECIMAL(28,10)); further digits round half to
even, and a value with more than 18 digits before the point is quarantined.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ingest import store
from ingest.pipeline import ingest_feed
from ingest.rules import column_type
from ingest.spec import load_feeds

DAY = dt.date(2026, 10, 1)  # the date conftest.py lands files for


def test_fx_rates_keep_ten_decimals_and_round_half_to_even_beyond(reference_bank, land):
    land(
        "fx_rates",
        "fx_rates.csv",
        "rate_date,currency,cny_per_unit\n"
        "20261001,KRW,0.0052598312\n"
        "20261001,IDR,0.00044712345678\n"  # 11th decimal and beyond: rounded up
        "20261001,VND,0.000285123450\n"  # exactly half at the 11th: to even (…4)
        "20261001,USD,7.1234\n"
        '20261001,JPY,"0.047512"\n',
    )
    result = ingest_feed(reference_bank, "fx_rates", DAY)
    assert result.ok and result.files[0].records_kept == 5
    [path] = store.data_files(reference_bank.raw, "fx_rates", DAY)
    raw = pl.read_parquet(path)
    assert raw.schema["cny_per_unit"] == pl.Decimal(28, 10)
    assert dict(zip(raw["currency"], raw["cny_per_unit"], strict=True)) == {
        "KRW": Decimal("0.0052598312"),
        "IDR": Decimal("0.0004471235"),
        "VND": Decimal("0.0002851234"),
        "USD": Decimal("7.1234"),
        "JPY": Decimal("0.047512"),
    }
    # the feed's schema file (the first file of dbt's glob) carries the same type
    schema_file = store.partition(reference_bank.raw, "fx_rates", store.SCHEMA_DATE)
    assert pl.read_parquet_schema(schema_file / store.SCHEMA_FILE)["cny_per_unit"] == (
        pl.Decimal(28, 10)
    )


def test_money_keeps_six_decimals_and_an_amount_too_large_is_quarantined(reference_bank, land):
    header = "balance_date,account_id,client_id,inst_code,product_code,currency,balance\n"
    land(
        "deposit_balances",
        "db.csv",
        header + "20261001,A1,C001,B001,DD01,CNY,100.0000005\n"  # half: to even (0)
        "20261001,A2,C001,B001,DD01,CNY,100.0000015\n"  # half: to even (2)
        '20261001,A3,C001,B001,DD01,CNY,"123,456,789,012,345,678.99"\n'  # 18 digits
        + "".join(f"20261001,B{i},C001,B001,DD01,CNY,{i}.25\n" for i in range(30))
        + "20261001,A4,C001,B001,DD01,CNY,1234567890123456789.5\n",  # 19 digits
    )
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and (result.files[0].records_kept, result.files[0].records_quarantined) == (
        33,
        1,
    )
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    got = dict(zip(raw["account_id"], raw["balance"], strict=True))
    assert (got["A1"], got["A2"], got["A3"]) == (
        Decimal("100.000000"),
        Decimal("100.000002"),
        Decimal("123456789012345678.990000"),
    )
    [path] = store.data_files(reference_bank.quarantine, "deposit_balances", DAY)
    quarantined = pl.read_parquet(path)
    assert quarantined["rules"].to_list() == ["parse_decimal:balance"]
    assert quarantined["_source_line"].to_list() == [35]


def _spec(tmp_path: Path, column: str) -> Path:
    path = tmp_path / f"feeds_{len(list(tmp_path.iterdir()))}.yml"  # load_feeds caches by path
    path.write_text(
        "feeds:\n  f:\n    kind: optional\n    grain: daily\n    key: [k]\n"
        f"    columns:\n      k: {{type: string}}\n      {column}\n",
        encoding="utf-8",
    )
    return path


def test_scale_is_checked_when_the_contract_loads(tmp_path: Path):
    default = load_feeds(_spec(tmp_path, "v: {type: decimal}"))["f"].column("v")
    assert (default.scale, column_type(default)) == (6, pl.Decimal(24, 6))
    wide = load_feeds(_spec(tmp_path, "v: {type: decimal, scale: 20}"))["f"].column("v")
    assert column_type(wide) == pl.Decimal(38, 20)
    with pytest.raises(ValueError, match=r"column v: scale must be 0\.\.20, not 21"):
        load_feeds(_spec(tmp_path, "v: {type: decimal, scale: 21}"))
    with pytest.raises(ValueError, match="column v: scale is for decimal columns only"):
        load_feeds(_spec(tmp_path, "v: {type: string, scale: 2}"))
