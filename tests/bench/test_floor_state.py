"""The floor carries the month-to-date state of the day before, and says when it cannot: the
benchmark's first measured night after a prime (10-13 of the README's command) was compared
with a floor that started the month at 10-13, and so did less work than the night."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from clientmart.generator.bank import generate_bank
from clientmart.settings import PROJECT_ROOT

FIRST, SECOND = dt.date(2026, 10, 1), dt.date(2026, 10, 2)


def _floor(landing: Path, date: dt.date, work: Path) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "floor.py"), "--landing", str(landing),
         "--date", date.isoformat(), "--work", str(work)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout), done.stderr


def test_a_floor_without_the_day_befores_state_says_so_and_a_primed_one_carries_it(
    rb, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    generate_bank(landing, clients=40, start=FIRST, end=SECOND, seed=5)

    alone, warned = _floor(landing, SECOND, tmp_path / "alone")
    assert alone["carried_state"] is False
    assert f"no state of {FIRST}" in warned and "does less than a night" in warned

    primed = tmp_path / "primed"
    assert rb.prime_floor(landing, FIRST, FIRST, primed)["seconds"] > 0
    carried, quiet = _floor(landing, SECOND, primed)
    assert carried["carried_state"] is True and "no state" not in quiet
    days = pl.read_parquet(primed / "state" / f"accounts_{SECOND:%Y%m%d}.parquet")["days"]
    assert days.max() == 2  # the 1st's balance and the 2nd's, summed for the daily average

    first_of_month, quiet = _floor(landing, FIRST, tmp_path / "first")
    assert first_of_month["carried_state"] is False and "no state" not in quiet
