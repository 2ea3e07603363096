"""Files delivered for a date that no feed takes are told in the audit, not skipped silently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingest import store
from ingest.landing import scan_date
from ingest.pipeline import ingest_date, record_stray_files
from ingest.spec import load_feeds
from ingest.stray import stray_files

DAY = dt.date(2026, 10, 1)  # the date conftest.py lands files for
CONTACTS = "contact_id,rm_id,client_id,contact_date,channel,familiarity,attitude,note\n"


def put(root: Path, relative: str, text: str = "x\n", ok: bool = True) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if ok:
        path.with_name(path.name + ".ok").write_text("0\n")
    return path


def test_each_place_a_file_is_not_read_is_found_with_what_to_do(settings):
    landing = settings.landing
    put(landing, "contacts/20261001/c.csv", CONTACTS)  # a delivery: not stray
    put(landing, "contact/20261001/c.csv", CONTACTS)  # a feed's name mistyped
    put(landing, "contacts/2026-10-01/c2.csv", CONTACTS)  # a date folder misnamed
    put(landing, "contacts/20261001/batch1/c3.csv", CONTACTS)  # a folder in a delivery folder
    put(landing, "contacts/contacts_2026-10-01.csv", CONTACTS)  # no date folder
    put(landing, "contacts/readme.txt", ok=False)  # no date in its name: not this date's
    put(landing, "contact/20261002/other_day.csv")  # another date
    put(landing, "_archive/20261001/old.csv")  # a folder starting with _: ignored
    put(landing, "contact/20261001/.c.csv.part", ok=False)  # a temporary file
    found = stray_files(landing, DAY, load_feeds())
    assert [(s.source, s.folder, s.name, s.rule) for s in found] == [
        ("contact/20261001/c.csv", "contact", "c.csv", "not_a_feed"),
        ("contacts/2026-10-01/c2.csv", "contacts", "2026-10-01/c2.csv", "date_folder_name"),
        ("contacts/20261001/batch1/c3.csv", "contacts", "batch1/c3.csv", "nested_folder"),
        (
            "contacts/contacts_2026-10-01.csv",
            "contacts",
            "contacts_2026-10-01.csv",
            "no_date_folder",
        ),
    ]
    not_a_feed, misnamed, nested, no_folder = (s.message for s in found)
    assert (
        "outside a date folder is not read: deliver it with its .ok under contacts/20261001/"
        in no_folder
    )
    assert "contact is not a feed of the landing contract (did you mean contacts?)" in not_a_feed
    assert "not named YYYYMMDD: deliver under contacts/20261001/" in misnamed
    assert "directly in the delivery folder" in nested
    # the delivery itself is still taken, and nothing stray changes the date's key
    status = scan_date(landing, DAY)
    assert [f.name for f in status.feeds["contacts"].complete] == ["c.csv"]


def test_a_stray_file_gets_one_audit_row_until_it_changes(settings):
    path = put(settings.landing, "contact/20261001/sub/c.csv", CONTACTS)
    found, new = record_stray_files(settings, DAY)
    assert len(found) == len(new) == 1
    audit = store.read_audit(settings.raw, DAY, "contact")
    assert audit.select("file_name", "status", "records_read").rows() == [
        ("sub/c.csv", "refused", 0)
    ]
    assert audit["message"][0].startswith("contact/20261001/sub/c.csv: not read (not_a_feed): ")
    found, new = record_stray_files(settings, DAY)
    assert len(found) == 1 and new == []  # seen: reported again, audited once
    path.write_text(CONTACTS + "C1,RM01,C001,20261001,phone,5,neutral,\n", encoding="utf-8")
    _, new = record_stray_files(settings, DAY)
    assert len(new) == 1 and store.read_audit(settings.raw, DAY, "contact").height == 2


def test_ingest_date_reports_them_and_still_loads_the_delivery(reference_bank, land):
    land("contacts", "c.csv", CONTACTS + "K1,RM01,C001,20261001,phone,5,neutral,\n")
    put(reference_bank.landing, "contact/20261001/c.csv", CONTACTS)
    result = ingest_date(reference_bank, DAY)
    assert [s.source for s in result.stray] == ["contact/20261001/c.csv"]
    assert result.feeds["contacts"].files[0].records_kept == 1
    assert store.read_audit(reference_bank.raw, DAY, "contact")["status"].to_list() == ["refused"]


def test_a_date_first_layout_and_files_at_the_landing_root_are_found(settings):
    landing = settings.landing
    put(landing, "20261001/deposit_balances/db.csv")  # <date>/<feed>/ for <feed>/<date>/
    put(landing, "2026-10-01/fx.csv")
    put(landing, "deposit_balances_20261001.csv")  # at the landing root
    put(landing, "_contacts_20261001.csv")  # a name starting with _, with its .ok
    put(landing, ".contacts_20261001.csv.part", ok=False)  # a temporary file
    put(landing, "notes.txt", ok=False)  # no date in its name: not this date's
    put(landing, "20261002/fx_rates/fx.csv")  # another date
    found = stray_files(landing, DAY, load_feeds())
    assert [(s.source, s.folder, s.name, s.rule) for s in found] == [
        ("2026-10-01/fx.csv", "2026-10-01", "fx.csv", "date_first"),
        ("20261001/deposit_balances/db.csv", "20261001", "deposit_balances/db.csv", "date_first"),
        ("_contacts_20261001.csv", "landing_root", "_contacts_20261001.csv", "landing_root"),
        (
            "deposit_balances_20261001.csv",
            "landing_root",
            "deposit_balances_20261001.csv",
            "landing_root",
        ),
    ]
    date_first_unknown, date_first, hidden, root_file = (s.message for s in found)
    assert date_first == (
        "the landing is <feed>/YYYYMMDD/, not YYYYMMDD/<feed>/: "
        "deliver under deposit_balances/20261001/"
    )
    assert date_first_unknown.endswith("deliver under <feed>/20261001/")
    assert root_file == (
        "a file at the landing root is not read: deliver it with its .ok under "
        "deposit_balances/20261001/"
    )
    assert hidden.endswith("under <feed>/20261001/")
    _, new = record_stray_files(settings, DAY)
    assert len(new) == 4
    audit = store.read_audit(settings.raw, DAY, "landing_root")
    assert sorted(audit["file_name"]) == ["_contacts_20261001.csv", "deposit_balances_20261001.csv"]
    assert store.read_audit(settings.raw, DAY, "20261001")["file_name"].to_list() == [
        "deposit_balances/db.csv"
    ]
