"""A backfill range draws the same call lists as the same dates run night by night.

The orchestration benchmark's range and nightly runs disagreed on the lists of a bank's first
weeks, drawn on a month still running. The bank here starts on 2026-02-01; one warehouse
builds 02-01 .. 03-02 as one range, the other builds 02-01 .. 02-27 at once and then each
date 02-28 .. 03-02 as its own nightly run (the night that completes February, a night that
redraws its week, a Monday that starts a week in a new month), from the same raw layer.
Lists exist only once February is complete (the weeks of 02-23 and 03-02), and every column
of every list agrees.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from test_tier_marts import _dbt

from clientmart.generator.bank import generate_bank
from clientmart.settings import Settings
from ingest.pipeline import ingest_date

START = dt.date(2026, 2, 1)
FIRST_NIGHT = dt.date(2026, 2, 28)  # a Saturday
END = dt.date(2026, 3, 2)  # a Monday
DATES = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
SELECTION = ["--select", "+mart_call_list", "--exclude", "mart_client_tier_history"]


def _build(settings: Settings, first: dt.date, last: dt.date) -> None:
    _dbt(
        settings,
        settings.warehouse.parent,
        "build",
        *SELECTION,
        "--exclude-resource-type",
        "test",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        f"{{start_date: '{first.isoformat()}', end_date: '{last.isoformat()}'}}",
    )


def _lists(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select * from mart_call_list order by all").fetchall()


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Settings]:
    home = tmp_path_factory.mktemp("call_list_range")
    ranged = Settings(home=home, warehouse_path=home / "range" / "build.duckdb")
    nightly = Settings(home=home, warehouse_path=home / "nightly" / "build.duckdb")
    generate_bank(ranged.landing, clients=400, start=START, end=END, seed=11)
    for day in DATES:
        ingest_date(ranged, day)
    for settings in (ranged, nightly):
        settings.warehouse.parent.mkdir(parents=True)
    _build(ranged, START, END)
    _build(nightly, START, FIRST_NIGHT - dt.timedelta(days=1))
    for day in DATES[DATES.index(FIRST_NIGHT) :]:
        _build(nightly, day, day)
    return ranged, nightly


def test_a_range_draws_the_call_lists_of_its_nightly_runs(homes) -> None:
    ranged, nightly = homes
    range_lists, nightly_lists = _lists(ranged), _lists(nightly)
    assert nightly_lists, "the nightly runs drew no call list: the bank tests nothing"
    assert {row[0] for row in nightly_lists} == {dt.date(2026, 2, 23), dt.date(2026, 3, 2)}
    assert range_lists == nightly_lists


def test_a_week_redrawn_empty_keeps_no_rows_of_an_earlier_draw(homes) -> None:
    """A week whose list a later night redraws empty (its client was contacted and cools
    down) must lose the earlier draw's rows: dbt's delete+insert alone deletes only the weeks
    its batch holds. Here a row left by an earlier draw of the week of 02-16 (no complete
    month yet, so no list) goes when the night of 02-20 runs again."""
    ranged, nightly = homes
    stale = (
        "insert into mart_call_list (call_week_start, rm_id, client_id, as_of_date) "
        "values (date '2026-02-16', 'RM00001', 'C0000000001', date '2026-02-18')"
    )
    with duckdb.connect(str(nightly.warehouse)) as con:
        con.execute(stale)
    day = dt.date(2026, 2, 20)
    _build(nightly, day, day)
    assert _lists(nightly) == _lists(ranged)
