"""CRM feeds: monthly RM targets, the opportunity pipeline, and the RM contact log.

Targets are sized like the domain's worked example (investment sales around 2.29M CNY a
month). Opportunities move early -> considering -> committed and close won or lost; a daily
snapshot shows the open ones and those closed in the last week. Contacts carry the client's
familiarity (0-9) and attitude, the two axes of the RM's nine-grid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from clientmart.generator.clients import Clients
from clientmart.generator.formats import scaled
from clientmart.generator.naming import coded
from clientmart.generator.timeline import Timeline, rng

# metric -> (median, log-sigma, rounding step)
TARGETS = {
    "investment_sales": (2.29e6, 0.25, 10_000),
    "insurance_premium": (4.0e5, 0.3, 10_000),
    "deposit_growth": (5.0e6, 0.35, 100_000),
    "new_clients": (20, 0.3, 1),
    "activity_count": (150, 0.3, 1),
}
PIPELINE_CATEGORIES = ["fund", "wmp", "insurance", "time_deposit", "bond", "precious_metal"]
ATTITUDES = ["resistant", "neutral", "positive"]
NOTES = {
    "resistant": ["只要保本的产品", "不考虑保险", "只做短期", "需要和家人商量"],
    "neutral": ["不太了解，请介绍一下", "先看看", "到期再说"],
    "positive": ["询问年金险", "想了解基金定投", "对理财方案感兴趣", "要求推荐产品"],
}
CLOSED_VISIBLE_DAYS = 7


def targets_frame(seed: int, rm_ids: pl.Series, month: dt.date) -> pl.DataFrame:
    """One row per RM and metric for ``month`` (first day of the month)."""
    gen = rng(seed, "targets", month.year * 12 + month.month)
    n = len(rm_ids)
    parts = []
    for metric, (median, sigma, step) in TARGETS.items():
        value = np.round(np.exp(np.log(median) + sigma * gen.standard_normal(n)) / step) * step
        parts.append(
            pl.DataFrame(
                {
                    "month": [month] * n,
                    "rm_id": rm_ids,
                    "metric": [metric] * n,
                    "target_value": scaled(np.maximum(value, step)),
                }
            )
        )
    return pl.concat(parts)


def target_corrections(seed: int, targets: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Some investment_sales targets revised upwards mid-month (re-delivered rows only)."""
    gen = rng(seed, "target_corrections", month.year * 12 + month.month)
    sales = targets.filter(pl.col("metric") == "investment_sales")
    pick = gen.random(sales.height) < 0.1
    pick[0] = True
    revised = sales.filter(pl.Series(pick))
    return revised.with_columns(
        (pl.col("target_value") * 11 // 10 // 1_000_000 * 1_000_000).alias("target_value")
    )


@dataclass
class Pipeline:
    rm: np.ndarray
    client: np.ndarray  # -1: a prospect not yet a client
    category: np.ndarray
    amount: np.ndarray
    created: np.ndarray  # day index
    close: np.ndarray  # day index it closes
    expected_close: np.ndarray
    won: np.ndarray
    start_stage: np.ndarray  # 0 early, 1 considering, 2 committed


def rm_clients(c: Clients, n_rm: int) -> tuple[np.ndarray, np.ndarray]:
    """Clients sorted by RM, and each RM's start offset into that order."""
    order = np.argsort(c.rm, kind="stable")
    order = order[c.rm[order] >= 0]
    starts = np.searchsorted(c.rm[order], np.arange(n_rm + 1))
    return order, starts


def build_pipeline(seed: int, c: Clients, n_rm: int, timeline: Timeline) -> Pipeline:
    gen = rng(seed, "pipeline")
    n_work = int(timeline.workdays.sum())
    per_rm = 6 + gen.poisson(0.3 * max(n_work, 1), n_rm)
    rm = np.repeat(np.arange(n_rm), per_rm)
    k = len(rm)
    initial = np.r_[np.concatenate([np.arange(p) < 6 for p in per_rm])] if k else np.array([])
    work_idx = np.flatnonzero(timeline.workdays)
    if not len(work_idx):
        work_idx = np.arange(timeline.n)
    created = np.where(
        initial, -gen.integers(1, 60, k), work_idx[gen.integers(0, len(work_idx), k)]
    )
    close = created + gen.integers(5, 60, k)
    expected_close = close + gen.integers(-5, 6, k)
    order, starts = rm_clients(c, n_rm)
    have = starts[rm + 1] - starts[rm]
    pick = starts[rm] + (gen.random(k) * np.maximum(have, 1)).astype(int)
    client = np.where(
        (have > 0) & (gen.random(k) < 0.8), order[np.minimum(pick, len(order) - 1)], -1
    )
    category = np.array(PIPELINE_CATEGORIES)[gen.integers(0, len(PIPELINE_CATEGORIES), k)]
    amount = np.round(np.exp(np.log(3e5) + 0.9 * gen.standard_normal(k)), -3) + 1000
    won = gen.random(k) < 0.55
    start_stage = gen.choice(3, k, p=[0.6, 0.3, 0.1])
    return Pipeline(rm, client, category, amount, created, close, expected_close, won, start_stage)


def pipeline_frame(
    p: Pipeline, c: Clients, rm_ids: pl.Series, start: dt.date, d: int
) -> pl.DataFrame:
    show = np.flatnonzero((p.created <= d) & (p.close + CLOSED_VISIBLE_DAYS > d))
    progress = (d - p.created[show]) / np.maximum(p.close[show] - p.created[show], 1)
    stage_no = np.maximum(p.start_stage[show], np.digitize(progress, [0.4, 0.75]))
    closed = p.close[show] <= d
    status = np.where(closed, np.where(p.won[show], "won", "lost"), "open")
    base = np.datetime64(start, "D")
    cl = p.client[show]
    return pl.DataFrame(
        {
            "opportunity_id": coded("OP", show + 1, 8),
            "rm_id": rm_ids.gather(p.rm[show]),
            "client_id": c.ids.gather(np.maximum(cl, 0)).scatter(np.flatnonzero(cl < 0), None),
            "product_category": p.category[show],
            "expected_amount": scaled(p.amount[show]),
            "stage": np.array(["early", "considering", "committed"])[stage_no],
            "expected_close_date": pl.Series(
                base + p.expected_close[show].astype("timedelta64[D]")
            ).cast(pl.Date),
            "status": status,
            "created_date": pl.Series(base + p.created[show].astype("timedelta64[D]")).cast(
                pl.Date
            ),
        }
    )


def contacts_frame(
    seed: int, c: Clients, rm_ids: pl.Series, d: int, day: dt.date, workday: bool
) -> pl.DataFrame:
    """The day's contact log: a few contacts per RM on working days."""
    gen = rng(seed, "contacts", d)
    n_rm = len(rm_ids)
    k = gen.poisson(2.0 * n_rm) if workday else 0
    order, starts = rm_clients(c, n_rm)
    rm = gen.integers(0, n_rm, k)
    have = starts[rm + 1] - starts[rm]
    rm, have = rm[have > 0], have[have > 0]
    client = order[starts[rm] + (gen.random(len(rm)) * have).astype(int)]
    client = client[c.open_day[client] <= d]
    rm = c.rm[client]
    k = len(client)
    # A client's familiarity and attitude are stable traits, seen with a little noise.
    trait = rng(seed, "client_traits").random((c.n, 2))
    fam_base = np.clip(trait[client, 0] * 7 + 3 * (c.wealth_share[client] > 0), 0, 9)
    familiarity = np.clip(np.round(fam_base + gen.normal(0, 0.7, k)), 0, 9).astype(np.int64)
    attitude = np.array(ATTITUDES)[np.digitize(trait[client, 1], [0.25, 0.65])]
    notes = np.array(
        [
            NOTES[a][i % len(NOTES[a])]
            for i, a in zip(gen.integers(0, 12, k), attitude, strict=True)
        ],
        dtype=object,
    )
    notes[gen.random(k) < 0.2] = None
    channel = np.array(["phone", "wechat", "visit", "event"])[
        gen.choice(4, k, p=[0.5, 0.3, 0.15, 0.05])
    ]
    return pl.DataFrame(
        {
            "contact_id": coded(f"CT{day:%Y%m%d}", np.arange(1, k + 1), 6),
            "rm_id": rm_ids.gather(rm) if k else pl.Series([], dtype=pl.Utf8),
            "client_id": c.ids.gather(client),
            "contact_date": pl.Series([day] * k, dtype=pl.Date),
            "channel": pl.Series(channel, dtype=pl.Utf8),
            "familiarity": pl.Series(familiarity, dtype=pl.Int64),
            "attitude": pl.Series(attitude, dtype=pl.Utf8),
            "note": pl.Series(notes.tolist(), dtype=pl.Utf8),
        }
    )
