"""A backfill range writes the same month marts and call lists as the same dates run night
by night.

The orchestration benchmark's range and nightly runs disagreed twice: on the call lists of a
bank's first weeks (drawn on a month still running) and on the names of a past month's
institutions (a range named October after a November snapshot). The bank here starts on
2026-02-01; one warehouse builds 02-01 .. 03-02 as one range, the other builds 02-01 .. 02-27
at once and then each date 02-28 .. 03-02 as its own nightly run (the night that completes
February, a night that redraws its week, a Monday that starts a week in a new month), from
the same raw layer. An institutions snapshot of 03-01, after February is complete, renames
branch BR01 and moves outlet OT010101 to another sub-branch: February keeps the tree it was
reported on in both warehouses, March has the new one. Lists exist only once February is
complete (the weeks of 02-23 and 03-02), and every column of every compared mart agrees.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from test_tier_marts import _dbt

from clientmart.generator.bank import generate_bank
from clientmart.generator.institutions import build_reference
from clientmart.generator.writers import write_rows
from clientmart.settings import Settings
from ingest.pipeline import ingest_date
from ingest.read import read_delivery
from ingest.spec import load_feeds

START = dt.date(2026, 2, 1)
FIRST_NIGHT = dt.date(2026, 2, 28)  # a Saturday
END = dt.date(2026, 3, 2)  # a Monday
DATES = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]
CLIENTS, SEED = 400, 11
RENAMED_ON = dt.date(2026, 3, 1)
RENAMED, OLD_NAME, NEW_NAME = "BR01", "杭州分行", "杭州城西分行"
MOVED, OLD_PARENT, NEW_PARENT = "OT010101", "SB0101", "SB0102"
MONTH_MARTS = [
    "mart_client_breakdown",
    "mart_client_assets_monthly",
    "mart_concentration",
    "mart_client_tier",
]
SELECTION = [
    "--select",
    "+mart_call_list",
    *(f"+{mart}" for mart in MONTH_MARTS),
    "+mart_client_tier_history",
]


def _deliver_restructure(landing: Path) -> None:
    """The institutions snapshot of RENAMED_ON: the generator's latest tree with BR01
    renamed and OT010101 moved, as a UTF-8 file with its control file."""
    tree = build_reference(SEED, CLIENTS, len(DATES)).inst_changed.to_dicts()
    for row in tree:
        if row["inst_code"] == RENAMED:
            assert row["inst_name"] == OLD_NAME
            row["inst_name"] = NEW_NAME
        if row["inst_code"] == MOVED:
            assert row["parent_code"] == OLD_PARENT
            row["parent_code"] = NEW_PARENT
    write_rows(landing, load_feeds()["institutions"], RENAMED_ON, tree)


def _file(landing: Path, feed: str, day: dt.date) -> list[dict]:
    """The records of the generator's file of ``feed`` for ``day`` (any encoding or headers),
    as canonical string columns."""
    (path,) = [p for p in (landing / feed / f"{day:%Y%m%d}").iterdir() if p.suffix != ".ok"]
    read = read_delivery(path, load_feeds()[feed], feed)
    return read.frame.rename({v: k for k, v in read.columns.items()}).to_dicts()


def _deliver_client_move(landing: Path) -> tuple[str, str, str, str]:
    """A clients delivery of RENAMED_ON, beside the generator's: a client with wealth
    holdings in February moves to another outlet and another RM. Returns the client, its
    old and new institution, and its new RM."""
    holder = _file(landing, "wealth_holdings", START)[0]["client_id"]
    (record,) = [r for r in _file(landing, "clients", START) if r["client_id"] == holder]
    outlets = [
        r["inst_code"]
        for r in build_reference(SEED, CLIENTS, len(DATES)).inst_changed.to_dicts()
        if r["inst_level"] == 4 and r["inst_code"] not in (record["inst_code"], MOVED)
    ]
    rms = [r["rm_id"] for r in _file(landing, "relationship_managers", START)]
    moved = {
        **record,
        "inst_code": outlets[0],
        "rm_id": next(r for r in rms if r != record["rm_id"]),
    }
    write_rows(landing, load_feeds()["clients"], RENAMED_ON, [moved], name="clients_moves.csv")
    return holder, record["inst_code"], moved["inst_code"], moved["rm_id"]


def _build(settings: Settings, first: dt.date, last: dt.date) -> None:
    """The run window as the pipeline passes it (environment, so dbt parses once)."""
    _dbt(
        settings,
        settings.warehouse.parent,
        "build",
        *SELECTION,
        "--exclude-resource-type",
        "test",
        "--exclude-resource-type",
        "unit_test",
        env={
            "CLIENTMART_RUN_START_DATE": first.isoformat(),
            "CLIENTMART_RUN_END_DATE": last.isoformat(),
        },
    )


def _rows(settings: Settings, query: str, params: tuple = ()) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(query, list(params)).fetchall()


def _lists(settings: Settings) -> list[tuple]:
    return _rows(settings, "select * from mart_call_list order by all")


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Settings]:
    home = tmp_path_factory.mktemp("call_list_range")
    ranged = Settings(home=home, warehouse_path=home / "range" / "build.duckdb")
    nightly = Settings(home=home, warehouse_path=home / "nightly" / "build.duckdb")
    generate_bank(ranged.landing, clients=CLIENTS, start=START, end=END, seed=SEED)
    _deliver_restructure(ranged.landing)
    move = _deliver_client_move(ranged.landing)
    for day in DATES:
        ingest_date(ranged, day)
    for settings in (ranged, nightly):
        settings.warehouse.parent.mkdir(parents=True)
    _build(ranged, START, END)
    _build(nightly, START, FIRST_NIGHT - dt.timedelta(days=1))
    for day in DATES[DATES.index(FIRST_NIGHT) :]:
        _build(nightly, day, day)
    return ranged, nightly, move


def test_a_range_draws_the_call_lists_of_its_nightly_runs(homes) -> None:
    ranged, nightly, _move = homes
    range_lists, nightly_lists = _lists(ranged), _lists(nightly)
    assert nightly_lists, "the nightly runs drew no call list: the bank tests nothing"
    assert {row[0] for row in nightly_lists} == {dt.date(2026, 2, 23), dt.date(2026, 3, 2)}
    assert range_lists == nightly_lists


def test_a_week_redrawn_empty_keeps_no_rows_of_an_earlier_draw(homes) -> None:
    """A week whose list a later night redraws empty (its client was contacted and cools
    down) must lose the earlier draw's rows: dbt's delete+insert alone deletes only the weeks
    its batch holds. Here a row left by an earlier draw of the week of 02-16 (no complete
    month yet, so no list) goes when the night of 02-20 runs again."""
    ranged, nightly, _move = homes
    stale = (
        "insert into mart_call_list (call_week_start, rm_id, client_id, as_of_date) "
        "values (date '2026-02-16', 'RM00001', 'C0000000001', date '2026-02-18')"
    )
    with duckdb.connect(str(nightly.warehouse)) as con:
        con.execute(stale)
    day = dt.date(2026, 2, 20)
    _build(nightly, day, day)
    assert _lists(nightly) == _lists(ranged)


@pytest.mark.parametrize("mart", MONTH_MARTS)
def test_a_range_writes_the_month_marts_of_its_nightly_runs(homes, mart: str) -> None:
    ranged, nightly, _move = homes
    query = f"select * from {mart} order by all"
    assert _rows(ranged, query) == _rows(nightly, query)


def test_a_range_measures_the_hidden_potential_of_its_nightly_runs(homes) -> None:
    """The nights keep each credit's outflow from their own days (int_hidden_potential_txns
    rewrites a night's date and the window before it); the range measures them at once."""
    ranged, nightly, _move = homes
    query = "select * from int_hidden_potential_txns order by all"
    credits = _rows(ranged, query)
    assert any(row[4] == "payroll_pension_credit" for row in credits)
    assert credits == _rows(nightly, query)


def test_a_range_sums_the_settlement_of_its_nightly_runs(homes) -> None:
    """The nights add their own transactions to the month's settlement sums
    (int_client_settlement_state appends); the range sums each month at once. The nights
    of 02-28 append to February, 03-01 starts March, 03-02 appends to it."""
    ranged, nightly, _move = homes
    query = "select * from int_client_settlement_state order by all"
    sums = _rows(ranged, query)
    assert {row[1] for row in sums} == {START, RENAMED_ON}
    assert sums == _rows(nightly, query)
    corporates = _rows(ranged, "select * from int_client_settlement_monthly order by all")
    assert corporates and len(corporates) < len(sums)
    assert corporates == _rows(nightly, "select * from int_client_settlement_monthly order by all")


def test_a_range_keeps_the_tier_versions_of_its_nightly_runs(homes) -> None:
    """The nights rewrite only the clients whose versions they can change (a change point in
    their months, or a current version whose month count moved on 03-01); the range builds
    the history at once. February's clients have a version each, some a second in March."""
    ranged, nightly, _move = homes
    query = "select * from mart_client_tier_history order by all"
    versions = _rows(ranged, query)
    assert {row[2] for row in versions} >= {START}
    assert any(row[3] is not None for row in versions), "no version ended: the bank tests nothing"
    assert versions == _rows(nightly, query)


def test_a_client_left_without_versions_leaves_the_tier_history(homes) -> None:
    """A stored version starting in a month the night rewrites, with no change point behind
    it any more (a correction took the client's tiers away), goes, and the write log names
    the client so that the publication removes it too."""
    ranged, nightly, _move = homes
    ghost = (
        "insert into mart_client_tier_history (client_id, version_number, valid_from, "
        "is_current, months_in_version) values ('C9999999999', 1, date '2026-03-01', true, 1)"
    )
    with duckdb.connect(str(nightly.warehouse)) as con:
        con.execute(ghost)
    _build(nightly, END, END)
    query = "select * from mart_client_tier_history order by all"
    assert _rows(nightly, query) == _rows(ranged, query)
    logged = _rows(
        nightly,
        "select count(*) from incremental_writes "
        "where relation_name like '%mart_client_tier_history' and key_value = 'C9999999999'",
    )
    assert logged == [(1,)]


def test_a_night_writes_only_the_clients_whose_versions_changed(homes) -> None:
    """The night rewrites a client's versions only when they differ from the stored ones: a
    client with a change point in the open month has one every night, yet its tier seldom
    moves (at 1M clients in a bank's first month, 6,178 of 963,431 clients on 10-14, all of
    them written before, and again by the publication). Re-running a night that changes
    nothing writes none, and the history stays the range's."""
    ranged, nightly, _move = homes
    _build(nightly, END, END)
    written = _rows(
        nightly,
        "select relation_name, count(*) from incremental_writes where invocation_id = "
        "(select invocation_id from incremental_writes order by write_id desc limit 1) "
        "group by all order by all",
    )
    assert written, "the night logged no write: the test reads nothing"
    assert [name for name, _ in written if name.endswith("mart_client_tier_history")] == []
    query = "select * from mart_client_tier_history order by all"
    assert _rows(nightly, query) == _rows(ranged, query)


def test_a_past_month_keeps_the_tree_it_was_reported_on(homes) -> None:
    """The snapshot of 03-01 renamed BR01 and moved OT010101: February's rows (complete
    before it came) keep the old name and parent in both warehouses, March's have the new."""
    for settings in homes[:2]:
        names = _rows(
            settings,
            "select distinct period_start, inst_name from mart_client_breakdown "
            f"where period_type = 'month' and inst_code = '{RENAMED}' order by 1",
        )
        assert names == [(START, OLD_NAME), (RENAMED_ON, NEW_NAME)]
        parents = _rows(
            settings,
            "select distinct period_start, parent_inst_code from mart_client_breakdown "
            f"where period_type = 'month' and inst_code = '{MOVED}' order by 1",
        )
        assert parents == [(START, OLD_PARENT), (RENAMED_ON, NEW_PARENT)]
        assets = _rows(
            settings,
            "select distinct month_start, sub_branch_code from mart_client_assets_monthly "
            f"where inst_code = '{MOVED}' order by 1",
        )
        assert assets == [(START, OLD_PARENT), (RENAMED_ON, NEW_PARENT)]


def test_a_past_month_keeps_the_client_institution_and_rm_of_its_time(homes) -> None:
    """The client moved on 03-01 to another outlet and RM: its February assets, positions
    and tier stay at the old outlet in both warehouses, March's are at the new outlet with
    the new RM. (On the client's current record both warehouses moved February: the raw
    layer here holds the 03-01 delivery before either builds.)"""
    *warehouses, (client, old_inst, new_inst, new_rm) = homes
    for settings in warehouses:
        assets = _rows(
            settings,
            "select month_start, inst_code, rm_id = ? from mart_client_assets_monthly "
            "where client_id = ? order by 1",
            (new_rm, client),
        )
        wealth = _rows(
            settings,
            "select distinct month_start, inst_code from int_position_balance_monthly "
            "where client_id = ? and position_type = 'wealth' order by 1",
            (client,),
        )
        tiers = _rows(
            settings,
            "select month_start, inst_code from mart_client_tier where client_id = ? order by 1",
            (client,),
        )
        assert assets == [(START, old_inst, False), (RENAMED_ON, new_inst, True)]
        assert wealth == [(START, old_inst), (RENAMED_ON, new_inst)]
        assert tiers == [(START, old_inst), (RENAMED_ON, new_inst)]


def _credit_windows(settings: Settings) -> list[tuple]:
    return _rows(
        settings,
        "select txn_id, window_days, outflow_cny from int_hidden_potential_txns "
        "where txn_kind = 'payroll_pension_credit' order by all",
    )


def test_a_night_measures_the_credits_its_dates_reach(homes, tmp_path: Path) -> None:
    """int_hidden_potential_txns follows the run's dates: a night rewrites its own day and the
    window before it, and the result equals a build of every transaction. A new window
    length in the seed (a regional window of 5 days) cannot be served from outflows measured
    over 3 days: the next night measures every credit again, over both lengths."""
    _ranged, nightly, _move = homes
    copy = Settings(home=nightly.home, warehouse_path=tmp_path / "build.duckdb")
    shutil.copy(nightly.warehouse, copy.warehouse)
    credits = _credit_windows(copy)
    assert credits and {w for _t, w, _o in credits} == {3}
    day = END.isoformat()
    night = {"CLIENTMART_RUN_START_DATE": day, "CLIENTMART_RUN_END_DATE": day}
    log = "select max(write_id) from incremental_writes"
    before = _rows(copy, log)[0][0]
    _dbt(copy, tmp_path, "run", "--select", "int_hidden_potential_txns", env=night)
    assert _credit_windows(copy) == credits
    rewritten = _rows(
        copy,
        "select distinct cast(key_value as date) from incremental_writes where write_id > ? "
        "and relation_name like '%.int_hidden_potential_txns' order by 1",
        (before,),
    )
    reach = dt.timedelta(days=3)  # the seed's longest window
    assert rewritten and END - reach <= rewritten[0][0] and rewritten[-1][0] <= END

    with duckdb.connect(str(copy.warehouse)) as con:
        con.execute(
            "update hidden_potential_rules set passthrough_window_days = 5 "
            "where rule_set_id = 'regional'"
        )
    _dbt(copy, tmp_path, "run", "--select", "int_hidden_potential_txns", env=night)
    remeasured = _credit_windows(copy)
    assert {w for _t, w, _o in remeasured} == {3, 5}
    assert {(t, o) for t, w, o in remeasured if w == 3} == {(t, o) for t, _w, o in credits}
    assert len(remeasured) == 2 * len(credits)
    _dbt(copy, tmp_path, "run", "--full-refresh", "--select", "int_hidden_potential_txns")
    assert _credit_windows(copy) == remeasured
