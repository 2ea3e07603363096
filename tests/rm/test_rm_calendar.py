"""Working-day calendar: the library seed.

The October holiday and the fallback year as dbt's int_calendar builds them are tested with
the built RM bank in test_rm_attainment.py (one file per built bank: pytest-xdist's loadfile
would build the session's bank once per worker otherwise)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
from pathlib import Path

from rm_build import DBT_PROJECT

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
