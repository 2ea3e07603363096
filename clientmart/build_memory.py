"""The dbt build's DuckDB memory limit when ``CLIENTMART_WAREHOUSE_MEMORY_LIMIT`` is ``auto``.

Why it follows the bank: the limit is one DuckDB buffer pool for dbt's four threads, and a
night's three heaviest models run side by side, and they fold the month's positions (every
deposit account, loan and wealth holding, int_position_balance_monthly). At 1M clients (2.8M
positions: 2.5M deposit accounts, 0.07M loans, 0.3M holdings) they fit in 3 GB, and a larger
limit gains about 1 s a night; at 3M clients (about 8.5M positions) they spill 4.5 GB under 3
GB, and a night took 136-147 s in its run against 120-125 s under 6 GB, with 10 GB no faster
(docs/benchmark.md, "The build's memory limit follows the bank"). So ``auto`` gives the build
0.65 GB per million positions (about 2 GB per million clients), never less than 3 GB, and
never more than a third of the machine's memory (or of its container's limit): the run's
process tree peaks 2-3 GB above the limit.

What it counts: the rows of each position feed's latest business date in the raw layer
(deposit balances, loan balances, wealth holdings: a row per position and day; the row count
is read from the Parquet files' footers, so it costs milliseconds and never touches the
warehouse, which a run may be writing). So a bank whose wealth book outnumbers its deposit
accounts is sized by both. The count moves a little every day, the limit only in whole GB.
Before the first delivery is ingested there is nothing to count and the build gets the
minimum.

The limit is part of dbt's profile, so a run whose limit differs from the one the project was
last parsed under parses it whole again (dbt's partial parse compares the profile; "Unable to
do partial parsing because profile has changed" in dbt.log): about 5 s, once, in a new home's
first run and when the bank crosses a step.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ingest.store import data_files, delivered_dates

AUTO = "auto"
MIN_GB = 3  # what a 1M-client night needs (and the setting's default before ``auto``)
GB_PER_MILLION_POSITIONS = 0.65  # 6 GB for the 8.5M positions of 3M clients, 3 GB at 1M
RAM_SHARE = 1 / 3  # of the machine's memory, at most
POSITION_FEEDS = ("deposit_balances", "loan_balances", "wealth_holdings")
CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


@dataclass(frozen=True)
class BuildMemory:
    """The limit handed to DuckDB (``3GB``...) and how it was chosen, for the run's log."""

    limit: str
    reason: str


def latest_positions(raw_root: Path) -> dict[str, tuple[str, int]]:
    """Per position feed with a delivery: its latest business date in the raw layer and that
    date's rows (the raw layer's data files: not its schema file, nor a file being written)."""
    latest = {}
    for feed in POSITION_FEEDS:
        dates = delivered_dates(raw_root, feed, dt.date.max)
        if dates:
            files = data_files(raw_root, feed, dates[-1])
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            latest[feed] = (dates[-1].isoformat(), rows)
    return latest


def machine_memory(cgroup_limits: tuple[Path, ...] = CGROUP_LIMITS) -> int:
    """The memory this process may use, in bytes: the machine's, or less when its container
    is limited (a Kubernetes pod: cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``;
    "max" or v1's huge number when there is no limit)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in cgroup_limits:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            memory = min(memory, int(text))
    return memory


def auto_limit(positions: int, memory_bytes: int) -> int:
    """Whole GB for the build: 0.65 GB per million positions, rounded up, at least MIN_GB, at
    most a third of the machine's memory (and never below MIN_GB for it)."""
    wanted = math.ceil(GB_PER_MILLION_POSITIONS * positions / 1e6)
    ceiling = math.floor(memory_bytes * RAM_SHARE / 1e9)
    return max(MIN_GB, min(wanted, ceiling))


def build_memory(setting: str, raw_root: Path) -> BuildMemory:
    """The limit for ``setting``: itself when it is a size, else chosen as above."""
    if setting != AUTO:
        return BuildMemory(setting, "set by CLIENTMART_WAREHOUSE_MEMORY_LIMIT")
    memory = machine_memory()
    latest = latest_positions(raw_root)
    positions = sum(rows for _, rows in latest.values())
    gb = auto_limit(positions, memory)
    counted = (
        f"{positions:,} positions ("
        + ", ".join(f"{feed} {rows:,} on {date}" for feed, (date, rows) in latest.items())
        + ")"
        if latest
        else "no positions yet"
    )
    return BuildMemory(
        f"{gb}GB",
        f"auto: {counted} at {GB_PER_MILLION_POSITIONS} GB per million, at least {MIN_GB} GB, "
        f"at most a third of {memory / 1e9:.1f} GB",
    )
