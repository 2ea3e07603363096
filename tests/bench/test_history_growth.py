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


def test_the_history_is_printed_as_a_table_not_as_its_dictionary(rb) -> None:
    """The summary printed the history's dictionary whole, on one line; it is now one row
    per measured night, the ratio, and the five nodes that grew most."""
    history = {
        "clients": 300,
        "bulk_backfill_seconds": [97.0, 146.0],
        "nightly_seconds": {"2026-09-03": 39.113, "2026-10-03": 34.392},
        "dbt_build_seconds": {"2026-09-03": 27.613, "2026-10-03": 26.535},
        "publish_to_dbt_build": {"2026-09-03": 0.088, "2026-10-03": 0.067},
        "dbt_model_seconds": {"2026-09-03": 35.4, "2026-10-03": None},
        "warm_up_nightly_seconds": {"2026-09-02": 35.298, "2026-10-02": 34.909},
        "ratio": 0.879,
        "warm_up_ratio": 0.989,
        "grew_most": {f"node_{n}": [0.1 * n, 0.2 * n] for n in range(1, 8)},
    }
    lines = rb.history_lines(history)
    assert lines[0] == "history: 300 clients, bulk backfills 97.0, 146.0 s"
    assert lines[2].split() == ["2026-09-03", "39.11", "27.61", "35.4", "0.088"]
    assert lines[3].split() == ["2026-10-03", "34.39", "26.54", "-", "0.067"]
    assert "2026-09-02 35.30 s, 2026-10-02 34.91 s" in lines[4]
    assert lines[5] == "  last night / first: 0.879 (warm-up nights: 0.989)"
    grew = lines[6].split(": ", 1)[1].split(", ")
    assert len(grew) == 5 and grew[0] == "node_1 0.10 -> 0.20"
    assert not any("{" in line for line in lines)

    report = {
        "clients": 1000,
        "nightly": [
            {
                "start": "2026-10-03",
                "input_rows": 10,
                "input_mb": 1.0,
                "seconds": 1.0,
                "peak_rss_mb": 1,
                "stages": {
                    name: {"seconds": 0.1, "rows_per_s": 0, "mb_per_s": 0, "peak_rss_mb": 1}
                    for name in rb.STAGES
                },
            }
        ],
        "summary": {"date": "2026-10-03", "history": history, "targets": {}},
    }
    printed = rb.table(report)
    assert "history: 300 clients" in printed and "'nightly_seconds'" not in printed
