"""The runbook's "Moving the instance to PostgreSQL", done as written: `dagster.yaml`'s
commented `storage: postgres:` block uncommented, its `event_log_storage` block removed, the
`DAGSTER_PG_*` variables set; then a night through the CLI keeps its runs and events in
PostgreSQL, and nothing in SQLite."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

import clientmart.cli as cli
import orchestration.runner as runner
from clientmart.generator.bank import generate_bank

D1 = dt.date(2026, 10, 1)


def documented_postgres_instance(dagster_yaml: str) -> str:
    """dagster.yaml with its storage block uncommented and its event log block removed."""
    lines = dagster_yaml.splitlines()
    start = lines.index("# storage:")
    end = start + 1
    while lines[end].startswith("#   "):
        end += 1
    storage = [line[2:] for line in lines[start:end]]
    first = lines.index("event_log_storage:")
    last = first + 1
    while lines[last].strip():  # the block runs to the next blank line
        last += 1
    kept = lines[:first] + lines[last:]
    return "\n".join(kept + ["", *storage, ""])


def test_a_night_on_an_instance_moved_to_postgres(
    postgres_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = secrets.token_hex(8)
    database = f"dagster_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_server.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {database} LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE DATABASE {database} OWNER {database}")
    instance_yaml = tmp_path / "dagster.yaml"
    text = documented_postgres_instance(runner.DAGSTER_YAML.read_text())
    assert "\nevent_log_storage:" not in text and "\n    postgres_db:" in text
    instance_yaml.write_text(text)
    monkeypatch.setattr(runner, "DAGSTER_YAML", instance_yaml)  # the edited repo file
    for name, value in {
        "HOST": "127.0.0.1",
        "PORT": str(postgres_server.port),
        "USER": database,
        "PASSWORD": password,
        "DB": database,
    }.items():
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)

    landing, home = tmp_path / "landing", tmp_path / "home"
    generate_bank(landing, clients=100, start=D1, end=D1, seed=3)
    result = CliRunner().invoke(
        cli.main, ["run", "--date", D1.isoformat(), "--home", str(home), "--landing", str(landing)]
    )

    assert result.exit_code == 0, result.output
    with psycopg.connect(postgres_server.dsn(database, password, database)) as conn:
        runs = conn.execute("SELECT pipeline_name, status FROM runs").fetchall()
        events = conn.execute("SELECT count(*) FROM event_logs").fetchone()[0]
    assert ("business_date_job", "SUCCESS") in runs
    assert events > 100
    assert (home / "dagster" / "dagster.yaml").read_text() == text
    assert not list((home / "dagster").rglob("*.db"))  # no SQLite run or event storage
