"""Small landing files written by the tests themselves (tmp_path), and a settings object."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from clientmart.settings import Settings
from ingest.pipeline import ingest_feed

DAY = dt.date(2026, 10, 1)

REFERENCE = {
    "institutions": "inst_code,inst_name,parent_code,inst_level,region\n"
    "H001,Head office,,1,North\nB001,Branch 1,H001,2,North\n",
    "products": "product_code,product_name,product_category,currency,risk_level\n"
    "DD01,Demand,demand_deposit,CNY,\nTD01,Time,time_deposit,CNY,\nWM01,WMP,wmp,CNY,R2\n",
    "relationship_managers": "rm_id,rm_name,inst_code,status\nRM01,Zhang San,B001,active\n",
    "clients": "client_id,client_type,name,id_number,phone,birth_date,gender,open_date,"
    "inst_code,rm_id,employer_client_id,job_title\n"
    "C001,I,Li Si,110101199001011234,013800001111,1990-01-01,M,2020-05-06,B001,RM01,,\n"
    "C002,I,Wang Wu,,,19850303,F,2021/01/02,B001,,,\n",
}

Lander = Callable[..., Path]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", landing_root=tmp_path / "landing")


@pytest.fixture
def land(settings: Settings) -> Lander:
    """Write ``<landing>/<feed>/<date>/<name>`` (+ ``.ok`` with ``count`` unless None)."""

    def write(
        feed: str,
        name: str,
        content: str | bytes,
        count: int | None | str = "auto",
        day: dt.date = DAY,
        encoding: str = "utf-8",
    ) -> Path:
        folder = settings.landing / feed / f"{day:%Y%m%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        data = content.encode(encoding) if isinstance(content, str) else content
        path.write_bytes(data)
        if count == "auto":
            text = data.decode(encoding) if isinstance(content, str) else ""
            count = max(len([line for line in text.splitlines() if line.strip()]) - 1, 0)
        if count is not None:
            path.with_name(name + ".ok").write_text(f"{count}\n")
        return path

    return write


@pytest.fixture
def reference_files() -> dict[str, str]:
    return dict(REFERENCE)


@pytest.fixture(scope="session")
def reference_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reference data and two clients delivered and ingested for DAY, once per session."""
    root = tmp_path_factory.mktemp("reference_bank")
    settings = Settings(home=root / "home", landing_root=root / "landing")
    for feed, text in REFERENCE.items():
        folder = settings.landing / feed / f"{DAY:%Y%m%d}"
        folder.mkdir(parents=True)
        (folder / f"{feed}.csv").write_text(text, encoding="utf-8")
        (folder / f"{feed}.csv.ok").write_text(f"{len(text.splitlines()) - 1}\n")
    for feed in REFERENCE:
        result = ingest_feed(settings, feed, DAY)
        assert result.ok, result
    return root


@pytest.fixture
def reference_bank(settings: Settings, reference_template: Path) -> Settings:
    """A copy of the ingested reference bank (files and times as ingested) for this test."""
    shutil.copytree(reference_template / "home", settings.home)
    shutil.copytree(reference_template / "landing", settings.landing)
    return settings
