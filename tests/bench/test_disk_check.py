"""The benchmark says up front how much disk a run needs and refuses one that does not fit:
twice (2026-12-03 and 12-05) a 1M history run filled the shared disk after hours."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest


def _args(work: Path, **overrides) -> argparse.Namespace:
    """The defaults of ``make bench`` (1M clients, 31 days, a 6-month history of 1M)."""
    values = dict(
        clients=1_000_000,
        days=31,
        start=dt.date(2026, 10, 1),
        prime_from=None,
        landing=None,
        skip_backfill=False,
        ingest_only=False,
        history_only=False,
        history_months=6,
        history_clients=1_000_000,
        history_day=10,
        history_prune_landing=True,
        ignore_disk=False,
        work=work,
    )
    return argparse.Namespace(**{**values, **overrides})


def test_the_estimate_follows_clients_months_and_the_parts_a_run_has(rb, tmp_path) -> None:
    history = rb.disk_needed_gb(_args(tmp_path, history_only=True))
    # six months and ten days of a 1M home, the month being generated, a range's spill
    assert history == pytest.approx(8.5 * (6 + 10 / 30.4) + 7.5 + 10.0, abs=0.1)
    assert 66 < history < 80  # the 12-05 run peaked at 66 GB on its disk
    small = rb.disk_needed_gb(_args(tmp_path, history_only=True, history_clients=20_000))
    assert small == pytest.approx(history / 50, abs=0.1)
    unpruned = rb.disk_needed_gb(_args(tmp_path, history_only=True, history_prune_landing=False))
    assert unpruned == pytest.approx(history + 7.5 * (5 + 10 / 30.4), abs=0.1)  # all kept
    full = rb.disk_needed_gb(_args(tmp_path))
    assert full > history + 20  # the month's bank, the nightly and the backfill homes too
    assert rb.disk_needed_gb(_args(tmp_path, skip_backfill=True)) < full
    # a month's two homes, the floor's raw layer, the backfill range's spill; no landing
    months = 31 / 30.4
    nights = rb.disk_needed_gb(_args(tmp_path, history_months=0, landing=tmp_path))
    assert nights == pytest.approx(2 * (1.0 + 8.5 * months) + 1.5 * months + 10.0, abs=0.1)
    ingest = rb.disk_needed_gb(_args(tmp_path, ingest_only=True, days=3, history_months=0))
    assert 0 < ingest < 2


def test_a_run_of_a_few_dates_counts_what_they_hold_not_a_month(rb, tmp_path) -> None:
    """A 3M bank of four dates (two primed, two nights) held about 14 GB on 2026-12-07: its
    landing 2.9 GB, its home 6.2 GB, the floor's 0.8 GB and a night's spill of up to 4.5 GB.
    The estimate counted a month's home and a month's range spill, 58 GB, and refused it."""
    few = _args(
        tmp_path,
        clients=3_000_000,
        days=2,
        start=dt.date(2026, 10, 3),
        prime_from=dt.date(2026, 10, 1),
        skip_backfill=True,
        history_months=0,
    )
    months = 4 / 30.4
    landing, home, floor, spill = 3 * 7.5 * months, 3 * (1.0 + 8.5 * months), 3 * 1.5 * months, 4.5
    assert rb.disk_needed_gb(few) == pytest.approx(landing + home + floor + spill, abs=0.1)
    assert 13 < rb.disk_needed_gb(few) < 16
    # a primed range spills with its length, up to a month's range: 30 primed dates
    month = _args(
        tmp_path,
        start=dt.date(2026, 10, 31),
        days=1,
        prime_from=dt.date(2026, 10, 1),
        skip_backfill=True,
        history_months=0,
    )
    months = 31 / 30.4
    spill = 10.0 * 30 / 30.4
    expected = 7.5 * months + (1.0 + 8.5 * months) + 1.5 * months + spill
    assert rb.disk_needed_gb(month) == pytest.approx(expected, abs=0.1)


def test_a_run_that_does_not_fit_is_refused_before_it_starts(rb, monkeypatch, tmp_path) -> None:
    gb = 10**9
    monkeypatch.setattr(
        rb.shutil, "disk_usage", lambda _p: SimpleNamespace(total=252 * gb, used=0, free=40 * gb)
    )
    with pytest.raises(SystemExit) as refused:
        rb.check_disk(_args(tmp_path / "work", history_only=True))
    message = str(refused.value)
    assert message.startswith(f"not enough disk at {tmp_path / 'work'}: this run needs about 71 GB")
    assert "and 40 GB are free" in message and "--ignore-disk" in message

    assert "(a history of 1,000,000 clients x 6 months)" in message

    with pytest.raises(SystemExit) as refused:  # the history off: the message names no history
        rb.check_disk(_args(tmp_path / "work", days=200, history_months=0))
    assert "(1,000,000 clients for 200 days)" in str(refused.value)

    rb.check_disk(_args(tmp_path / "work", history_only=True, ignore_disk=True))
    rb.check_disk(_args(tmp_path / "work", history_only=True, history_clients=200_000))


def test_a_primed_run_generates_the_bank_from_its_first_primed_date(rb, tmp_path) -> None:
    # the priming range ingests 10-01..10-12 from the same landing folder: a bank generated
    # from --start alone held none of them, and the raw checks refused the measured nights
    primed = _args(tmp_path, start=dt.date(2026, 10, 13), days=4, prime_from=dt.date(2026, 10, 1))
    assert rb.bank_dates(primed) == (dt.date(2026, 10, 1), dt.date(2026, 10, 16))
    plain = _args(tmp_path, start=dt.date(2026, 10, 13), days=4)
    assert rb.bank_dates(plain) == (dt.date(2026, 10, 13), dt.date(2026, 10, 16))
