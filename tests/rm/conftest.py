"""Session fixture: the tiny RM bank, ingested and built with dbt once for all RM tests."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rm_bank  # noqa: E402

from clientmart.settings import Settings  # noqa: E402
from ingest.pipeline import ingest_date  # noqa: E402

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


@pytest.fixture(scope="session")
def rm_built_bank(tmp_path_factory: pytest.TempPathFactory) -> BuiltBank:
    """Write the bank's landing files, ingest every date (re-delivering one corrected order
    file), then run `dbt build` on the RM models and their parents."""
    home = tmp_path_factory.mktemp("rm_bank")
    settings = Settings(home=home, pseudonym_key_file=home / "pseudonym.key")
    for day in rm_bank.BANK_DATES:
        deliver_and_ingest(settings, day)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    common = dbt_options(home)
    env = {**os.environ, **settings.dbt_env()}
    # Other areas' unit tests are theirs to run; the RM unit tests run on their own after.
    build = [
        str(DBT),
        "build",
        *common,
        "--indirect-selection",
        "cautious",
        "--select",
        *RM_SELECTION,
        "--exclude",
        "test_type:unit",
    ]
    unit = [
        str(DBT),
        "test",
        *common,
        "--select",
        "test_type:unit,path:models/intermediate/rm",
        "test_type:unit,path:models/marts/rm",
    ]
    output = ""
    for command in (build, unit):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        output += done.stdout + done.stderr
        assert done.returncode == 0, output[-5000:]
    return BuiltBank(settings.warehouse, output)
