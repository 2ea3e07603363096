"""Folders given as relative paths (`--home data/berka`, `CLIENTMART_HOME=data`, ...) mean the
folder under the directory the command started in, for every part of the pipeline: ingest,
great-expectations (whose stores refuse a relative base directory), dbt (which runs in its
project folder) and the publish. The README's real-bank command gives `--home data/berka`;
it failed in every ingest step before the settings made their paths absolute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_deliveries import FIXTURE_DBT, deliver_date

import clientmart.cli as cli
from clientmart.settings import Settings

D1 = dt.date(2026, 9, 1)

PATH_PROPERTIES = (
    "home",
    "landing",
    "raw",
    "quarantine",
    "warehouse",
    "serving",
    "dagster",
    "alerts",
    "gx_docs",
    "key_file",
)


def test_every_folder_given_relative_is_absolute_under_the_starting_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLIENTMART_HOME", "bank")
    monkeypatch.setenv("CLIENTMART_GX_DOCS_DIR", "docs/gx")
    settings = Settings(landing_root=Path("deliveries"))
    for name in PATH_PROPERTIES:
        path = getattr(settings, name)
        assert path.is_absolute() and path.is_relative_to(tmp_path), (name, path)
    assert settings.landing == tmp_path / "deliveries"
    assert settings.gx_docs == tmp_path / "docs" / "gx"
    assert settings.raw == tmp_path / "bank" / "raw"
    assert all(
        Path(value).is_absolute() for key, value in settings.dbt_env().items() if "ROOT" in key
    )

    chosen = cli._settings(Path("in"), Path("out"), Path("w/build.duckdb"))
    assert chosen.warehouse == tmp_path / "w" / "build.duckdb"
    assert (chosen.home, chosen.landing) == (tmp_path / "out", tmp_path / "in")


def test_the_cli_runs_a_date_with_relative_home_and_landing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.build import build_definitions
    from orchestration.runner import dagster_instance

    monkeypatch.chdir(tmp_path)
    for name in ("HOME", "LANDING_ROOT", "GX_DOCS_DIR"):
        monkeypatch.delenv(f"CLIENTMART_{name}", raising=False)
    deliver_date(tmp_path / "landing", D1)
    monkeypatch.setattr(  # the tiny dbt project of these tests instead of the real one
        cli,
        "_load_pipeline",
        lambda settings: (build_definitions(settings, FIXTURE_DBT), dagster_instance(settings)),
    )

    result = CliRunner().invoke(
        cli.main, ["run", "--date", D1.isoformat(), "--home", "bank", "--landing", "landing"]
    )

    assert result.exit_code == 0, result.output
    home = tmp_path / "bank"
    assert (home / "gx_docs" / "index.html").exists()
    assert (home / "serving" / "clientmart.duckdb").exists()
    assert any((home / "raw" / "fx_rates").rglob("*.parquet"))
    assert list((home / "alerts").glob("*.json")) == []
