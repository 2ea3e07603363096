"""The benchmark runs only dates that have happened: on 2026-12-06 the default history of
``make bench`` (6 months from October 2026) ran to 2027-04-10 and stopped, after the month of
nights, on an unknown partition key. The history now defaults to the latest months that
have happened, and a run reaching past today is refused before anything is generated."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

D = dt.date


def test_the_calendar_of_a_history_point(rb) -> None:
    assert rb.history_calendar(D(2026, 1, 17), 6, 10) == (
        D(2026, 1, 1),
        D(2026, 2, 10),
        D(2026, 7, 10),
    )
    assert rb.history_calendar(D(2026, 11, 1), 2, 10)[2] == D(2027, 1, 10)
    assert rb.add_months(D(2026, 1, 1), -13) == D(2024, 12, 1)


@pytest.mark.parametrize(
    ("last", "months", "day", "start"),
    [
        (D(2026, 12, 6), 6, 10, D(2026, 5, 1)),  # 12-10 has not happened: ends 11-10
        (D(2026, 12, 10), 6, 10, D(2026, 6, 1)),  # ends on 12-10, the last date itself
        (D(2026, 1, 5), 2, 10, D(2025, 10, 1)),  # across a year
    ],
)
def test_the_default_history_is_the_latest_that_has_happened(rb, last, months, day, start):
    assert rb.default_history_start(last, months, day) == start
    _, _, probe_n = rb.history_calendar(start, months, day)
    assert probe_n <= last
    _, _, one_later = rb.history_calendar(rb.add_months(start, 1), months, day)
    assert one_later > last  # the latest one


def _main(rb, monkeypatch, tmp_path, *argv: str) -> None:
    def generated(*_a, **_k):
        raise AssertionError("generated a bank for dates that cannot run")

    monkeypatch.setattr(rb, "ensure_bank", generated)
    monkeypatch.setattr(rb, "history_point", generated)
    monkeypatch.setattr(sys, "argv", ["run_benchmark.py", "--work", str(tmp_path), *argv])
    rb.main()


def test_nights_or_a_history_past_today_are_refused_before_anything_is_generated(
    rb, monkeypatch, tmp_path
) -> None:
    later = dt.date.today() + dt.timedelta(days=2)  # not yet begun in any time zone
    future = ["--clients", "100", "--start", later.isoformat(), "--days", "2"]
    with pytest.raises(SystemExit, match=r"--start/--days: business date .* has not begun yet"):
        _main(rb, monkeypatch, tmp_path, *future, "--history-months", "0")
    history = ["--history-only", "--history-clients", "100", "--history-months", "2"]
    month_ago = (dt.date.today() - dt.timedelta(days=31)).isoformat()
    with pytest.raises(SystemExit, match="--history-start/--history-months/--history-day") as e:
        _main(rb, monkeypatch, tmp_path, *history, "--start", month_ago)
    assert "has not begun yet" in str(e.value) and "Nothing was generated" in str(e.value)
    before = ["--clients", "100", "--start", "2019-12-30", "--days", "3", "--history-months", "0"]
    with pytest.raises(SystemExit, match="--start/--days: business date 2019-12-30 is before"):
        _main(rb, monkeypatch, tmp_path, *before)


def test_the_default_run_plans_a_history_that_has_happened(rb, monkeypatch, tmp_path) -> None:
    """The history of ``make bench`` (6 months, day 10, no dates given), stopped where it
    would begin."""
    seen = {}

    def history_point(args, *_a, **_k):
        seen["calendar"] = rb.history_calendar(args.history_start, 6, 10)
        raise SystemExit("stop here")

    monkeypatch.setattr(
        sys,
        "argv",
        ["run_benchmark.py", "--work", str(tmp_path), "--ignore-disk", "--history-only"],
    )
    monkeypatch.setattr(rb, "history_point", history_point)
    with pytest.raises(SystemExit, match="stop here"):
        rb.main()
    _, _, probe_n = seen["calendar"]
    assert probe_n <= dt.date.today() + dt.timedelta(days=1)  # the bank's time zone is ahead
    assert probe_n > dt.date.today() - dt.timedelta(days=40)
