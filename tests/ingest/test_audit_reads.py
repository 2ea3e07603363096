"""The audit events of one delivered file are read without reading the feed's others."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingest import store

DAY = dt.date(2026, 10, 10)


def _event(name: str, status: str, minute: int) -> dict[str, object]:
    at = dt.datetime(2026, 10, 11, 2, minute)
    return {
        "feed": "payroll",
        "file_name": name,
        "checksum": f"{name}-{minute}".ljust(12, "0"),
        "encoding": "utf-8",
        "file_format": "txt",
        "delimiter": ",",
        "control_count": 1,
        "records_read": 1,
        "records_kept": 1,
        "records_quarantined": 0,
        "status": status,
        "message": "",
        "started_at": at,
        "finished_at": at,
    }


def test_one_files_events_oldest_first_and_no_other_files(tmp_path: Path) -> None:
    # a name with glob characters, and a name that another begins with
    names = ["pay[1]*.txt", "pay[1]*.txt__late.txt", "other.txt"]
    for minute, (name, status) in enumerate(
        [(names[0], "loaded"), (names[1], "loaded"), (names[2], "loaded"), (names[0], "replaced")]
    ):
        store.write_audit(tmp_path, DAY, _event(name, status, minute))
    events = store.read_audit(tmp_path, DAY, "payroll", names[0])
    assert events["file_name"].to_list() == [names[0], names[0]]
    assert events["status"].to_list() == ["loaded", "replaced"]
    assert store.read_audit(tmp_path, DAY, "payroll").height == 4
    assert store.read_audit(tmp_path, DAY, "payroll", "absent.txt").height == 0
