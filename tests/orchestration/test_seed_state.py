"""Seeds are loaded when they change, not every night (orchestration/defs/dbt/seed_state.py).

On a copy of the tiny dbt project (its seed ``currencies`` has two tests of its own, and a
relationships test reads a model and the seed): the first night loads and tests the seed, the
next one leaves both out but still runs the relationships test, an edited seed is loaded
again, and so is a seed table that went missing from the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
from fixture_deliveries import FIXTURE_DBT, deliver_date

from orchestration.build import build_definitions
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.dbt.seed_state import SEED_STATE_TABLE
from orchestration.runner import dagster_instance, run_dates

DAYS = [dt.date(2026, 9, 1) + dt.timedelta(days=n) for n in range(4)]
SEED = "seed.orchestration_fixture.currencies"
SEED_TESTS = {"not_null_currencies_currency", "unique_currencies_currency"}
MIXED_TEST = "relationships_stg_raw__fx_rates_currency__currency__ref_currencies_"


def _night(settings, project_dir: Path, day: dt.date) -> dict[str, str]:
    """Run one date; return the status of each node its dbt build ran, by node name."""
    defs = build_definitions(settings, project_dir)
    outcomes = run_dates(settings, defs, dagster_instance(settings), day, day)
    assert [o.success for o in outcomes] == [True], [o.describe() for o in outcomes]
    target = Path(dbt_project(settings, project_dir).target_path)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        r["unique_id"] if r["unique_id"] == SEED else r["unique_id"].split(".")[2]: r["status"]
        for r in results
    }


def _currencies(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select currency from currencies order by all").fetchall()


def test_seeds_load_when_they_change_not_every_night(settings, tmp_path):
    project = tmp_path / "dbt_fixture_seeds"
    shutil.copytree(FIXTURE_DBT, project, ignore=shutil.ignore_patterns("target", "logs"))
    for day in DAYS:
        deliver_date(settings.landing, day)

    first = _night(settings, project, DAYS[0])
    assert first[SEED] == "success"
    assert {first[t] for t in SEED_TESTS} == {"pass"}
    assert first[MIXED_TEST] == "pass"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute(f"select count(*) from {SEED_STATE_TABLE}").fetchone() == (1,)

    second = _night(settings, project, DAYS[1])
    assert SEED not in second
    assert not SEED_TESTS & set(second)
    assert second[MIXED_TEST] == "pass"  # reads a model too: every night
    assert second["mart_fx_daily"] == "success"

    # an edited seed is loaded (and tested) again
    seed_file = project / "seeds" / "currencies.csv"
    seed_file.write_text(seed_file.read_text() + "JPY,Yen\n")
    third = _night(settings, project, DAYS[2])
    assert third[SEED] == "success"
    assert {third[t] for t in SEED_TESTS} == {"pass"}
    assert _currencies(settings) == [("EUR",), ("JPY",), ("USD",)]

    # a seed table gone from the warehouse is loaded again, with the record unchanged
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop table currencies")
    fourth = _night(settings, project, DAYS[3])
    assert fourth[SEED] == "success"
    assert _currencies(settings) == [("EUR",), ("JPY",), ("USD",)]
