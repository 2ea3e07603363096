"""Business dates, working days and per-purpose random streams.

Every random draw comes from a stream keyed by (seed, purpose, day), so that one part of the
bank (for example the dirty records) can change without moving any other part: the clean bank
stays byte-identical whatever else is switched on.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from functools import cached_property

import chinese_calendar
import numpy as np


def rng(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """An independent random stream for one purpose (and e.g. one day index)."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode()), *keys])


def is_workday(day: dt.date) -> bool:
    """Chinese working day (public holidays and make-up days); weekdays outside its range."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@dataclass(frozen=True)
class Timeline:
    """The generated period: calendar days start..end (inclusive), indexed from 0."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")

    @cached_property
    def days(self) -> list[dt.date]:
        n = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(n)]

    @property
    def n(self) -> int:
        return len(self.days)

    @cached_property
    def workdays(self) -> np.ndarray:
        return np.array([is_workday(d) for d in self.days], dtype=bool)

    def workdays_in_month(self, day: dt.date) -> int:
        """Working days of the calendar month of ``day`` (whole month, not just the period)."""
        first = day.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return sum(is_workday(first + dt.timedelta(days=i)) for i in range((nxt - first).days))

    def month_first_index(self, index: int) -> bool:
        """True when day ``index`` is the first date of its month inside the period."""
        return index == 0 or self.days[index].day == 1
