"""The history point names the dbt nodes that grew most between its two nights, and keeps what
it measured when it fails late."""

from __future__ import annotations

import argparse
import datetime as dt
from types import SimpleNamespace

import pytest

import clientmart.generator.bank as bank
import orchestration.runner as runner


def test_grew_most_ranks_nodes_by_growth_and_counts_a_missing_node_as_zero(rb) -> None:
    grew_most = rb.grew_most
    after_1 = {"dbt_nodes": {"seconds": {"flat": 5.0, "grows": 1.0, "gone": 2.0}}}
    after_6 = {"dbt_nodes": {"seconds": {"flat": 5.1, "grows": 4.0, "new": 1.5}}}

    assert grew_most(after_1, after_6, top=3) == {
        "grows": [1.0, 4.0],
        "new": [0.0, 1.5],
        "flat": [5.0, 5.1],
    }
    assert list(grew_most(after_1, after_6)) == ["grows", "new", "flat", "gone"]
    assert grew_most({}, {}) == {}


def test_a_history_run_that_fails_late_keeps_the_nights_it_measured(
    rb, monkeypatch, tmp_path
) -> None:
    """On 2026-12-05 a July range of the 1M history died after 90 minutes, and the report,
    written only at the end, lost the 1-month nights. ``keep`` now gets them as they come."""

    def generate_bank(landing, *, start, end, on_day, **_):
        day = start
        while day <= end:
            on_day(day)
            day += dt.timedelta(days=1)

    def backfill(settings, defs, instance, lo, hi):
        ok = lo.month != 4  # the April range dies
        return [SimpleNamespace(success=ok, error=None if ok else "dbt killed")]

    monkeypatch.setattr(bank, "generate_bank", generate_bank)
    monkeypatch.setattr(runner, "backfill", backfill)
    monkeypatch.setattr(rb, "pipeline_home", lambda *a: (None, None, None))
    monkeypatch.setattr(rb, "measured_run", lambda *a: {"seconds": 80.0, "dbt_nodes": {}})
    args = argparse.Namespace(
        history_months=6,
        history_start=dt.date(2026, 1, 1),
        history_day=10,
        work=tmp_path,
        history_clients=10,
        history_prune_landing=False,
        seed=1,
    )
    kept: list[dict] = []
    with pytest.raises(SystemExit, match="history backfill 2026-04-01..2026-04-30 failed"):
        rb.history_point(args, sampler=None, keep=kept.append)

    last = kept[-1]
    assert last["after_1_month"]["seconds"] == 80.0
    assert last["warm_up_after_1_month"]["seconds"] == 80.0
    ranges = [(c["start"], c["end"]) for chunks in last["bulk_backfill_chunks"] for c in chunks]
    assert ranges == [
        ("2026-01-01", "2026-01-31"),
        ("2026-02-01", "2026-02-08"),
        ("2026-02-11", "2026-02-28"),
        ("2026-03-01", "2026-03-31"),
    ]
