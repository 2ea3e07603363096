"""``clientmart ui`` as an operator starts it in the background (SIGINT ignored, as a shell
does for a background job) and stops it with SIGTERM: the UI answers, then the webserver,
the daemon and the code server all end with it. Before, ``dagster dev`` applied the ignored
SIGINT to SIGTERM too and every one of them kept running."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from process_tree import alive, descendants, kill_all

STARTUP_TIMEOUT_S = 300  # the definitions parse the dbt project; slow on a loaded machine
STOP_TIMEOUT_S = 150


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(base: str) -> bool:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": "{ version }"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(json.load(response)["data"]["version"])
    except (OSError, KeyError, TypeError, ValueError):
        return False


def test_sigterm_stops_the_ui_and_everything_it_started(tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "ui.log").open("w")
    command = [str(Path(sys.executable).with_name("clientmart")), "ui", "--port", str(port)]
    ui = subprocess.Popen(
        [*command, "--home", str(tmp_path / "home")],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    started: set[int] = {ui.pid}
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers(f"http://127.0.0.1:{port}"):
            assert ui.poll() is None, (tmp_path / "ui.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "ui.log").read_text()[-3000:]
            time.sleep(2)
        started = descendants(ui.pid)
        assert len(started) >= 4, started  # clientmart, dagster dev, webserver, daemon

        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=STOP_TIMEOUT_S) == 0, (tmp_path / "ui.log").read_text()[-3000:]
        deadline = time.monotonic() + 10
        while any(alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [p for p in started if alive(p)], "left running after SIGTERM"
    finally:
        kill_all(started | descendants(ui.pid))
        log.close()
