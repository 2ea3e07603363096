"""Pure helpers of the orchestration layer, tested without running Dagster."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest
from fixture_deliveries import warehouse_held

from orchestration.alerts import write_alert
from orchestration.defs.dbt.assets import (
    failed_nodes,
    failure_message,
    is_lock_conflict,
    results_of_run,
)
from orchestration.gating import parse_allowed, run_dates


def test_failed_nodes_lists_only_what_did_not_pass():
    results = {
        "results": [
            {"unique_id": "model.c.dim_client", "status": "success", "message": "OK"},
            {"unique_id": "test.c.assert_rates", "status": "fail", "message": "Got 2 results"},
            {"unique_id": "model.c.mart_x", "status": "error", "message": "Conversion Error"},
            {"unique_id": "model.c.mart_y", "status": "skipped", "message": None},
        ]
    }
    assert failed_nodes(results) == [
        "test.c.assert_rates: fail Got 2 results",
        "model.c.mart_x: error Conversion Error",
    ]


def test_a_dbt_failure_names_its_nodes_else_how_the_process_ended(tmp_path):
    """A dbt process killed by a signal reports no failed node: the message says how it
    ended and where its log is, instead of "see log"."""
    day, log = dt.date(2026, 7, 1), tmp_path / "dbt.log"
    failed = ["model.c.mart_x: error Conversion Error"]
    assert failure_message(day, day, failed, 1, log) == (
        "dbt build for 2026-07-01..2026-07-01 failed: model.c.mart_x: error Conversion Error"
    )
    killed = subprocess.Popen(["sleep", "30"])
    killed.kill()
    killed.wait()
    message = failure_message(day, dt.date(2026, 7, 8), [], killed.returncode, log)
    assert message.startswith("dbt build for 2026-07-01..2026-07-08 failed: the dbt process ")
    assert "killed by SIGKILL" in message and message.endswith(f"; see {log}")
    assert "dbt exited with code 2 without reporting a failed node" in failure_message(
        day, day, [], 2, log
    )


def test_only_a_warehouse_held_by_another_process_makes_dbt_retry(tmp_path):
    """The retry is decided on the failed nodes' errors: DuckDB's own lock error (taken here
    from a real conflict with a writer in another process) is retried; a failed data test or a
    killed dbt is not, even when the home's path, which the step's message names, says 'lock'."""
    warehouse = tmp_path / "blocks" / "build.duckdb"
    with warehouse_held(warehouse), pytest.raises(duckdb.IOException) as conflict:
        duckdb.connect(str(warehouse))
    results = {
        "results": [
            {
                "unique_id": "model.clientmart.dim_client",
                "status": "error",
                "message": f"Runtime Error\n  {conflict.value}",
            },
            {
                "unique_id": "test.clientmart.not_null_dim_client_rm_id",
                "status": "fail",
                "message": "Got 3 results, configured to fail if != 0",
            },
            {  # an error that says "block" (a Jinja block) is not a held warehouse
                "unique_id": "model.clientmart.mart_client_tier",
                "status": "error",
                "message": "Compilation Error\n  Encountered unknown tag 'endblock'",
            },
        ]
    }
    failed = failed_nodes(results)
    assert is_lock_conflict(failed)
    assert not is_lock_conflict(failed[1:])
    assert not is_lock_conflict(failed[2:])
    killed = failure_message(dt.date(2026, 7, 1), dt.date(2026, 7, 1), [], -9, warehouse)
    assert "lock" in killed and not is_lock_conflict([])


def test_a_dbt_run_reads_only_its_own_run_results():
    """A killed dbt leaves the previous run's run_results.json: its failures are not this
    run's, so it is read only when written after the run started."""
    started = dt.datetime(2026, 12, 5, 0, 5, tzinfo=dt.UTC)
    fresh = {"metadata": {"generated_at": "2026-12-05T00:05:58.1Z"}, "results": [1]}
    stale = {"metadata": {"generated_at": "2026-12-04T23:50:02.0Z"}, "results": [1]}
    assert results_of_run(fresh, started) == fresh
    assert results_of_run(stale, started) == {}
    assert results_of_run({}, started) == {}


def test_run_dates_from_partition_and_range_tags():
    assert run_dates({"dagster/partition": "2026-09-02"}) == [dt.date(2026, 9, 2)]
    ranged = {
        "dagster/asset_partition_range_start": "2026-09-30",
        "dagster/asset_partition_range_end": "2026-10-02",
    }
    assert run_dates(ranged) == [dt.date(2026, 9, 30), dt.date(2026, 10, 1), dt.date(2026, 10, 2)]
    assert run_dates({}) == []
    assert parse_allowed({"clientmart/allow_past": "2026-09-01, 2026-09-03"}) == [
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 3),
    ]


def test_alert_goes_to_a_json_file_and_the_webhook(tmp_path):
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return None

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    path = write_alert(
        tmp_path / "alerts",
        "run_failure",
        "dbt build for 2026-09-02 failed",
        business_date="2026-09-02",
        webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
    )
    thread.join(timeout=10)
    server.server_close()
    stored = json.loads(path.read_text())
    assert stored["kind"] == "run_failure" and stored["business_date"] == "2026-09-02"
    assert received == [stored]


@pytest.mark.parametrize(
    "url", ["hooks.example.com/alert", "localhost/hook", "http://bad host/x", "ftp://h/x"]
)
def test_a_webhook_that_cannot_be_sent_is_logged_and_the_alert_file_kept(tmp_path, caplog, url):
    """However the URL is wrong, the alert is written and the run's own error goes on: the
    failing webhook is logged, never raised (a raise here replaced the run's error with a
    traceback)."""
    path = write_alert(
        tmp_path / "alerts", "run_failure", "a night failed", business_date="2026-09-02",
        webhook_url=url,
    )  # fmt: skip
    assert json.loads(path.read_text())["message"] == "a night failed"
    assert f"alert webhook {url} failed" in caplog.text


@pytest.mark.parametrize(
    "url", ["hooks.example.com/alert", "localhost/hook", "http://bad host/x", "ftp://h/x"]
)
def test_a_webhook_url_that_is_not_http_is_refused_when_the_settings_load(
    tmp_path, monkeypatch, url
):
    from click.testing import CliRunner

    import clientmart.cli as cli

    monkeypatch.setenv("CLIENTMART_ALERT_WEBHOOK_URL", url)
    done = CliRunner().invoke(cli.main, ["summary", "--home", str(tmp_path)])
    assert done.exit_code != 0
    assert "CLIENTMART_ALERT_WEBHOOK_URL" in done.output and url in done.output, done.output
    assert "http(s)" in done.output and "Traceback" not in done.output
    assert isinstance(done.exception, SystemExit)  # click's error, not a crash
