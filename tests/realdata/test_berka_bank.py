"""A real bank the project did not generate: the Berka data set (../shared/realdata/berka)
delivered under the contract (clientmart.realdata.berka) and run through the Dagster job.

Four days across a month end (1994-01-30..02-02, delivered as 2026), two copies of the bank.
The figures are checked against the data set's own files read here with the csv module,
not against the landing files or the models: a balance is the bank's stated balance after
the account's last transaction of the day (by transaction number), in CZK at the delivered
rate. Some accounts are overdrawn (8 or 9 on each of these days, 1475 and 9703 on all):
the contract sets no sign on a deposit balance, so they are kept with their negative
balance and count in the marts' sums.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import polars as pl
import pytest

from clientmart.realdata.berka import CNY_PER_CZK, SOURCE, deliver_berka
from clientmart.serving.publish import serving_path
from clientmart.settings import Settings
from orchestration.build import build_definitions
from orchestration.runner import backfill, dagster_instance, run_dates

FIRST, LAST = dt.date(1994, 1, 30), dt.date(1994, 2, 2)
DAYS = [FIRST + dt.timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
COPIES = 2
OVERDRAWN = {"1475", "9703"}  # two of the accounts below zero on all four days


def _moved(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 32)


def _asc(name: str) -> list[dict[str, str]]:
    with (SOURCE / name).open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _berka_date(text: str) -> dt.date:
    return dt.datetime.strptime(text[:6], "%y%m%d").date()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("berka"))
    deliver_berka(settings.landing, FIRST, LAST, copies=COPIES)
    defs = build_definitions(settings)
    instance = dagster_instance(settings)
    first, last = _moved(FIRST), _moved(LAST)
    outcomes = backfill(settings, defs, instance, first, last - dt.timedelta(days=1))
    outcomes += run_dates(settings, defs, instance, last, last)
    assert [o.success for o in outcomes] == [True, True], [o.describe() for o in outcomes]
    return settings


def _closing_balances() -> dict[dt.date, dict[str, Decimal]]:
    """Per day of DAYS: the closing balance of every account open by then (0 before its
    first transaction), from the data set's transactions."""
    opened = {a["account_id"]: _berka_date(a["date"]) for a in _asc("account.asc")}
    stated: dict[str, list[tuple[dt.date, int, Decimal]]] = defaultdict(list)
    for t in _asc("trans_partial_first49102rows.asc"):
        day = _berka_date(t["date"])
        if day <= LAST:
            stated[t["account_id"]].append((day, int(t["trans_id"]), Decimal(t["balance"])))
    out: dict[dt.date, dict[str, Decimal]] = {}
    for day in DAYS:
        out[day] = {}
        for account, opened_on in opened.items():
            if opened_on > day:
                continue
            before = sorted(x for x in stated[account] if x[0] <= day)
            out[day][account] = before[-1][2] if before else Decimal(0)
    return out


def _region_of_account() -> dict[str, str]:
    """The region of the account owner's home district (the client assets mart counts a
    client's deposits at the client's branch)."""
    region = {d["A1"]: d["A3"] for d in _asc("district.asc")}
    client_district = {c["client_id"]: c["district_id"] for c in _asc("client.asc")}
    return {
        d["account_id"]: region[client_district[d["client_id"]]]
        for d in _asc("disp.asc")
        if d["type"] == "OWNER"
    }


def _expected_assets() -> dict[tuple[str, dt.date], tuple[Decimal, Decimal, int]]:
    """Per (region, month): deposit month-end and daily average in CNY and the number of
    accounts, for all copies; an overdrawn account counts with its negative balance."""
    closing = _closing_balances()
    region = _region_of_account()
    per_account: dict[tuple[str, dt.date], dict[dt.date, Decimal]] = defaultdict(dict)
    for day, balances in closing.items():
        for account, balance in balances.items():
            month = _moved(day).replace(day=1)
            per_account[(account, month)][day] = _cents(balance * CNY_PER_CZK)
    # a month's daily average divides by its days from the first loaded one to the last:
    # the days before a bank's first delivery are unknown, not zero (docs/models.md)
    first: dict[dt.date, dt.date] = {}
    covered: dict[dt.date, dt.date] = {}
    for day in DAYS:
        first.setdefault(_moved(day).replace(day=1), _moved(day))
        covered[_moved(day).replace(day=1)] = day
    totals: dict[tuple[str, dt.date], list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for (account, month), values in per_account.items():
        cell = totals[(region[account], month)]
        days = (_moved(covered[month]) - first[month]).days + 1
        cell[0] += values.get(covered[month], Decimal(0)) * COPIES
        cell[1] += _cents(sum(values.values()) / days) * COPIES
        cell[2] += COPIES
    return {key: (end, avg, n) for key, (end, avg, n) in totals.items()}


def test_the_real_banks_assets_per_branch_equal_its_own_files(bank: Settings) -> None:
    expected = _expected_assets()
    with duckdb.connect(str(serving_path(bank.serving)), read_only=True) as con:
        rows = con.execute(
            """select i.region, a.month_start, sum(a.deposit_month_end_cny),
                      sum(a.deposit_daily_avg_cny), sum(a.wealth_month_end_cny)
               from mart_client_assets_monthly as a
               join dim_institution as i on i.inst_code = a.branch_code
               group by all"""
        ).fetchall()
    actual = {(region, month): (end, avg, wealth) for region, month, end, avg, wealth in rows}
    assert set(actual) == set(expected)
    assert {month for _, month in actual} == {dt.date(2026, 1, 1), dt.date(2026, 2, 1)}
    for key, (end, avg, accounts) in expected.items():
        got_end, got_avg, wealth = actual[key]
        assert got_end == end, key
        # an average is rounded once per account in the mart (half a cent each)
        assert abs(got_avg - avg) <= Decimal(accounts) / 200, key
        assert not wealth  # this bank sells no wealth products: header-only deliveries
    january = sum(end for (_, m), (end, _a, _n) in expected.items() if m.month == 1)
    assert january > Decimal("10000000")  # about 17M CNY over two copies: not a trivial bank


def test_overdrawn_accounts_are_kept_with_their_negative_balance(bank: Settings) -> None:
    closing = _closing_balances()
    overdrawn = {day: {a: b for a, b in closing[day].items() if b < 0} for day in DAYS}
    assert all(OVERDRAWN <= set(accounts) for accounts in overdrawn.values())
    assert not [
        p
        for p in (bank.quarantine / "deposit_balances").rglob("*.parquet")
        if p.name != "_schema.parquet"
    ]
    raw = pl.concat(
        [
            pl.read_parquet(p)
            for p in (bank.raw / "deposit_balances").rglob("*.parquet")
            if p.name != "_schema.parquet"
        ],
        how="diagonal_relaxed",
    ).filter(pl.col("balance") < 0)
    # <copy:03d><Berka account id>, per day: every overdrawn account of every copy
    kept = {
        (d, int(a[3:]), b)
        for d, a, b in raw.select("balance_date", "account_id", "balance").iter_rows()
    }
    expected = {
        (_moved(day), int(account), _cents(balance))  # the raw layer keeps CZK
        for day, accounts in overdrawn.items()
        for account, balance in accounts.items()
    }
    assert {(d, a, _cents(b)) for d, a, b in kept} == expected
    assert raw.height == sum(len(a) for a in overdrawn.values()) * COPIES
    with duckdb.connect(str(serving_path(bank.serving)), read_only=True) as con:
        audit = con.execute(
            """select business_date, status, records_quarantined
               from ingest_audit where feed = 'deposit_balances' order by business_date"""
        ).fetchall()
    assert audit == [(_moved(d), "loaded", 0) for d in DAYS]


def test_every_client_of_an_open_account_once_per_copy_and_no_crm(bank: Settings) -> None:
    opened = {a["account_id"]: _berka_date(a["date"]) for a in _asc("account.asc")}
    first_open: dict[str, dt.date] = {}
    for d in _asc("disp.asc"):  # owners and co-users alike are the bank's clients
        day = opened[d["account_id"]]
        first_open[d["client_id"]] = min(day, first_open.get(d["client_id"], day))
    expected = sum(1 for day in first_open.values() if day <= LAST) * COPIES
    with duckdb.connect(str(serving_path(bank.serving)), read_only=True) as con:
        clients, distinct_ids = con.execute(
            "select count(*), count(distinct client_id) from dim_client"
        ).fetchone()
        nine_grid = con.execute("select count(*) from mart_rm_nine_grid").fetchone()[0]
    assert clients == distinct_ids == expected
    assert nine_grid == 0  # no contacts delivered: an optional feed, absent


def test_a_contract_column_the_data_set_lacks_is_left_out(tmp_path, monkeypatch) -> None:
    """A column added to the contract later (optional, as the README's "How to add a feed"
    says) is one the data set does not have: the adapter delivers without it, as an
    upstream that does not send it yet would, instead of failing."""
    import dataclasses

    import clientmart.realdata.berka as berka
    from ingest.spec import Column, load_feeds

    feeds = dict(load_feeds())
    txn = feeds["deposit_transactions"]
    remark = Column("remark", "string", required=False, nullable=True)
    feeds["deposit_transactions"] = dataclasses.replace(txn, columns=(*txn.columns, remark))
    monkeypatch.setattr(berka, "load_feeds", lambda: feeds)

    counts = deliver_berka(tmp_path, FIRST, FIRST)

    assert counts["deposit_transactions"] > 0
    (delivered,) = (tmp_path / "deposit_transactions").rglob("*.txt")
    header = delivered.read_text(encoding="utf-8").splitlines()[0].split("|")
    assert header == list(txn.names)
