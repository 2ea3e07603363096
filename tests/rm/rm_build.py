"""How the RM tests deliver, ingest and build the tiny RM bank (rm_bank.py), shared by the
session fixture in conftest.py and the tests that build a bank of their own.

Not in conftest.py, so that test modules can import it by name (tests/test_suite_collection.py).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import rm_bank

from clientmart.settings import Settings
from ingest.pipeline import ingest_date

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
RM_SELECTION = [
    "+mart_rm_attainment",
    "+mart_rm_nine_grid",
    "+mart_rm_pipeline_goals",
    "+int_rm_months_in_scope",
    "+int_rm_plan_weekly",
]


@dataclass
class BuiltBank:
    warehouse: Path
    dbt_output: str

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def deliver_and_ingest(
    settings: Settings, day: dt.date, add: Callable[[Path], None] | None = None
) -> None:
    """Write the bank's landing files of ``day`` (then ``add``'s, given the landing folder)
    and ingest them; on 2026-12-02 re-deliver the corrected order file and ingest again."""
    rm_bank.write_day(settings.landing, day)
    if add is not None:
        add(settings.landing)
    ingest_date(settings, day)
    if day == dt.date(2026, 12, 2):
        rm_bank.write_day(settings.landing, day, corrected=True)
        ingest_date(settings, day)


def dbt_options(home: Path) -> list[str]:
    """The project, profiles, target and log options of a dbt command run for ``home``."""
    return [
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(home / "dbt_target"),
        "--log-path",
        str(home / "dbt_logs"),
    ]
