"""Run a long-lived child process tree (``dagster dev``: webserver, daemon, code server) so
that every usual way of stopping the command stops all of it.

``dagster dev`` stops cleanly on SIGINT, and maps SIGTERM to whatever SIGINT does. Started
from a shell in the background SIGINT is ignored, so SIGTERM was ignored too and the
webserver and daemon had to be killed by hand. Here the child runs in a session of its own
with SIGINT at its default; Ctrl-C, SIGTERM or SIGHUP on this process are passed on to it as
one SIGINT (its clean shutdown), and whatever of its tree is still alive after a grace period,
or after the child ends, is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 60.0  # dagster dev waits up to 60 s for each of webserver and daemon
POLL_SECONDS = 0.5


def run_until_stopped(
    command: Sequence[str], env: Mapping[str, str], grace_seconds: float = GRACE_SECONDS
) -> int:
    """Run ``command`` until it ends or this process is asked to stop; return its exit code
    (0 when it stopped because it was asked to)."""
    child: subprocess.Popen | None = None
    stop_requested: list[float] = []

    def request_stop(signum: int, _frame: object) -> None:
        if not stop_requested:
            stop_requested.append(time.monotonic())
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)

    # Handlers first: a signal handled here is reset to its default in the child at exec,
    # even when this process was started with SIGINT ignored.
    previous = {signum: signal.signal(signum, request_stop) for signum in STOP_SIGNALS}
    try:
        child = subprocess.Popen(list(command), env=dict(env), start_new_session=True)
        if stop_requested:
            child.send_signal(signal.SIGINT)
        while child.poll() is None:
            try:
                child.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            if stop_requested and time.monotonic() - stop_requested[0] > grace_seconds:
                _kill_group(child.pid, signal.SIGKILL)
        _kill_group(child.pid, signal.SIGTERM)  # what outlived it (it died without cleaning up)
        return 0 if stop_requested and child.returncode in (0, -signal.SIGINT) else child.returncode
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass  # the whole group has ended
