"""The bank has the shape the domain brief describes (on small banks; numbers are checked
from the files, as ingest will see them)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
from landing_reader import amount, read_feed, read_file

from clientmart.generator.bank import apply_redeliveries, generate_bank
from clientmart.generator.clients import SETTLEMENT_BANDS
from ingest.spec import load_feeds


def test_richest_fifth_holds_60_to_70_percent_of_individual_assets(tmp_path: Path) -> None:
    generate_bank(
        tmp_path, clients=3000, start=dt.date(2026, 10, 8), end=dt.date(2026, 10, 8), seed=11
    )
    fx = read_feed(tmp_path, "fx_rates").select("currency", amount("cny_per_unit").alias("rate"))
    deposits = (
        read_feed(tmp_path, "deposit_balances")
        .join(fx, on="currency", how="left")
        .select("client_id", (amount("balance") * pl.col("rate").fill_null(1.0)).alias("cny"))
    )
    wealth = read_feed(tmp_path, "wealth_holdings").select(
        "client_id", amount("market_value").alias("cny")
    )
    people = read_feed(tmp_path, "clients").filter(pl.col("client_type") == "I")
    assets = (
        pl.concat([deposits, wealth])
        .join(people.select("client_id"), on="client_id")
        .group_by("client_id")
        .agg(pl.col("cny").sum())
        .sort("cny", descending=True)
    )
    assert assets.height > 2500
    share = assets.head(assets.height // 5)["cny"].sum() / assets["cny"].sum()
    assert 0.6 <= share <= 0.7


def test_corporate_settlement_reaches_every_band(month_bank) -> None:
    root, _ = month_bank
    corps = read_feed(root, "clients").filter(pl.col("client_type") == "C").select("client_id")
    turnover = (
        read_feed(root, "deposit_transactions")
        .join(corps, on="client_id")
        .group_by("client_id")
        .agg(amount("amount").sum().alias("cny"))
    )
    bands = np.digitize(turnover["cny"].to_numpy(), SETTLEMENT_BANDS[1:-1])
    assert set(bands) == set(range(len(SETTLEMENT_BANDS) - 1))  # <1M, 1-5M, ..., 50M and above


def test_payroll_pension_utility_and_withdrawals(month_bank) -> None:
    root, _ = month_bank
    clients = read_feed(root, "clients")
    titles = set(clients["job_title"].drop_nulls())
    assert {"executive", "legal_representative"} <= titles
    heads = clients.filter(pl.col("job_title").is_in(["executive", "legal_representative"]))
    assert heads["employer_client_id"].null_count() == 0
    txns = read_feed(root, "deposit_transactions").with_columns(amount("amount").alias("cny"))
    assert set(txns["txn_type"]) >= {
        "payroll_credit",
        "pension_credit",
        "utility_autopay",
        "transfer",
        "cash",
        "card",
        "fee",
    }
    assert set(txns["direction"]) == {"C", "D"} and set(txns["channel"]) == set(
        load_feeds()["deposit_transactions"].column("channel").values
    )
    # Some single-account clients pay more than 100 CNY a month in utilities.
    balances = read_feed(root, "deposit_balances")
    accounts = balances.group_by("client_id").agg(pl.col("account_id").n_unique().alias("n"))
    single = accounts.filter(pl.col("n") == 1).select("client_id")
    big_utility = (
        txns.filter(pl.col("txn_type") == "utility_autopay")
        .join(single, on="client_id")
        .filter(pl.col("cny") > 100)
    )
    assert big_utility.height > 0
    # Some payroll or pension credits leave again the same day.
    credits = txns.filter(pl.col("txn_type").is_in(["payroll_credit", "pension_credit"]))
    debits = txns.filter(pl.col("direction") == "D").select(
        "account_id", "folder", pl.col("cny").alias("out")
    )
    gone = credits.join(debits, on=["account_id", "folder"]).filter(
        pl.col("out") >= 0.9 * pl.col("cny")
    )
    assert gone.height > 0


def test_accounts_fx_loans_and_lifecycle(month_bank) -> None:
    root, _ = month_bank
    balances = read_feed(root, "deposit_balances")
    assert {"USD", "EUR", "HKD"} <= set(balances["currency"])
    fx = read_feed(root, "fx_rates")
    assert fx.group_by("folder").len()["len"].min() >= 5
    per_account = balances.group_by("account_id").agg(
        pl.col("folder").min().alias("first"), pl.col("folder").max().alias("last")
    )
    assert per_account.filter(pl.col("first") > "20261001").height > 0  # opened mid-period
    assert per_account.filter(pl.col("last") < "20261031").height > 0  # closed mid-period
    products = read_feed(root, "products")
    loans = read_feed(root, "loan_balances").join(
        products.unique("product_code"), on="product_code"
    )
    assert set(loans["product_category"]) == {
        "loan_fixed_asset",
        "loan_working_capital",
        "loan_real_estate",
        "bill_discount",
        "guarantee",
    }


def test_wealth_holdings_and_orders(month_bank) -> None:
    root, _ = month_bank
    products = read_feed(root, "products").unique("product_code")
    holdings = read_feed(root, "wealth_holdings").join(products, on="product_code")
    assert set(holdings["product_category"]) == {
        "fund",
        "wmp",
        "bond",
        "insurance",
        "precious_metal",
    }
    orders = read_feed(root, "wealth_orders").join(products, on="product_code")
    assert "insurance" in set(orders["product_category"])
    assert set(orders["status"]) == {"filled", "cancelled"}
    assert set(orders["side"]) == {"buy", "redeem"}


def test_orders_redelivered_later_as_cancelled(tmp_path: Path) -> None:
    generate_bank(
        tmp_path, clients=300, start=dt.date(2026, 10, 12), end=dt.date(2026, 10, 18), seed=2
    )
    listing = (tmp_path / "_generator" / "redeliveries.jsonl").read_text().splitlines()
    entry = json.loads(listing[0])
    path = tmp_path / entry["file"]
    before = read_file(path, "wealth_orders")
    day = dt.date.fromisoformat(entry["deliver_after"])
    assert apply_redeliveries(tmp_path, day - dt.timedelta(days=1)) == []
    assert apply_redeliveries(tmp_path, day) == [path]
    after = read_file(path, "wealth_orders")
    assert after["order_id"].to_list() == before["order_id"].to_list()
    changed = after.filter(pl.col("status") != pl.Series(before["status"]))
    assert changed.height == entry["orders_cancelled"]
    assert set(changed["status"]) == {"cancelled"}
    assert path.with_name(path.name + ".ok").read_text() == f"{after.height}\n"


def test_crm_targets_pipeline_contacts(month_bank) -> None:
    root, _ = month_bank
    targets = read_feed(root, "rm_targets").with_columns(amount("target_value").alias("v"))
    first = targets.filter(pl.col("folder") == "20261001")
    assert set(first["metric"]) == set(load_feeds()["rm_targets"].column("metric").values)
    sales = first.filter(pl.col("metric") == "investment_sales")["v"]
    assert 1.5e6 < sales.median() < 3.5e6
    assert targets.filter(pl.col("folder") == "20261015").height > 0  # a correction
    pipeline = read_feed(root, "pipeline")
    assert set(pipeline["stage"]) == {"committed", "considering", "early"}
    assert set(pipeline["status"]) == {"open", "won", "lost"}
    contacts = read_feed(root, "contacts")
    familiarity = contacts["familiarity"].cast(pl.Int64)
    assert familiarity.min() == 0 and familiarity.max() == 9
    assert set(contacts["attitude"]) == {"resistant", "neutral", "positive"}
