"""`clientmart dbt ...`: dbt by hand with the pipeline's environment (the runbook's full
refreshes after a deploy), instead of exporting Settings.dbt_env()'s five variables, one of
them a secret read from a file, by hand. It waits for a CLI run writing the warehouse."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from clientmart.settings import Settings
from orchestration.runner import warehouse_lock

CLIENTMART = Path(sys.executable).with_name("clientmart")
LIST_DIM_DATE = ("ls", "--select", "dim_date", "--resource-type", "model", "--output", "name")


def _dbt(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(CLIENTMART), "dbt", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_dbt_runs_with_the_pipeline_environment_and_waits_for_a_run(tmp_path: Path) -> None:
    # the profile reads the warehouse path from the environment: without the pipeline's
    # environment dbt stops at "Env var required but not provided"
    listed = _dbt(tmp_path, *LIST_DIM_DATE)
    output, _ = listed.communicate(timeout=600)
    assert listed.returncode == 0, output
    assert output.strip().splitlines()[-1] == "dim_date"
    # a home with no built warehouse is said (`docs generate` there writes an empty catalog)
    assert f"warning: no build warehouse at {tmp_path / 'warehouse'}" in output

    with warehouse_lock(Settings(home=tmp_path)):  # a CLI run writing the warehouse
        waiting = _dbt(tmp_path, *LIST_DIM_DATE)
        parsed = _dbt(tmp_path, "parse")  # opens no warehouse: does not wait
        output, _ = parsed.communicate(timeout=600)
        assert parsed.returncode == 0, output
        time.sleep(1)
        assert waiting.poll() is None  # still waiting for the run
    output, _ = waiting.communicate(timeout=600)
    assert waiting.returncode == 0 and output.strip().splitlines()[-1] == "dim_date", output


def test_dbt_exit_code_is_dbt_own(tmp_path: Path) -> None:
    refused = _dbt(tmp_path, "ls", "--no-such-flag")
    output, _ = refused.communicate(timeout=600)
    assert refused.returncode == 2, output
    assert "No such option '--no-such-flag'" in output
