"""Working-day calendar: the library seed and the fallback year.

The October holiday as dbt's int_calendar builds it is tested with the built RM bank in
test_rm_attainment.py (one file per built bank: pytest-xdist's loadfile would build the
session's bank once per worker otherwise)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
from pathlib import Path

from conftest import DBT_PROJECT, BuiltBank

SCRIPT = DBT_PROJECT / "scripts" / "build_calendar_seed.py"


def _seed_script():
    spec = importlib.util.spec_from_file_location("build_calendar_seed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_seed_matches_the_installed_library(tmp_path: Path) -> None:
    script = _seed_script()
    out = tmp_path / "calendar.csv"
    count = script.write_seed(out)
    assert out.read_text() == (DBT_PROJECT / "seeds" / "cn_workday_calendar.csv").read_text()
    years = script.covered_years()
    assert count == (dt.date(years.stop - 1, 12, 31) - dt.date(years.start, 1, 1)).days + 1


def test_seed_holds_2025_national_day_and_makeup_days() -> None:
    with (DBT_PROJECT / "seeds" / "cn_workday_calendar.csv").open() as handle:
        rows = {r["calendar_date"]: r for r in csv.DictReader(handle)}
    assert all(rows[f"2025-10-0{d}"]["is_workday"] == "false" for d in range(1, 9))
    assert rows["2025-09-28"]["is_makeup_workday"] == "true"
    assert rows["2025-10-11"]["is_makeup_workday"] == "true"


def test_year_beyond_the_library_falls_back_to_weekdays_with_a_warning(
    rm_built_bank: BuiltBank,
) -> None:
    rows = rm_built_bank.rows(
        "select calendar_date, is_workday, is_calendar_fallback from int_calendar "
        "where calendar_date >= '2027-01-01' order by calendar_date"
    )
    assert rows and rows[-1][0] == dt.date(2027, 1, 31)
    assert all(fallback for _, _, fallback in rows)
    assert all(workday == (day.weekday() < 5) for day, workday, _ in rows)
    assert "outside the chinese-calendar seed coverage" in rm_built_bank.dbt_output
