"""The pipeline loads each publication into PostgreSQL when CLIENTMART_POSTGRES_DSN is set.

A generated bank through `clientmart run` (the real dbt project): after each successful run
the job `serving_postgres_job` loads the night's publication (the asset `serving_postgres`),
table for table as the serving copy holds it. A load that fails is alerted with PostgreSQL's
reason and the command fails, but the date is built and published to BI's DuckDB copy, so no
later night waits for it; `clientmart load-postgres` loads it once the server answers.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest
from click.testing import CliRunner

import clientmart.cli as cli
from clientmart.generator.bank import generate_bank
from clientmart.serving.publish import latest_publication, serving_path
from clientmart.settings import Settings
from orchestration.defs.pipeline.jobs import JOB_NAME
from orchestration.gating import succeeded
from orchestration.runner import dagster_instance

D1, D2 = dt.date(2026, 10, 1), dt.date(2026, 10, 2)
# never_load (clientmart/serving/postgres_access.yml), and the loader's own input
NEVER_LOADED = {"quarantine_records", "publication_changes"}


def served_counts(serving: Path) -> dict[str, int]:
    con = duckdb.connect(str(serving_path(serving)), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
    finally:
        con.close()


def loaded(dsn: str) -> tuple[dict[str, int], list[str]]:
    """Rows per table of schema marts, and the publications of loader.load_log, newest first."""
    with psycopg.connect(dsn) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'marts'"
            ).fetchall()
        ]
        query = 'SELECT count(*) FROM marts."{}"'
        counts = {t: conn.execute(query.format(t)).fetchone()[0] for t in tables}
        has_log = conn.execute("SELECT to_regclass('loader.load_log')").fetchone()[0]
        query = "SELECT publication_id FROM loader.load_log ORDER BY loaded_at DESC"
        log = [p for (p,) in conn.execute(query).fetchall()] if has_log else []
    return counts, log


def test_each_publication_of_the_pipeline_is_loaded_into_postgres(
    serving_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, home = tmp_path / "landing", tmp_path / "home"
    generate_bank(landing, clients=150, start=D1, end=D2, seed=11)
    args = ["--home", str(home), "--landing", str(landing)]
    runner = CliRunner()

    # a load that fails (the loader's password is wrong) is alerted and fails the command,
    # with PostgreSQL's reason; the date itself is built and published
    wrong = serving_database.replace("password=", "password=not-", 1)
    assert wrong != serving_database
    monkeypatch.setenv("CLIENTMART_POSTGRES_DSN", wrong)
    failed = runner.invoke(cli.main, ["run", "--date", D1.isoformat(), *args])
    assert failed.exit_code != 0
    assert "PostgreSQL load FAILED" in failed.output, failed.output
    assert "password authentication failed" in failed.output, failed.output
    assert "clientmart load-postgres" in failed.output
    first = latest_publication(home / "serving")
    assert first is not None and first["business_date_max"] == D1
    alerts = [json.loads(p.read_text()) for p in (home / "alerts").glob("*.json")]
    assert [a["details"]["job"] for a in alerts] == ["serving_postgres_job"], alerts
    assert "password authentication failed" in alerts[0]["message"]
    assert loaded(serving_database) == ({}, [])
    with dagster_instance(Settings(home=home)) as instance:
        assert succeeded(instance, JOB_NAME, D1)  # so the next night does not wait for it

    # once the server answers, the on-call loads the publication the copy holds
    monkeypatch.setenv("CLIENTMART_POSTGRES_DSN", serving_database)
    by_hand = runner.invoke(cli.main, ["load-postgres", "--home", str(home)])
    assert by_hand.exit_code == 0, by_hand.output
    assert f"loaded {first['publication_id']} into PostgreSQL" in by_hand.output
    counts, log = loaded(serving_database)
    expected = {t: n for t, n in served_counts(home / "serving").items() if t not in NEVER_LOADED}
    assert counts == expected
    assert counts["dim_client"] == 150 and counts["mart_client_breakdown"] > 0
    assert log == [first["publication_id"]]

    # the next night publishes, then its publication is loaded
    night = runner.invoke(cli.main, ["run", "--date", D2.isoformat(), *args])
    assert night.exit_code == 0, night.output
    second = latest_publication(home / "serving")
    assert second["business_date_max"] == D2
    counts, log = loaded(serving_database)
    assert log == [second["publication_id"], first["publication_id"]]
    expected = {t: n for t, n in served_counts(home / "serving").items() if t not in NEVER_LOADED}
    assert counts == expected
    with dagster_instance(Settings(home=home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("serving_postgres"))
    assert event is not None
    materialization = event.asset_materialization
    assert materialization.partition == D2.isoformat()
    assert materialization.metadata["publication_id"].value == second["publication_id"]


def test_load_postgres_by_hand_says_when_the_target_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLIENTMART_POSTGRES_DSN", raising=False)
    result = CliRunner().invoke(cli.main, ["load-postgres", "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "CLIENTMART_POSTGRES_DSN" in result.output


def test_with_the_daemon_a_successful_run_requests_the_load_of_its_last_date(
    tmp_path: Path,
) -> None:
    from orchestration.build import build_definitions

    settings = Settings(home=tmp_path, postgres_dsn="host=127.0.0.1 dbname=clientmart")
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("serving_postgres_after_publication")
    assert defs.resolve_job_def("serving_postgres_job") is not None
    with dg.instance_for_test() as instance:
        for tags, expected in (
            ({"dagster/partition": "2026-10-02"}, "2026-10-02"),
            (
                {
                    "dagster/asset_partition_range_start": "2026-10-01",
                    "dagster/asset_partition_range_end": "2026-10-09",
                },
                "2026-10-09",
            ),
        ):
            job = defs.resolve_job_def(JOB_NAME)
            run = instance.create_run_for_job(job, tags=tags, status=dg.DagsterRunStatus.SUCCESS)
            context = dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=dg.DagsterEvent(
                    event_type_value="PIPELINE_SUCCESS", job_name=JOB_NAME
                ),
            )
            request = sensor(context)
            assert isinstance(request, dg.RunRequest)
            assert (request.partition_key, request.run_key) == (expected, run.run_id)
    off = build_definitions(Settings(home=tmp_path / "off"))
    assert "serving_postgres_after_publication" not in {s.name for s in off.sensors}
    assert "serving_postgres_job" not in {j.name for j in off.jobs}
