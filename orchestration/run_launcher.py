"""The instance's run launcher (dagster.yaml `run_launcher`): Dagster's DefaultRunLauncher,
which starts each run in a process of its own on this machine, with a health check of that
process for Dagster's run monitoring (dagster.yaml `run_monitoring`). A run whose process
died is then marked failed by the daemon within a poll, and retried by `run_retries`,
instead of staying "started" for good (orchestration/run_health.py)."""

from __future__ import annotations

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult

from orchestration.run_health import worker_health


class MonitoredRunLauncher(dg.DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        return worker_health(self._instance, run)
