"""The RM marts built night by night equal one full build, and a night rebuilds its own month.

The RM month models (plans, activity, pipeline, goals, attainment) are incremental by month:
a night rewrites the months from its own on, plus the earlier months a delivery of the night
changes. The bank is the RM tests' bank (tests/rm/rm_bank.py: a gap in deliveries from
2026-12-07 to 2027-01-03) with two deliveries that change December after December's last
night, both on 2027-01-04: a December order re-delivered as cancelled, and the first record
of a client opened on 2026-12-04. One warehouse runs each date as its own nightly window,
another builds everything at once from the same raw layer; every RM table agrees, the late
deliveries show in December, and a night rewrites only the months it must.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import rm_bank
from rm_build import DBT, RM_SELECTION, BuiltBank, dbt_options, deliver_and_ingest

from clientmart.settings import Settings

LATE_DAY = dt.date(2027, 1, 4)
LATE_CLIENT = "C012"
# LATE_DAY's order file holds the bank's orders of the date and this correction of O08
# (2026-12-05, RM01 GOLD1 12,345.67). By the landing contract an order's trade date is its
# delivery's date (and its client is known by then), so the correction is traded on LATE_DAY.
LATE_ORDER = ["O08", LATE_DAY.isoformat(), "C001", "GOLD1", "RM01", "buy", "12345.67", "cancelled"]
COMPARED = {
    "int_rm_plan_daily": "rm_id, metric, calendar_date",
    "int_rm_plan_weekly": "rm_id, metric, month_start, week_of_month",
    "int_rm_activity_daily": "rm_id, metric, activity_date",
    "int_rm_pipeline_daily": "rm_id, metric, calendar_date",
    "mart_rm_pipeline_goals": "rm_id, metric, month_start, checkpoint",
    "mart_rm_attainment": "attainment_level, entity_code, metric, calendar_date",
    "mart_rm_nine_grid": "rm_id, client_id",
}


def _deliver_late(landing: Path) -> None:
    """Add LATE_ORDER to LATE_DAY's order file and deliver C012 (opened on 2026-12-04,
    RM02) for the first time."""
    folder = LATE_DAY.strftime("%Y%m%d")
    orders = [
        [o, d.isoformat(), c, p, rm, side, amount, status]
        for o, d, c, p, rm, side, amount, status in rm_bank.ORDERS
        if d == LATE_DAY
    ] + [LATE_ORDER]
    rm_bank._write(landing / "wealth_orders" / folder, "orders.csv", rm_bank.ORDER_HEADER, orders)
    clients_file = landing / "clients" / folder / "clients.csv"
    header = clients_file.read_text(encoding="utf-8").splitlines()[0].split(",")
    c012 = [LATE_CLIENT, "I", "Client C012", "110101198001010120", "13800000120"]
    c012 += ["1988-08-08", "F", "2026-12-04", "SB2", "RM02", "", ""]
    rm_bank._write(landing / "clients" / folder, "clients.csv", header, [c012])


def _dbt(command: list[str], env: dict[str, str], home: Path) -> None:
    done = subprocess.run(
        [str(DBT), *command, *dbt_options(home), "--select", *RM_SELECTION],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    return BuiltBank(warehouse, "").rows(sql)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Ingest and run every bank date as its own night; then a full build of the same raw."""
    home = tmp_path_factory.mktemp("rm_nightly")
    settings = Settings(home=home, pseudonym_key_file=home / "pseudonym.key")
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = settings.dbt_env()
    _dbt(["seed"], env, home)
    for day in rm_bank.BANK_DATES:
        deliver_and_ingest(settings, day, _deliver_late if day == LATE_DAY else None)
        window = {
            "CLIENTMART_RUN_START_DATE": day.isoformat(),
            "CLIENTMART_RUN_END_DATE": day.isoformat(),
        }
        _dbt(["run"], {**env, **window}, home)
    full = home / "full.duckdb"
    _dbt(["seed"], {**env, "DBT_CLIENTMART_WAREHOUSE_PATH": str(full)}, home)
    _dbt(["run"], {**env, "DBT_CLIENTMART_WAREHOUSE_PATH": str(full)}, home)
    nightly = home / "nightly.duckdb"
    shutil.copy(settings.warehouse, nightly)
    return {"nightly": nightly, "full": full}


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_nightly_rm_tables_equal_the_full_build(warehouses: dict[str, Path], table: str) -> None:
    sql = f"select * from {table} order by {COMPARED[table]}"
    nightly = _rows(warehouses["nightly"], sql)
    assert nightly, f"{table} is empty"
    assert nightly == _rows(warehouses["full"], sql)


def test_late_deliveries_restate_december(warehouses: dict[str, Path]) -> None:
    """The night of 2027-01-04 rewrote December: O08 re-delivered as cancelled leaves RM01's
    December sales, and C012's first delivery credits its opening on 12-04 to RM02, its
    acquiring RM."""
    rows = _rows(
        warehouses["nightly"],
        "select metric, actual_cum_value from mart_rm_attainment "
        "where attainment_level = 'rm' and rm_id = 'RM01' and calendar_date = '2026-12-31' "
        "and metric in ('investment_sales', 'new_clients') order by metric",
    )
    # O01 100,000 (O03 was cancelled on 12-02, O08 on 01-04); C010 and C011 opened
    assert rows == [("investment_sales", Decimal("100000.00")), ("new_clients", Decimal("2.00"))]
    activity = _rows(
        warehouses["nightly"],
        "select metric, metric_value from int_rm_activity_daily "
        "where rm_id = 'RM02' and activity_date = '2026-12-04' order by metric",
    )
    # C004's GOLD1 order of 12-04 was cancelled: C012's opening only
    assert activity == [("activity_count", Decimal("1.00")), ("new_clients", Decimal("1.00"))]


def _written(warehouse: Path, night: int) -> dict[str, list[str]]:
    """The key values each RM model replaced in the ``night``-th last dbt run."""
    rows = _rows(
        warehouse,
        "with runs as (select invocation_id, max(write_id) as last_write "
        "              from incremental_writes group by invocation_id) "
        "select relation_name, list(distinct key_value order by key_value) "
        "from incremental_writes "
        "where invocation_id = (select invocation_id from runs "
        f"                       order by last_write desc limit 1 offset {night - 1}) "
        "and relation_name like 'main.%rm%' group by relation_name",
    )
    return {relation.removeprefix("main."): keys for relation, keys in rows}


def test_a_night_rewrites_its_own_month_and_what_changed_before(
    warehouses: dict[str, Path],
) -> None:
    """The last night (2027-01-05) replaced January's rows and no other; the night before
    also rewrote December: its late deliveries, and the days after 12-06 (the last loaded
    day before the gap) that became past."""
    last = _written(warehouses["nightly"], 1)
    assert last == {
        "int_rm_activity_daily": ["2027-01-01"],
        "int_rm_deposit_growth_daily": ["2027-01-05"],
    }
    late = _written(warehouses["nightly"], 2)
    assert late["int_rm_activity_daily"] == ["2026-12-01", "2027-01-01"]
    assert late["mart_rm_attainment"] == ["2026-12-01"]
    assert late["int_rm_deposit_growth_daily"] == ["2027-01-04"]


@pytest.mark.parametrize("day", [dt.date(2026, 12, 3), dt.date(2027, 1, 4)])
def test_re_running_an_earlier_date_changes_no_rm_table(
    warehouses: dict[str, Path], tmp_path: Path, day: dt.date
) -> None:
    """A corrected delivery re-runs its date after later dates were built (the arrival
    sensor does it by itself). The RM marts must still show the latest loaded day: they
    were computed as of the run's end date, so a re-run of 12-03 rolled attainment and the
    nine-grid back to 12-03 while every other mart, and the publication, stayed at 01-05."""
    home = warehouses["nightly"].parent
    settings = Settings(home=home, pseudonym_key_file=home / "pseudonym.key")
    rerun = tmp_path / "rerun.duckdb"
    shutil.copy(warehouses["nightly"], rerun)
    window = {
        "CLIENTMART_RUN_START_DATE": day.isoformat(),
        "CLIENTMART_RUN_END_DATE": day.isoformat(),
        "DBT_CLIENTMART_WAREHOUSE_PATH": str(rerun),
    }
    _dbt(["run"], {**settings.dbt_env(), **window}, home)
    for table, order in sorted(COMPARED.items()):
        sql = f"select * from {table} order by {order}"
        assert _rows(rerun, sql) == _rows(warehouses["full"], sql), table
