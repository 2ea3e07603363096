"""Dagster APIs this project uses on purpose although Dagster warns about them.

Each is silenced where it is used, never process-wide, so that any other warning (an API a
Dagster upgrade deprecates) still shows, and tests/orchestration requires that loading the
definitions warns nothing. Why each is chosen is said where it is used:
- ``partitions_def`` on an ``AssetCheckSpec`` (preview): checks stored per business date
  (orchestration/check_results.py);
- ``backfill_policy`` on ``@dg.asset`` (beta): a range is one run (orchestration/partitions.py);
- the freshness checks' sensor (superseded by ``FreshnessPolicy``, which is not
  partition-aware yet: orchestration/defs/serving/assets.py).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def chosen(category: type[Warning], message: str) -> Iterator[None]:
    """Silence Dagster's ``category`` warning whose text starts with ``message`` (a regular
    expression) inside the block only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message, category)
        yield
