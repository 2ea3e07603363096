"""Pure helpers of the orchestration layer, tested without running Dagster."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from orchestration.alerts import write_alert
from orchestration.defs.dbt.assets import failed_nodes
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
