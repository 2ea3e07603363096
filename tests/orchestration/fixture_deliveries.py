"""What the orchestration tests deliver and hold: a tiny landing delivery writer, the tiny dbt
project's path, and a writer in another process holding the warehouse.

Not in conftest.py, so that test modules can import it by name (tests/test_suite_collection.py).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from clientmart.generator.writers import write_rows
from ingest.spec import load_feeds

FIXTURE_DBT = Path(__file__).with_name("dbt_fixture")

REFERENCE_ROWS = {
    "institutions": [
        {
            "inst_code": "HO",
            "inst_name": "Head office",
            "parent_code": "",
            "inst_level": "1",
            "region": "north",
        }
    ],
    "products": [
        {
            "product_code": "DD01",
            "product_name": "Demand",
            "product_category": "demand_deposit",
            "currency": "CNY",
            "risk_level": "",
        }
    ],
    "relationship_managers": [
        {"rm_id": "RM1", "rm_name": "Zhang San", "inst_code": "HO", "status": "active"}
    ],
}


def deliver(
    landing: Path, feed: str, date: dt.date, rows: list[dict[str, str]], name: str | None = None
) -> Path:
    """Write one data file with its control file, as upstream would."""
    return write_rows(landing, load_feeds()[feed], date, rows, name)


def fx_row(date: dt.date, rate: str = "7.100000") -> dict[str, str]:
    return {"rate_date": date.isoformat(), "currency": "USD", "cny_per_unit": rate}


def deliver_date(
    landing: Path,
    date: dt.date,
    *,
    skip: tuple[str, ...] = (),
    rate: str = "7.100000",
    with_reference: bool = True,
) -> None:
    """A complete delivery for ``date``: every required feed (fx_rates with one rate, the
    others header-only) and, unless told otherwise, the reference snapshots."""
    for name, feed in load_feeds().items():
        if name in skip:
            continue
        if feed.kind == "required_daily":
            deliver(landing, name, date, [fx_row(date, rate)] if name == "fx_rates" else [])
        elif feed.kind == "reference" and with_reference:
            deliver(landing, name, date, REFERENCE_ROWS[name])


@contextmanager
def warehouse_held(path: Path) -> Iterator[Callable[[], None]]:
    """A DuckDB writer in another process holding ``path``, as a notebook opened on the build
    warehouse would. Yields the function that lets it go (leaving the block does too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
            "print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def release() -> None:
        if holder.poll() is None:
            holder.communicate("")

    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield release
    finally:
        release()
