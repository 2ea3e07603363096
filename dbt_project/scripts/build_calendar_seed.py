"""Generate ``seeds/cn_workday_calendar.csv`` from the ``chinese-calendar`` library.

Why a generated seed: the holiday data is maintained upstream (the State Council's yearly
notice, packaged by ``chinese-calendar``), but business logic lives in dbt. Freezing the
library's data into a versioned seed keeps dbt runs free of Python, makes every calendar
change reviewable as a diff, and lets ``int_calendar`` know exactly which years are covered
(dates outside them fall back to Monday-Friday with a warning).

Run after upgrading ``chinese-calendar`` and commit the CSV:
    .venv/bin/python dbt_project/scripts/build_calendar_seed.py
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path

import chinese_calendar
from chinese_calendar import constants

SEED_PATH = Path(__file__).resolve().parent.parent / "seeds" / "cn_workday_calendar.csv"
COLUMNS = ("calendar_date", "is_workday", "holiday_name", "is_makeup_workday")


def covered_years() -> range:
    """Years the library has holiday data for (from its first to its last listed year)."""
    years = {day.year for day in constants.holidays} | {day.year for day in constants.workdays}
    return range(min(years), max(years) + 1)


def calendar_rows(years: range) -> list[tuple[str, str, str, str]]:
    """One row per date of the given years, in date order."""
    rows = []
    day = dt.date(years.start, 1, 1)
    end = dt.date(years.stop - 1, 12, 31)
    while day <= end:
        is_workday = chinese_calendar.is_workday(day)
        is_holiday_in_lieu, name = chinese_calendar.get_holiday_detail(day)
        holiday_name = name if (is_holiday_in_lieu and name and day in constants.holidays) else ""
        is_makeup = is_workday and day.weekday() >= 5
        rows.append(
            (day.isoformat(), str(is_workday).lower(), holiday_name, str(is_makeup).lower())
        )
        day += dt.timedelta(days=1)
    return rows


def write_seed(path: Path = SEED_PATH) -> int:
    """Write the seed CSV; returns the number of data rows."""
    rows = calendar_rows(covered_years())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SEED_PATH, help="CSV to write")
    args = parser.parse_args()
    years = covered_years()
    count = write_seed(args.output)
    print(f"wrote {count} dates ({years.start}-{years.stop - 1}) to {args.output}")


if __name__ == "__main__":
    main()
