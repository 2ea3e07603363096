"""``clientmart ui`` runs ``dagster dev`` (webserver, daemon, code server) under
``clientmart.supervise.run_until_stopped``: whichever way the command is stopped, nothing it
started is left running. Here with small stand-in children; ``test_ui_command.py`` stops the
real ``clientmart ui``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from process_tree import alive, kill_all

# A stand-in for dagster dev: starts a grandchild, reports both pids, and on SIGINT exits
# without stopping the grandchild (leftovers), or with IGNORE set never stops at all.
CHILD = """
import json, os, signal, subprocess, sys, time
if os.environ.get("IGNORE"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
grandchild = subprocess.Popen(["sleep", "300"])
open(sys.argv[1], "w").write(json.dumps([os.getpid(), grandchild.pid]))
try:
    while True:
        time.sleep(0.1)
except KeyboardInterrupt:
    sys.exit(0)
"""
SUPERVISOR = """
import os, sys
from clientmart.supervise import run_until_stopped
sys.exit(run_until_stopped([sys.executable, "-c", sys.argv[1], sys.argv[2]], os.environ, 3.0))
"""


def _start(tmp_path: Path, *, ignore_sigint_at_start: bool, child_ignores: bool = False):
    pids_file = tmp_path / "pids.json"
    env = {**os.environ, **({"IGNORE": "1"} if child_ignores else {})}
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, CHILD, str(pids_file)],
        env=env,
        # a shell's background job: SIGINT ignored, which dagster dev then applied to SIGTERM
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if ignore_sigint_at_start
        else None,
    )
    deadline = time.monotonic() + 60
    while not pids_file.exists() or not pids_file.read_text():
        assert supervisor.poll() is None, f"supervisor ended early: {supervisor.returncode}"
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.1)
    return supervisor, set(json.loads(pids_file.read_text()))


def _stopped(supervisor: subprocess.Popen, pids: set[int], timeout: float = 30) -> int:
    try:
        code = supervisor.wait(timeout=timeout)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if alive(p)], "processes left running"
        return code
    finally:
        kill_all(pids | {supervisor.pid})


def test_sigterm_stops_the_whole_tree_even_when_started_with_sigint_ignored(tmp_path):
    supervisor, pids = _start(tmp_path, ignore_sigint_at_start=True)
    supervisor.send_signal(signal.SIGTERM)
    assert _stopped(supervisor, pids) == 0


def test_ctrl_c_stops_the_whole_tree(tmp_path):
    supervisor, pids = _start(tmp_path, ignore_sigint_at_start=False)
    supervisor.send_signal(signal.SIGINT)
    assert _stopped(supervisor, pids) == 0


def test_a_child_that_will_not_stop_is_killed_after_the_grace_period(tmp_path):
    supervisor, pids = _start(tmp_path, ignore_sigint_at_start=False, child_ignores=True)
    started = time.monotonic()
    supervisor.send_signal(signal.SIGTERM)
    assert _stopped(supervisor, pids) != 0
    assert time.monotonic() - started >= 3.0  # the grace period first
