"""Wealth products: end-of-day holdings at market value, and the day's orders.

Richer clients hold more (funds, WMPs, bonds, insurance, precious metals); unit values walk
daily per product. Orders come on working days only (the sales platform is shut otherwise,
so those dates deliver header-only order files); a few are cancelled, and some filled orders
are re-delivered later as cancelled (a correction of the same file).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from clientmart.generator.clients import Clients
from clientmart.generator.deposits import NEVER
from clientmart.generator.formats import scaled
from clientmart.generator.institutions import NEW_PRODUCT, Reference
from clientmart.generator.naming import coded, lookup
from clientmart.generator.timeline import rng

WEALTH_CATEGORIES = {
    "fund": 0.3,
    "wmp": 0.3,
    "bond": 0.1,
    "insurance": 0.15,
    "precious_metal": 0.15,
}
# category -> (base unit value range, daily drift, daily volatility)
NAV_MODEL = {
    "fund": ((1.0, 3.0), 0.0002, 0.012),
    "wmp": ((1.0, 1.1), 0.0001, 0.0003),
    "bond": ((100.0, 100.0), 0.0001, 0.0002),
    "insurance": ((1.0, 1.0), 0.0, 0.0),
    "precious_metal": ((560.0, 560.0), 0.0002, 0.01),
}


@dataclass
class Holdings:
    codes: np.ndarray  # all wealth product codes (incl. the one launched mid-period)
    categories: np.ndarray
    nav: np.ndarray  # (days, products)
    client: np.ndarray
    product: np.ndarray
    units: np.ndarray
    cost: np.ndarray
    open_day: np.ndarray
    close_day: np.ndarray
    next_id: int = 0

    def append(
        self, client: np.ndarray, product: np.ndarray, units: np.ndarray, cost: np.ndarray, d: int
    ) -> None:
        k = len(client)
        self.client = np.r_[self.client, client]
        self.product = np.r_[self.product, product]
        self.units = np.r_[self.units, units]
        self.cost = np.r_[self.cost, cost]
        self.open_day = np.r_[self.open_day, np.full(k, d)]
        self.close_day = np.r_[self.close_day, np.full(k, NEVER)]


def build_holdings(seed: int, c: Clients, ref: Reference, n_days: int) -> Holdings:
    gen = rng(seed, "holdings")
    products = pl.concat([ref.products_changed]).filter(
        pl.col("product_category").is_in(list(WEALTH_CATEGORIES))
    )
    codes = products["product_code"].to_numpy()
    cats = products["product_category"].to_numpy()
    nav = np.empty((n_days, len(codes)))
    for j, cat in enumerate(cats):
        (lo, hi), drift, vol = NAV_MODEL[cat]
        base = gen.uniform(lo, hi)
        nav[:, j] = base * np.exp(np.cumsum(drift + vol * gen.standard_normal(n_days)))
    holders = np.flatnonzero(c.wealth_share > 0)
    per = 1 + gen.binomial(3, 0.3, len(holders))
    client = np.repeat(holders, per)
    k = len(client)
    initial = codes != NEW_PRODUCT[0]
    cat_names = list(WEALTH_CATEGORIES)
    cat_pick = gen.choice(len(cat_names), k, p=list(WEALTH_CATEGORIES.values()))
    product = np.empty(k, dtype=np.int64)
    for i, cat in enumerate(cat_names):
        options = np.flatnonzero((cats == cat) & initial)
        sel = cat_pick == i
        product[sel] = options[gen.integers(0, len(options), sel.sum())]
    weight = gen.exponential(1.0, k)
    total = np.bincount(client, weights=weight, minlength=c.n)
    value = (c.assets * c.wealth_share)[client] * weight / total[client]
    units = value / nav[0, product]
    cost = value * gen.uniform(0.85, 1.1, k)
    cost[cats[product] == "insurance"] = value[cats[product] == "insurance"]
    # Clients who open during the period hold nothing before they are clients.
    open_day = np.where(c.open_day[client] >= 0, c.open_day[client], -1)
    return Holdings(
        codes, cats, nav, client, product, units, cost, open_day, np.full(k, NEVER), next_id=k
    )


def holdings_frame(
    h: Holdings, c: Clients, d: int, day: dt.date, lo: int = 0, hi: int | None = None
) -> pl.DataFrame:
    """Positions held at the end of day ``d`` (holdings lo:hi), at the day's unit values."""
    hi = len(h.units) if hi is None else hi
    span = np.arange(lo, hi)
    live = span[(h.open_day[lo:hi] <= d) & (h.close_day[lo:hi] > d) & (h.units[lo:hi] >= 0.005)]
    mv = h.units[live] * h.nav[d, h.product[live]]
    return pl.DataFrame(
        {
            "as_of_date": pl.repeat(day, len(live), eager=True, dtype=pl.Date),
            "holding_id": coded("HD", live + 1, 10),
            "client_id": c.ids.gather(h.client[live]),
            "product_code": lookup(h.codes, h.product[live]),
            "units": scaled(h.units[live]),
            "market_value": scaled(mv),
            "cost": scaled(h.cost[live]),
        }
    )


def orders_day(
    seed: int,
    h: Holdings,
    c: Clients,
    rm_ids: pl.Series,
    d: int,
    day: dt.date,
    workday: bool,
    new_product_live: bool,
) -> tuple[pl.DataFrame, np.ndarray]:
    """The day's orders (typed frame) and the rows to re-deliver later as cancelled.

    Filled orders move the holdings (buys add units or open a holding, redemptions reduce).
    """
    gen = rng(seed, "orders", d)
    empty = np.array([], dtype=np.int64)
    live = np.flatnonzero((h.open_day <= d) & (h.close_day > d) & (h.units >= 0.005))
    clients_live = np.flatnonzero((c.open_day <= d) & ~c.is_corp)
    if not workday or not len(clients_live):
        return _orders_frame(h, c, rm_ids, day, empty, empty, empty, empty, empty), empty
    k = gen.poisson(0.01 * len(clients_live))
    on_existing = gen.random(k) < 0.7 if len(live) else np.zeros(k, dtype=bool)
    n_old = int(on_existing.sum())
    held = live[gen.integers(0, len(live), n_old)] if n_old else empty
    old_cat = h.categories[h.product[held]]
    old_buy = (old_cat == "insurance") | (gen.random(n_old) < 0.55)
    nav_old = h.nav[d, h.product[held]]
    mv = h.units[held] * nav_old
    amount_old = np.where(
        old_buy,
        np.round(np.exp(np.log(30000) + 0.9 * gen.standard_normal(n_old)), -2),
        np.round(mv * np.where(gen.random(n_old) < 0.3, 1.0, gen.uniform(0.1, 0.9, n_old)), 2),
    )
    n_new = k - n_old
    w = c.assets[clients_live]
    new_client = clients_live[gen.choice(len(clients_live), n_new, p=w / w.sum())]
    choices = (
        np.flatnonzero(h.codes != NEW_PRODUCT[0])
        if not new_product_live
        else np.arange(len(h.codes))
    )
    new_product = choices[gen.integers(0, len(choices), n_new)]
    amount_new = np.round(np.exp(np.log(50000) + 0.9 * gen.standard_normal(n_new)), -3)

    client = np.r_[h.client[held], new_client].astype(np.int64)
    product = np.r_[h.product[held], new_product].astype(np.int64)
    buy = np.r_[old_buy, np.ones(n_new, dtype=bool)]
    amount = np.maximum(np.r_[amount_old, amount_new], 100.0)
    status_cancel = gen.random(k) < 0.04

    filled_old = ~status_cancel[:n_old]
    nav_all = h.nav[d]
    delta = amount_old / nav_old
    np.add.at(h.units, held[filled_old & old_buy], delta[filled_old & old_buy])
    red = held[filled_old & ~old_buy]
    np.subtract.at(h.units, red, delta[filled_old & ~old_buy])
    h.units[red] = np.maximum(h.units[red], 0.0)
    h.close_day[red[h.units[red] < 0.005]] = d
    filled_new = ~status_cancel[n_old:]
    units_new = amount_new[filled_new] / nav_all[new_product[filled_new]]
    h.append(new_client[filled_new], new_product[filled_new], units_new, amount_new[filled_new], d)
    redeliver = np.flatnonzero(~status_cancel & (gen.random(k) < 0.01))
    if not len(redeliver) and day.weekday() == 2 and (~status_cancel).any():
        redeliver = np.flatnonzero(~status_cancel)[:1]  # at least one correction a week
    frame = _orders_frame(h, c, rm_ids, day, client, product, buy, amount, status_cancel)
    return frame, redeliver


def _orders_frame(
    h: Holdings,
    c: Clients,
    rm_ids: pl.Series,
    day: dt.date,
    client: np.ndarray,
    product: np.ndarray,
    buy: np.ndarray,
    amount: np.ndarray,
    cancelled: np.ndarray,
) -> pl.DataFrame:
    k = len(client)
    rm = c.rm[client]
    return pl.DataFrame(
        {
            "order_id": coded(f"OD{day:%Y%m%d}", np.arange(1, k + 1), 7),
            "trade_date": pl.Series([day] * k, dtype=pl.Date),
            "client_id": c.ids.gather(client),
            "product_code": lookup(h.codes, product),
            "rm_id": rm_ids.gather(np.maximum(rm, 0)).scatter(np.flatnonzero(rm < 0), None)
            if k
            else pl.Series([], dtype=pl.Utf8),
            "side": pl.Series(np.where(buy, "buy", "redeem"), dtype=pl.Utf8),
            "amount": pl.Series(scaled(amount), dtype=pl.Int64),
            "status": pl.Series(np.where(cancelled, "cancelled", "filled"), dtype=pl.Utf8),
        }
    )
