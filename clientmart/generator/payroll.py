"""Payroll: employers pay their staff on a fixed day of the month, each batch one file.

Employers hand files in as Excel, as GBK text with Chinese headers, or as plain CSV. The
same credits appear in the deposit transactions (payroll_credit on each employee's account,
one debit on the employer's), and some employees take the money out the same day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from clientmart.generator.clients import PAY_DAYS, Clients
from clientmart.generator.deposits import CLIENT_PARTY, Accounts, Flows
from clientmart.generator.formats import scaled
from clientmart.generator.timeline import is_workday


@cache
def effective_pay_date(year: int, month: int, pay_day: int) -> dt.date:
    """The working day a payroll is paid: the nominal day, or the working day before it."""
    first = dt.date(year, month, 1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    day = first.replace(day=min(pay_day, last.day))
    while not is_workday(day) and day > first:
        day -= dt.timedelta(days=1)
    while not is_workday(day) and day < last:
        day += dt.timedelta(days=1)
    return day


@dataclass
class PayrollDay:
    employers: np.ndarray  # client indexes of employers paying today
    frames: list[pl.DataFrame]  # one typed payroll frame per employer batch


def payroll_day(
    gen: np.random.Generator, c: Clients, a: Accounts, d: int, day: dt.date, flows: Flows
) -> PayrollDay:
    paying_days = [p for p in PAY_DAYS if effective_pay_date(day.year, day.month, int(p)) == day]
    employers = np.flatnonzero(np.isin(c.pay_day, paying_days) & (c.pay_day > 0))
    live = (a.open_day <= d) & (a.close_day > d)
    frames = []
    everyone = np.flatnonzero(np.isin(c.employer, employers) & (c.open_day < d))
    everyone = everyone[np.argsort(c.employer[everyone], kind="stable")]
    group = c.employer[everyone]
    for emp in employers:
        staff = everyone[np.searchsorted(group, emp) : np.searchsorted(group, emp, "right")]
        acc = a.primary_of_client[staff]
        staff, acc = staff[live[acc]], acc[live[acc]]
        if not len(staff):
            continue
        amount = np.round(c.salary[staff] * gen.uniform(0.97, 1.03, len(staff)), 2)
        flows.add(
            acc, amount, True, "payroll_credit", "auto", np.full(len(acc), CLIENT_PARTY + emp)
        )
        emp_acc = a.primary_of_client[emp]
        if live[emp_acc]:
            flows.add([emp_acc], [amount.sum()], False, "transfer", "online", "代发工资")
        out = c.withdraws[staff]
        flows.add(
            acc[out],
            amount[out] * gen.uniform(0.9, 1.0, out.sum()),
            False,
            "transfer",
            "mobile",
            None,
        )
        batch = f"B{day:%Y%m}{emp:07d}"
        frames.append(
            pl.DataFrame(
                {
                    "employer_client_id": [c.ids[int(emp)]] * len(staff),
                    "batch_id": [batch] * len(staff),
                    "account_id": a.static["account_id"].gather(acc),
                    "employee_name": c.names.gather(staff),
                    "id_number": c.id_numbers.gather(staff),
                    "amount": scaled(amount),
                    "pay_date": [day] * len(staff),
                }
            )
        )
    return PayrollDay(employers, frames)
