"""Loan balances: corporate loans, bill discounts and guarantees across every loan band, and
individual mortgages. Some loans are drawn or repaid in full during the period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from clientmart.generator.clients import Clients
from clientmart.generator.deposits import NEVER
from clientmart.generator.formats import scaled
from clientmart.generator.institutions import Reference
from clientmart.generator.naming import coded, lookup
from clientmart.generator.timeline import rng

# Loan balance bands (CNY) of the domain brief: <1M, 1-5M, 5-10M, 10-20M, 20M and above.
LOAN_BANDS = [3e5, 1e6, 5e6, 1e7, 2e7, 8e7]
CORP_PRODUCTS = ["LN_FA", "LN_WC", "BL_DC", "GT_LG"]


@dataclass
class Loans:
    client: np.ndarray
    product: np.ndarray  # product codes
    balance: np.ndarray
    open_day: np.ndarray
    close_day: np.ndarray
    static: pl.DataFrame  # loan_id, client_id, inst_code, product_code


def build_loans(seed: int, c: Clients, ref: Reference, n_days: int) -> Loans:
    gen = rng(seed, "loans")
    corp = np.flatnonzero(c.is_corp)
    borrowers = corp[gen.random(len(corp)) < 0.6]
    per = 1 + gen.binomial(2, 0.4, len(borrowers))
    cclient = np.repeat(borrowers, per)
    k = len(cclient)
    band = np.arange(k) % (len(LOAN_BANDS) - 1)
    lo, hi = np.log(LOAN_BANDS)[band], np.log(LOAN_BANDS)[band + 1]
    cbal = np.exp(lo + (hi - lo) * gen.random(k))
    cprod = np.array(CORP_PRODUCTS)[np.arange(k) % len(CORP_PRODUCTS)]
    ind = np.flatnonzero(~c.is_corp & (c.open_day < 0))
    mortgage = ind[gen.random(len(ind)) < 0.04]
    mbal = np.exp(gen.uniform(np.log(2e5), np.log(2e6), len(mortgage)))
    client = np.r_[cclient, mortgage]
    product = np.r_[cprod, np.full(len(mortgage), "LN_RE")]
    balance = np.r_[cbal, mbal].round(2)
    m = len(client)
    open_day = np.full(m, -1, dtype=np.int64)
    close_day = np.full(m, NEVER, dtype=np.int64)
    if n_days > 2:
        new = gen.random(m) < 0.02
        open_day[new] = gen.integers(1, n_days, new.sum())
        ends = (~new) & (gen.random(m) < 0.02)
        close_day[ends] = gen.integers(1, n_days, ends.sum())
    static = pl.DataFrame(
        {
            "loan_id": coded("LN", np.arange(1, m + 1), 10),
            "client_id": c.ids.gather(client),
            "inst_code": lookup(ref.client_insts, c.inst_idx[client]),
            "product_code": product,
        }
    )
    return Loans(client, product, balance, open_day, close_day, static)


def loans_frame(ln: Loans, seed: int, d: int, day: dt.date) -> pl.DataFrame:
    """Balances on day ``d``; mortgages amortise on the 20th, working capital moves a little."""
    if day.day == 20:
        ln.balance = np.where(
            ln.product == "LN_RE", np.round(ln.balance * (1 - 1 / 300), 2), ln.balance
        )
    gen = rng(seed, "loan_moves", d)
    wc = (ln.product == "LN_WC") & (gen.random(len(ln.balance)) < 0.03)
    ln.balance[wc] = np.round(ln.balance[wc] * gen.uniform(0.9, 1.1, wc.sum()), 2)
    live = (ln.open_day <= d) & (ln.close_day > d)
    return ln.static.filter(pl.Series(live)).select(
        pl.lit(day).alias("balance_date"),
        "loan_id",
        "client_id",
        "inst_code",
        "product_code",
        pl.Series("balance", scaled(ln.balance[live])),
    )
