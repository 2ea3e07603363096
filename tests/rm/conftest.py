"""Session fixture: the tiny RM bank, ingested and built with dbt once for all RM tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rm_bank  # noqa: E402
from rm_build import DBT, RM_SELECTION, BuiltBank, dbt_options, deliver_and_ingest  # noqa: E402

from clientmart.settings import Settings  # noqa: E402


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
