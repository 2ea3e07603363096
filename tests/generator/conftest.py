"""Small generated banks shared by the generator tests (generated once per session)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from clientmart.generator.bank import GenerationSummary, generate_bank

sys.path.insert(0, str(Path(__file__).parent))

SHORT = {"start": dt.date(2026, 10, 8), "end": dt.date(2026, 10, 11)}


@pytest.fixture(scope="session")
def short_period() -> dict[str, dt.date]:
    """The four dates of the clean/dirty pair (two working days, a weekend, one pay day)."""
    return dict(SHORT)


@pytest.fixture(scope="session")
def month_bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """400 clients over all of October 2026 (holidays, weekends, a month of settlement)."""
    out = tmp_path_factory.mktemp("month_bank")
    summary = generate_bank(
        out, clients=400, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31), seed=3
    )
    return out, summary


@pytest.fixture(scope="session")
def clean_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean_bank")
    generate_bank(out, clients=500, seed=5, **SHORT)
    return out


@pytest.fixture(scope="session")
def dirty_bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("dirty_bank")
    summary = generate_bank(out, clients=500, seed=5, dirty_rate=0.02, **SHORT)
    return out, summary
