"""Fixtures for orchestration tests: the definitions built on a tiny dbt project (parsed once
per session), each test with its own folders; what they deliver is in fixture_deliveries.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_deliveries import FIXTURE_DBT

from clientmart.settings import Settings


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Holds the parsed dbt manifest (and pseudonym key) shared by every test."""
    return tmp_path_factory.mktemp("orchestration-home")


@pytest.fixture
def settings(session_home: Path, tmp_path: Path) -> Settings:
    return Settings(
        home=session_home,
        landing_root=tmp_path / "landing",
        raw_root=tmp_path / "raw",
        quarantine_root=tmp_path / "quarantine",
        warehouse_path=tmp_path / "warehouse" / "build.duckdb",
        serving_dir=tmp_path / "serving",
        alerts_dir=tmp_path / "alerts",
        dagster_home=tmp_path / "dagster",
        first_business_date="2026-09-01",
    )


@pytest.fixture
def defs(settings: Settings):
    from orchestration.build import build_definitions

    return build_definitions(settings, FIXTURE_DBT)
