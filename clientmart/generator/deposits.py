"""Deposit accounts: opening, a daily balance random walk driven by transactions, closing.

Each calendar day every open account gets a balance row. Balances move with the day's
transactions (ordinary card/transfer/cash flows pulled back towards each account's target
balance, corporate settlement flows sized to the client's settlement band, payroll, pension,
utility autopays, quarterly interest); exactness between the two is not a goal. Transactions
only touch CNY accounts, because the transaction feed has no currency column (amounts are CNY).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from clientmart.generator.clients import Clients
from clientmart.generator.formats import scaled
from clientmart.generator.institutions import FX_BASE, Reference
from clientmart.generator.naming import coded, lookup
from clientmart.generator.timeline import Timeline, rng
from ingest.spec import load_feeds

TXN_TYPES = list(load_feeds()["deposit_transactions"].column("txn_type").values)
CHANNELS = list(load_feeds()["deposit_transactions"].column("channel").values)
NEVER = 10**9

IND_EXTRA = {
    "DD_CNY": 0.22,
    "TD_CNY_3M": 0.15,
    "TD_CNY_1Y": 0.2,
    "TD_CNY_3Y": 0.1,
    "ND_CNY_7D": 0.06,
    "DD_USD": 0.09,
    "DD_EUR": 0.03,
    "DD_HKD": 0.05,
    "DD_JPY": 0.03,
    "DD_GBP": 0.02,
    "TD_USD_1Y": 0.03,
    "TD_HKD_1Y": 0.02,
}
CORP_EXTRA = {"DD_CORP": 0.4, "TD_CORP": 0.3, "ND_CNY_7D": 0.1, "DD_USD": 0.15, "DD_HKD": 0.05}
UTILITY_PAYEES = ["国网供电公司农电费代收", "自来水公司", "燃气公司"]
PENSION_PAYERS = ["社会保险基金代发养老金", "新农保代发"]


PARTIES: list[str | None] = [None, *UTILITY_PAYEES, *PENSION_PAYERS, "代发工资"]
CLIENT_PARTY = 1_000  # counterparty codes from here on name a client: CLIENT_PARTY + index


def _codes(value: str | None | ArrayLike, vocab: list) -> np.ndarray:
    if value is None or isinstance(value, str):
        return np.asarray(vocab.index(value), dtype=np.int64)
    return np.asarray(value, dtype=np.int64)


def type_code(name: str) -> int:
    return TXN_TYPES.index(name)


def channel_code(name: str) -> int:
    return CHANNELS.index(name)


@dataclass
class Flows:
    """A day's transactions as parallel arrays (amounts in CNY, positive).

    Types, channels and counterparties are integer codes (into TXN_TYPES, CHANNELS, PARTIES,
    or CLIENT_PARTY + a client index), turned into text only when the file is written.
    """

    acc: list[np.ndarray] = field(default_factory=list)
    amount: list[np.ndarray] = field(default_factory=list)
    credit: list[np.ndarray] = field(default_factory=list)
    txn_type: list[np.ndarray] = field(default_factory=list)
    channel: list[np.ndarray] = field(default_factory=list)
    party: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        acc: ArrayLike,
        amount: ArrayLike,
        credit: ArrayLike,
        txn_type: str | ArrayLike,
        channel: str | ArrayLike,
        counterparty: str | None | ArrayLike,
    ) -> None:
        n = len(acc)
        self.acc.append(np.asarray(acc, dtype=np.int64))
        self.amount.append(np.asarray(amount, dtype=np.float64))
        self.credit.append(np.broadcast_to(np.asarray(credit, dtype=bool), n))
        self.txn_type.append(np.broadcast_to(_codes(txn_type, TXN_TYPES), n))
        self.channel.append(np.broadcast_to(_codes(channel, CHANNELS), n))
        self.party.append(np.broadcast_to(_codes(counterparty, PARTIES), n))

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("acc", "amount", "credit", "txn_type", "channel", "party")
        if not self.acc:
            return {k: np.array([], dtype=bool if k == "credit" else np.int64) for k in names}
        return {k: np.concatenate(getattr(self, k)) for k in names}


@dataclass
class Accounts:
    client: np.ndarray
    product: np.ndarray  # index into products
    currency: np.ndarray  # index into CURRENCIES-like list (0 = CNY)
    is_demand_cny: np.ndarray
    is_primary: np.ndarray
    open_day: np.ndarray
    close_day: np.ndarray
    target: np.ndarray  # target balance, account currency
    balance: np.ndarray  # current balance, account currency
    activity: np.ndarray
    static: pl.DataFrame  # account_id, client_id, inst_code, product_code, currency
    primary_of_client: np.ndarray  # account index of each client's primary account

    @property
    def m(self) -> int:
        return len(self.client)


def build_accounts(seed: int, c: Clients, ref: Reference, timeline: Timeline) -> Accounts:
    gen = rng(seed, "accounts")
    codes = ref.products["product_code"].to_list()
    currencies = ref.products["currency"].to_list()
    cats = ref.products["product_category"].to_list()
    client = np.repeat(np.arange(c.n), c.n_accounts)
    m = len(client)
    first = np.r_[0, np.cumsum(c.n_accounts)[:-1]]
    is_primary = np.zeros(m, dtype=bool)
    is_primary[first] = True
    corp = c.is_corp[client]

    def pick(table: dict[str, float], k: int) -> np.ndarray:
        p = np.array(list(table.values()))
        idx = gen.choice(len(table), k, p=p / p.sum())
        return np.array([codes.index(x) for x in table])[idx]

    product = np.where(corp, pick(CORP_EXTRA, m), pick(IND_EXTRA, m))
    product[is_primary] = np.where(corp[is_primary], codes.index("DD_CORP"), codes.index("DD_CNY"))
    cur_list = ["CNY", *FX_BASE]
    currency = np.array([cur_list.index(x) for x in currencies])[product]
    is_demand_cny = (np.array(cats)[product] == "demand_deposit") & (currency == 0)

    c_open = c.open_day[client]
    span = np.maximum(-c_open, 1)
    open_day = np.where(is_primary | (c_open >= 0), c_open, c_open + (gen.random(m) * span))
    open_day = open_day.astype(np.int64)
    n = timeline.n
    if n > 1:
        opens_now = (~is_primary) & (c_open < 0) & (gen.random(m) < 0.03)
        open_day[opens_now] = gen.integers(1, n, opens_now.sum())
    close_day = np.full(m, NEVER, dtype=np.int64)
    if n > 2:
        closing = (~is_primary) & (open_day < n - 2) & (gen.random(m) < 0.015)
        lo = np.maximum(open_day[closing] + 1, 1)
        close_day[closing] = lo + (gen.random(closing.sum()) * (n - lo)).astype(np.int64)

    weight = gen.exponential(1.0, m) * np.where(
        np.isin(np.array(cats)[product], ["time_deposit", "notice_deposit"]), 2, 1
    )
    weight[is_primary] += 0.3
    per_client = np.bincount(client, weights=weight, minlength=c.n)
    deposits = c.assets * (1 - c.wealth_share)
    target_cny = deposits[client] * weight / per_client[client]
    rate0 = np.r_[1.0, ref.fx[0]]
    target = target_cny / rate0[currency]
    balance = np.where(open_day < 0, target, 0.0)
    activity = np.exp(gen.standard_normal(m)) * is_demand_cny

    static = pl.DataFrame(
        {
            "account_id": coded("6217", np.arange(1, m + 1), 12),
            "client_id": c.ids.gather(client),
            "inst_code": lookup(ref.client_insts, c.inst_idx[client]),
            "product_code": lookup(codes, product),
            "currency": lookup(cur_list, currency),
        }
    )
    return Accounts(
        client,
        product,
        currency,
        is_demand_cny,
        is_primary,
        open_day,
        close_day,
        target,
        balance,
        activity,
        static,
        first,
    )


def open_mask(a: Accounts, d: int) -> np.ndarray:
    """Accounts with a balance row on day ``d`` (a closing account shows 0 on its last day)."""
    return (a.open_day <= d) & (a.close_day >= d)


def ordinary_flows(
    gen: np.random.Generator, a: Accounts, c: Clients, d: int, workday: bool, flows: Flows
) -> None:
    active = open_mask(a, d) & (a.close_day > d) & (a.activity > 0) & ~c.is_corp[a.client]
    idx = np.flatnonzero(active)
    if not len(idx):
        return
    lam = 0.4 if workday else 0.25
    k = gen.poisson(lam * len(idx))
    w = a.activity[idx]
    acc = idx[gen.choice(len(idx), k, p=w / w.sum())]
    scale = (np.maximum(a.target[acc], 100) / 5000) ** 0.35
    amount = np.exp(np.log(150) + 1.3 * gen.standard_normal(k)) * scale
    pull = np.tanh(np.log((a.target[acc] + 1) / (a.balance[acc] + 1)))
    credit = gen.random(k) < np.clip(0.5 + 0.25 * pull, 0.15, 0.85)
    kind = gen.choice(5, k, p=[0.3, 0.35, 0.15, 0.1, 0.1])
    fee = kind == 4
    amount[fee] = gen.uniform(2, 20, fee.sum())
    credit[fee] = False
    credit |= (~credit) & (amount > a.balance[acc])  # no overdrafts: a big debit turns credit
    types = np.array([type_code(t) for t in ("card", "transfer", "cash", "other", "fee")])[kind]
    channels = np.array([channel_code(x) for x in ("online", "mobile", "atm", "counter", "auto")])[
        kind
    ]
    channels[(kind == 1) & (gen.random(k) < 0.3)] = channel_code("online")
    channels[(kind == 2) & (gen.random(k) < 0.4)] = channel_code("counter")
    flows.add(acc, amount, credit, types, channels, None)


def settlement_flows(
    gen: np.random.Generator, a: Accounts, c: Clients, d: int, workdays_in_month: int, flows: Flows
) -> None:
    """Corporate turnover: each corporate's month of flows adds up to its settlement band."""
    corp = np.flatnonzero(c.is_corp & (c.open_day <= d))
    acc_of = a.primary_of_client[corp]
    live = a.close_day[acc_of] > d
    corp, acc_of = corp[live], acc_of[live]
    if not len(corp):
        return
    per_corp = 1 + gen.poisson(2.0, len(corp))
    acc = np.repeat(acc_of, per_corp)
    who = np.repeat(corp, per_corp)
    daily = c.settlement[who] / workdays_in_month
    spread = gen.uniform(0.6, 1.4, len(acc))
    spread_sum = np.bincount(np.repeat(np.arange(len(corp)), per_corp), weights=spread)
    amount = daily * spread / np.repeat(spread_sum, per_corp)
    pull = np.tanh(np.log((a.target[acc] + 1) / (a.balance[acc] + 1)))
    credit = gen.random(len(acc)) < np.clip(0.5 + 0.3 * pull, 0.2, 0.8)
    credit |= amount > a.balance[acc]
    corps = np.flatnonzero(c.is_corp)
    party = CLIENT_PARTY + corps[gen.integers(0, len(corps), len(acc))]
    channel = np.where(gen.random(len(acc)) < 0.7, channel_code("online"), channel_code("counter"))
    flows.add(acc, amount, credit, "transfer", channel, party)


def apply_flows(a: Accounts, flows: Flows) -> dict[str, np.ndarray]:
    """Move balances by the day's net flow; returns the flows as arrays."""
    f = flows.arrays()
    f["amount"] = np.maximum(np.round(f["amount"], 2), 0.01)
    signed = np.where(f["credit"], f["amount"], -f["amount"])
    net = np.bincount(f["acc"], weights=signed, minlength=a.m)
    a.balance = np.maximum(a.balance + net, 0.0)
    return f


def special_flows(
    gen: np.random.Generator, a: Accounts, c: Clients, d: int, day: dt.date, flows: Flows
) -> None:
    """Opening deposits, closures, pension credits, utility autopays, quarterly interest."""
    opening = np.flatnonzero((a.open_day == d) & (a.currency == 0))
    flows.add(
        opening,
        a.target[opening] * gen.uniform(0.3, 1.0, len(opening)) + 10,
        True,
        "cash",
        "counter",
        None,
    )
    fx_opening = np.flatnonzero((a.open_day == d) & (a.currency != 0))
    a.balance[fx_opening] = a.target[fx_opening]
    closing = np.flatnonzero((a.close_day == d) & (a.balance > 0))
    cny_close = closing[a.currency[closing] == 0]
    flows.add(cny_close, a.balance[cny_close], False, "transfer", "counter", None)
    a.balance[closing[a.currency[closing] != 0]] = 0.0

    live = (a.open_day <= d) & (a.close_day > d)
    if day.day == 5:
        who = np.flatnonzero(c.pension > 0)
        acc = a.primary_of_client[who]
        ok = live[acc]
        who, acc = who[ok], acc[ok]
        payer = PARTIES.index(PENSION_PAYERS[0]) + gen.integers(0, len(PENSION_PAYERS), len(acc))
        flows.add(acc, c.pension[who], True, "pension_credit", "auto", payer)
        out = c.withdraws[who]
        flows.add(
            acc[out],
            c.pension[who][out] * gen.uniform(0.9, 1.0, out.sum()),
            False,
            "cash",
            "atm",
            None,
        )
    who = np.flatnonzero((c.utility > 0) & (c.utility_day == day.day) & (c.open_day < d))
    acc = a.primary_of_client[who]
    ok = live[acc]
    who, acc = who[ok], acc[ok]
    first_payee = PARTIES.index(UTILITY_PAYEES[0])
    payee = np.where(
        c.utility[who] > 100,
        first_payee,
        first_payee + gen.integers(0, len(UTILITY_PAYEES), len(who)),
    )
    flows.add(acc, c.utility[who], False, "utility_autopay", "auto", payee)
    if day.month in (3, 6, 9, 12) and day.day == 21:
        acc = np.flatnonzero(live & a.is_demand_cny & (a.balance >= 400))
        flows.add(acc, a.balance[acc] * 0.0025 / 4, True, "interest", "auto", None)


def balance_frame(
    a: Accounts, d: int, day: dt.date, lo: int = 0, hi: int | None = None
) -> pl.DataFrame:
    """Typed ``deposit_balances`` rows for day ``d`` (after the day's flows), accounts lo:hi."""
    hi = a.m if hi is None else hi
    mask = open_mask(a, d)[lo:hi]
    bal = np.where(a.close_day[lo:hi][mask] == d, 0.0, a.balance[lo:hi][mask])
    return (
        a.static.slice(lo, hi - lo)
        .filter(pl.Series(mask))
        .select(
            pl.lit(day).alias("balance_date"),
            "account_id",
            "client_id",
            "inst_code",
            "product_code",
            "currency",
            pl.Series("balance", scaled(bal)),
        )
    )


def transaction_frame(
    a: Accounts, c: Clients, f: dict[str, np.ndarray], day: dt.date
) -> pl.DataFrame:
    k = len(f["acc"])
    acc = a.static[["account_id", "client_id"]][f["acc"]]
    party = f["party"]
    is_client = party >= CLIENT_PARTY
    vocab = lookup(PARTIES, np.where(is_client, 0, party))
    names = c.names.gather(np.where(is_client, party - CLIENT_PARTY, 0))
    return pl.DataFrame(
        {
            "txn_id": coded(f"T{day:%Y%m%d}", np.arange(1, k + 1), 9),
            "txn_date": pl.repeat(day, k, eager=True, dtype=pl.Date),
            "account_id": acc["account_id"],
            "client_id": acc["client_id"],
            "amount": scaled(f["amount"]),
            "direction": lookup(["D", "C"], f["credit"].astype(np.int64)),
            "txn_type": lookup(TXN_TYPES, f["txn_type"]),
            "channel": lookup(CHANNELS, f["channel"]),
            "counterparty": pl.select(
                pl.when(pl.Series(is_client)).then(names).otherwise(vocab)
            ).to_series(),
        }
    )


def day_rng(seed: int, d: int) -> np.random.Generator:
    return rng(seed, "deposit_flows", d)
