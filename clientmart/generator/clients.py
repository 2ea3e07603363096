"""The client population: who they are, where they bank, what they are worth.

Individual assets are log-normal with sigma ~1.2, which puts 60-70% of assets with the
richest 20% of clients (the domain's "20% of households hold 66% of the wealth").
Corporates are spread over every monthly settlement band by construction, some of them
run their payroll with us, and their heads (executive, legal representative) are clients.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from clientmart.generator.institutions import Reference
from clientmart.generator.naming import (
    coded,
    company_names,
    credit_codes,
    id_numbers,
    lookup,
    person_names,
)
from clientmart.generator.timeline import Timeline, rng

# Monthly settlement bands (CNY), as in the domain brief: <1M, 1-5M, ..., 50M and above.
SETTLEMENT_BANDS = [3e5, 1e6, 5e6, 1e7, 2e7, 3e7, 5e7, 1.5e8]
ASSET_MEDIAN = 20_000.0
ASSET_SIGMA = 1.2
JOB_TITLES = [None, "legal_representative", "executive", "manager"]
PAY_DAYS = np.array([5, 10, 15, 20, 25, 28])
PAY_DAY_WEIGHTS = np.array([0.15, 0.3, 0.2, 0.1, 0.15, 0.1])


@dataclass
class Clients:
    n: int
    ids: pl.Series
    is_corp: np.ndarray
    open_day: np.ndarray  # day index of opening (negative: before the period)
    inst_idx: np.ndarray  # index into Reference.client_insts
    rm: np.ndarray  # RM index, -1 for none (mutable: RMs get reassigned)
    employer: np.ndarray  # client index of the payroll employer, -1 for none
    job_title: np.ndarray  # index into JOB_TITLES (0: none)
    assets: np.ndarray  # individuals: target financial assets (CNY); corporates: deposits
    settlement: np.ndarray  # corporates: monthly settlement turnover (CNY)
    n_accounts: np.ndarray
    birth: np.ndarray  # datetime64[D], NaT for corporates
    gender: np.ndarray  # 0 none (corporates), 1 M, 2 F
    names: pl.Series
    id_numbers: pl.Series
    phone: np.ndarray  # int64, mutable
    salary: np.ndarray  # monthly salary of payroll employees (CNY)
    pay_day: np.ndarray  # employers: day of month they pay
    pension: np.ndarray  # monthly pension credit (CNY), 0 for none
    withdraws: np.ndarray  # payroll/pension credit is taken out right away
    utility: np.ndarray  # monthly utility autopay (CNY), 0 for none
    utility_day: np.ndarray
    wealth_share: np.ndarray  # share of an individual's assets held in wealth products

    @property
    def employers(self) -> np.ndarray:
        return np.flatnonzero(self.is_corp & (self.pay_day > 0))


def build_clients(seed: int, n: int, ref: Reference, timeline: Timeline) -> Clients:
    gen = rng(seed, "clients")
    n_corp = max(14, round(0.03 * n)) if n >= 100 else max(7, n // 10)
    is_corp = np.zeros(n, dtype=bool)
    is_corp[gen.permutation(n)[:n_corp]] = True
    corp_idx = np.flatnonzero(is_corp)
    ind_idx = np.flatnonzero(~is_corp)

    # Ages, birth dates, assets.
    age = np.where(is_corp, 0, 18 + gen.beta(2.0, 2.6, n) * 67).astype(int)
    start64 = np.datetime64(timeline.start, "D")
    birth = start64 - (age * 365.25 + gen.integers(0, 365, n)).astype("timedelta64[D]")
    birth = np.where(is_corp, np.datetime64("NaT"), birth)
    assets = np.exp(np.log(ASSET_MEDIAN) + ASSET_SIGMA * gen.standard_normal(n))
    band = np.arange(n_corp) % (len(SETTLEMENT_BANDS) - 1)
    lo, hi = np.log(SETTLEMENT_BANDS)[band], np.log(SETTLEMENT_BANDS)[band + 1]
    settlement = np.zeros(n)
    settlement[corp_idx] = np.exp(lo + (hi - lo) * gen.random(n_corp))
    assets[corp_idx] = settlement[corp_idx] * gen.uniform(0.05, 0.4, n_corp)

    # Opening days: most before the period, some new clients during it.
    open_day = -gen.integers(1, 365 * 20, n)
    workdays = np.flatnonzero(timeline.workdays[1:]) + 1
    n_new = int(min(0.1, 0.0015 * timeline.n) * len(ind_idx)) if len(workdays) else 0
    new = gen.choice(ind_idx, n_new, replace=False) if n_new else np.array([], dtype=int)

    # Institutions and RMs.
    inst_idx = gen.integers(0, len(ref.client_insts), n)
    sub = ref.client_inst_sub[inst_idx]
    rm_first = np.searchsorted(ref.rm_sub, np.arange(ref.rm_sub.max() + 1))
    per_sub = np.bincount(ref.rm_sub)
    rm = rm_first[sub] + (gen.random(n) * per_sub[sub]).astype(int)
    has_rm = is_corp | (assets >= 50_000) | (gen.random(n) < 0.35)
    rm = np.where(has_rm, rm, -1)

    # Payroll employers and employees; heads of employers are executives.
    n_emp = max(3, min(round(0.4 * n_corp), 100 + n // 2000))
    employers = corp_idx[:n_emp]
    pay_day = np.zeros(n, dtype=int)
    pay_day[employers] = gen.choice(PAY_DAYS, n_emp, p=PAY_DAY_WEIGHTS)
    working_age = (~is_corp) & (age >= 20) & (age <= 60)
    is_employee = working_age & (gen.random(n) < 0.3)
    is_employee[new] = False
    emp_idx = np.flatnonzero(is_employee)
    weights = 1.0 / np.arange(1, n_emp + 1) ** 0.8
    employer = np.full(n, -1)
    employer[emp_idx] = employers[gen.choice(n_emp, len(emp_idx), p=weights / weights.sum())]
    job_title = np.zeros(n, dtype=np.int8)
    salary = np.zeros(n)
    salary[emp_idx] = np.exp(np.log(7000) + 0.5 * gen.standard_normal(len(emp_idx)))
    order = np.lexsort((-assets[emp_idx], employer[emp_idx]))
    sorted_emp = emp_idx[order]
    grp = employer[sorted_emp]
    rank = np.arange(len(grp)) - np.searchsorted(grp, grp)
    job_title[sorted_emp[rank == 0]] = JOB_TITLES.index("legal_representative")
    job_title[sorted_emp[(rank >= 1) & (rank <= 2)]] = JOB_TITLES.index("executive")
    job_title[sorted_emp[(rank > 2) & (gen.random(len(grp)) < 0.1)]] = JOB_TITLES.index("manager")
    salary[sorted_emp[rank <= 2]] *= 8

    open_day[new] = gen.choice(workdays, n_new) if n_new else open_day[new]

    pension = np.zeros(n)
    pensioner = (~is_corp) & (age >= 60) & ~is_employee & (gen.random(n) < 0.6)
    pension[pensioner] = gen.uniform(800, 4500, pensioner.sum()).round(2)
    withdraws = (is_employee | pensioner) & (gen.random(n) < 0.12)

    n_accounts = np.where(is_corp, 2 + gen.binomial(3, 0.5, n), 1 + gen.binomial(4, 0.37, n))
    utility = np.zeros(n)
    payer = (~is_corp) & (gen.random(n) < 0.35)
    utility[payer] = np.exp(np.log(55) + 0.4 * gen.standard_normal(payer.sum())).round(2)
    workshop = (~is_corp) & (n_accounts == 1) & (assets < 50_000) & (gen.random(n) < 0.08)
    utility[workshop] = np.exp(np.log(600) + 0.8 * gen.standard_normal(workshop.sum())).round(2)
    utility = np.where(utility > 0, np.maximum(utility, 5.0), 0.0)
    utility_day = gen.integers(1, 29, n)

    # Richer clients are far more likely to hold wealth products.
    rank = np.argsort(np.argsort(assets)) / max(n - 1, 1)
    holds = (~is_corp) & (gen.random(n) < 0.02 + 0.6 * rank**3)
    wealth_share = np.where(holds, gen.uniform(0.2, 0.6, n), 0.0)

    ids = coded("C", np.arange(1, n + 1), 10)
    names = person_names(gen, n)
    corp_names = company_names(gen, n_corp, corp_idx)
    names = names.scatter(corp_idx, corp_names)
    idn = id_numbers(gen, np.where(is_corp, start64, birth))
    idn = idn.scatter(corp_idx, credit_codes(corp_idx + 1))
    gender = np.where(is_corp, 0, np.where(gen.random(n) < 0.5, 1, 2)).astype(np.int8)
    phone = 13_000_000_000 + gen.integers(0, 6 * 10**9, n)
    return Clients(
        n,
        ids,
        is_corp,
        open_day,
        inst_idx,
        rm,
        employer,
        job_title,
        assets,
        settlement,
        n_accounts,
        birth,
        gender,
        names,
        idn,
        phone,
        salary,
        pay_day,
        pension,
        withdraws,
        utility,
        utility_day,
        wealth_share,
    )


def client_frame(
    c: Clients, ref: Reference, idx: np.ndarray, start: dt.date, rm_ids: pl.Series
) -> pl.DataFrame:
    """Typed ``clients`` records for the given client indexes."""
    idx = np.asarray(idx, dtype=np.int64)
    rm = c.rm[idx]
    emp = c.employer[idx]
    open_dates = np.datetime64(start, "D") + c.open_day[idx].astype("timedelta64[D]")
    return pl.DataFrame(
        {
            "client_id": c.ids.gather(idx),
            "client_type": lookup(["I", "C"], c.is_corp[idx].astype(np.int64)),
            "name": c.names.gather(idx),
            "id_number": c.id_numbers.gather(idx),
            "phone": pl.Series(c.phone[idx]).cast(pl.Utf8),
            "birth_date": pl.Series(c.birth[idx]).cast(pl.Date),
            "gender": pl.Series([None, "M", "F"], dtype=pl.Utf8).gather(c.gender[idx]),
            "open_date": pl.Series(open_dates).cast(pl.Date),
            "inst_code": lookup(ref.client_insts, c.inst_idx[idx]),
            "rm_id": rm_ids.gather(np.maximum(rm, 0)).scatter(np.flatnonzero(rm < 0), None),
            "employer_client_id": c.ids.gather(np.maximum(emp, 0)).scatter(
                np.flatnonzero(emp < 0), None
            ),
            "job_title": pl.Series(JOB_TITLES, dtype=pl.Utf8).gather(c.job_title[idx]),
        }
    )


def day_changes(
    c: Clients, seed: int, day_index: int, is_workday: bool, ref: Reference
) -> np.ndarray:
    """Clients to deliver on a later date: new ones opened that day, and changed ones.

    Changes (a new phone, or a new RM in the same sub-branch) are applied to ``c`` in place.
    Branches are shut on non-working days: nothing new, nothing changed.
    """
    if not is_workday:
        return np.array([], dtype=np.int64)
    gen = rng(seed, "client_changes", day_index)
    new = np.flatnonzero(c.open_day == day_index)
    existing = np.flatnonzero(c.open_day < day_index)
    k = min(len(existing), gen.poisson(0.0005 * c.n))
    changed = np.sort(gen.choice(existing, k, replace=False)) if k else existing[:0]
    new_phone = gen.random(k) < 0.5
    c.phone[changed[new_phone]] = 13_000_000_000 + gen.integers(0, 6 * 10**9, new_phone.sum())
    moved = changed[~new_phone]
    sub = ref.client_inst_sub[c.inst_idx[moved]]
    candidates = [np.flatnonzero(ref.rm_sub == s) for s in sub]
    c.rm[moved] = [cand[gen.integers(0, len(cand))] for cand in candidates]
    return np.union1d(new, changed).astype(np.int64)
