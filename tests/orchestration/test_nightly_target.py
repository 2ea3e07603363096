"""The nightly job runs on the DuckDB target only, and says so at once on another one.

With CLIENTMART_DBT_TARGET=spark a night used to build everything on Spark, then fail in the
publish with "build warehouse lacks mart tables clientmart.dim_client, ...", which reads as
a broken DuckDB warehouse (docs/scale-out.md: the Spark target is for dbt by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import clientmart.cli as cli
from clientmart.settings import Settings
from orchestration.defs.dbt.project import nightly_target_refusal


def test_the_job_refuses_the_spark_target_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert nightly_target_refusal(Settings(home=tmp_path)) is None
    monkeypatch.setenv("CLIENTMART_DBT_TARGET", "spark")
    for command in (
        ["run", "--date", "2026-10-01"],
        ["backfill", "--from", "2026-10-01", "--to", "2026-10-02"],
    ):
        result = CliRunner().invoke(cli.main, [*command, "--home", str(tmp_path / "home")])
        assert result.exit_code != 0
        assert "CLIENTMART_DBT_TARGET is 'spark'" in result.output, result.output
        assert "clientmart dbt" in result.output
        assert not (tmp_path / "home" / "warehouse").exists()
