"""The dbt build's DuckDB memory limit when ``CLIENTMART_WAREHOUSE_MEMORY_LIMIT`` is ``auto``.

Why it follows the bank: the limit is one DuckDB buffer pool for dbt's four threads, and a
night's three heaviest models run side by side. At 1M clients (2.5M deposit accounts) they fit
in 3 GB, and a larger limit gains about 1 s a night; at 3M clients (7.5M accounts) they spill
4.5 GB under 3 GB, and a night took 136-147 s in its run against 120-125 s under 6 GB, with
10 GB no faster (docs/benchmark.md, "The build's memory limit follows the bank"). So ``auto``
gives the build 0.8 GB per million deposit accounts (about 2 GB per million clients), never
less than 3 GB, and never more than a third of the machine's memory (or of its container's
limit): the run's process tree peaks 2-3 GB above the limit.

What it counts: the deposit balance rows of the latest business date in the raw layer (a
balance row per account and day; the row count is read from the Parquet files' footers, so it
costs milliseconds and never touches the warehouse, which a run may be writing). The row count
moves a little every day, the limit only in whole GB. Before the first delivery is ingested
there is nothing to count and the build gets the minimum.

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
GB_PER_MILLION_BALANCES = 0.8  # 6 GB for the 7.5M accounts of 3M clients
RAM_SHARE = 1 / 3  # of the machine's memory, at most
BALANCES = "deposit_balances"
CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)


@dataclass(frozen=True)
class BuildMemory:
    """The limit handed to DuckDB (``3GB``...) and how it was chosen, for the run's log."""

    limit: str
    reason: str


def latest_balance_rows(raw_root: Path) -> tuple[str, int] | None:
    """The latest business date of the raw deposit balances and its rows, or None before
    the first delivery (the raw layer's data files: not its schema file, nor a file being
    written)."""
    dates = delivered_dates(raw_root, BALANCES, dt.date.max)
    if not dates:
        return None
    files = data_files(raw_root, BALANCES, dates[-1])
    return dates[-1].isoformat(), sum(pq.ParquetFile(f).metadata.num_rows for f in files)


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


def auto_limit(balance_rows: int | None, memory_bytes: int) -> int:
    """Whole GB for the build: 0.8 GB per million balance rows, rounded up, at least
    MIN_GB, at most a third of the machine's memory (and never below MIN_GB for it)."""
    wanted = math.ceil(GB_PER_MILLION_BALANCES * (balance_rows or 0) / 1e6)
    ceiling = math.floor(memory_bytes * RAM_SHARE / 1e9)
    return max(MIN_GB, min(wanted, ceiling))


def build_memory(setting: str, raw_root: Path) -> BuildMemory:
    """The limit for ``setting``: itself when it is a size, else chosen as above."""
    if setting != AUTO:
        return BuildMemory(setting, "set by CLIENTMART_WAREHOUSE_MEMORY_LIMIT")
    memory = machine_memory()
    latest = latest_balance_rows(raw_root)
    gb = auto_limit(latest[1] if latest else None, memory)
    counted = (
        f"{latest[1]:,} deposit balances on {latest[0]}" if latest else "no deposit balances yet"
    )
    return BuildMemory(
        f"{gb}GB",
        f"auto: {counted} at {GB_PER_MILLION_BALANCES} GB per million, at least {MIN_GB} GB, "
        f"at most a third of {memory / 1e9:.1f} GB",
    )
