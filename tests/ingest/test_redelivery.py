"""Re-delivery, corrections, late files, and what the landing scan reports."""

from __future__ import annotations

import datetime as dt
import os
import time

import polars as pl

from ingest import store
from ingest.landing import scan_date
from ingest.pipeline import dependency_order, ensure_schemas, ingest_date, ingest_feed
from ingest.spec import load_feeds

DAY = dt.date(2026, 10, 1)
HEADER = "balance_date,account_id,client_id,inst_code,product_code,currency,balance\n"


def rows(day: dt.date, n: int, amount: str = "10") -> str:
    return "".join(f"{day:%Y%m%d},A{i},C001,B001,DD01,CNY,{amount}\n" for i in range(n))


def raw_rows(settings, day=DAY) -> pl.DataFrame:
    return pl.concat(
        [pl.read_parquet(f) for f in store.data_files(settings.raw, "deposit_balances", day)]
    )


def snapshot(settings) -> dict[str, float]:
    return {
        str(p): p.stat().st_mtime_ns
        for root in (settings.raw, settings.quarantine)
        for p in root.rglob("*.parquet")
    }


def test_same_content_again_changes_nothing(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    assert ingest_feed(reference_bank, "deposit_balances", DAY).files[0].status == "loaded"
    before = snapshot(reference_bank)
    again = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert again.files[0].status == "unchanged" and snapshot(reference_bank) == before
    assert again.validation is not None and again.validation.success
    # the same bytes delivered again (newer files): an audit row, no raw write
    time.sleep(0.01)
    path = land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    future = time.time() + 5
    os.utime(path, (future, future))
    redelivered = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert redelivered.files[0].status == "skipped_identical"
    after = snapshot(reference_bank)
    assert {k: v for k, v in after.items() if "_ingest_audit" not in k} == {
        k: v for k, v in before.items() if "_ingest_audit" not in k
    }
    statuses = store.read_audit(reference_bank.raw, DAY, "deposit_balances")["status"]
    assert statuses.to_list() == ["loaded", "skipped_identical"]


def test_correction_replaces_the_file_records(reference_bank, land):
    land(
        "deposit_balances",
        "db.csv",
        HEADER + rows(DAY, 30) + rows(DAY, 1, "1x").replace("A0", "Z0"),
        count=31,
    )
    first = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert first.files[0].records_quarantined == 1
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 2, "20"))
    second = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert second.files[0].status == "replaced"
    raw = raw_rows(reference_bank)
    assert raw.height == 2 and {str(v) for v in raw["balance"]} == {"20.000000"}
    assert store.data_files(reference_bank.quarantine, "deposit_balances", DAY) == []


def test_refused_correction_keeps_the_published_file(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    ingest_feed(reference_bank, "deposit_balances", DAY)
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 4), count=7)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.files[0].status == "refused" and not result.ok
    assert raw_rows(reference_bank).height == 3


def test_the_published_content_back_after_a_refused_correction_is_not_loaded_again(
    reference_bank, land
):
    """The content in force delivered again after a refused correction is the same content
    (skipped_identical, nothing rewritten), not a new delivery: it used to be loaded again
    as `replaced`, with new load times on unchanged rows."""
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    ingest_feed(reference_bank, "deposit_balances", DAY)
    before = snapshot(reference_bank)
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 4), count=7)
    assert ingest_feed(reference_bank, "deposit_balances", DAY).files[0].status == "refused"
    path = land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    future = time.time() + 5
    os.utime(path, (future, future))
    back = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert back.ok and back.files[0].status == "skipped_identical"
    assert back.files[0].records_kept == 3
    after = snapshot(reference_bank)
    assert {k: v for k, v in after.items() if "_ingest_audit" not in k} == {
        k: v for k, v in before.items() if "_ingest_audit" not in k
    }
    statuses = store.read_audit(reference_bank.raw, DAY, "deposit_balances")["status"]
    assert statuses.to_list() == ["loaded", "refused", "skipped_identical"]


def test_a_corrected_control_file_is_read_again_whatever_its_time(reference_bank, land):
    """A delivery refused for its count, whose control file alone is then corrected with an
    older modification time (as `rsync -t`, `cp -p` or a file server with a slow clock leave
    it), is read again and loaded: it stayed refused as `unchanged_refusal`, with the old
    count in its message."""
    path = land("deposit_balances", "db.csv", HEADER + rows(DAY, 3), count=4)
    refused = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert refused.files[0].status == "refused" and "control count 4" in refused.files[0].message
    control = path.with_name("db.csv.ok")
    control.write_text("3\n")
    past = time.time() - 3600
    os.utime(control, (past, past))
    os.utime(path, (past, past))
    fixed = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert fixed.ok and fixed.files[0].status == "loaded"
    assert raw_rows(reference_bank).height == 3


def test_a_wrong_count_on_a_loaded_file_is_refused_not_skipped(reference_bank, land):
    """The data file unchanged, its control file changed to another count: the delivery is
    checked again and refused (the published rows kept), not `skipped_identical` with the
    old count in the audit."""
    path = land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    assert ingest_feed(reference_bank, "deposit_balances", DAY).files[0].status == "loaded"
    control = path.with_name("db.csv.ok")
    control.write_text("4\n")
    future = time.time() + 5
    os.utime(control, (future, future))
    again = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert not again.ok and again.files[0].status == "refused"
    assert again.files[0].control_count == 4
    assert "control count 4 disagrees" in again.files[0].message
    assert raw_rows(reference_bank).height == 3
    audit = store.read_audit(reference_bank.raw, DAY, "deposit_balances")
    assert audit["control_count"].to_list() == [3, 4]


def test_late_earlier_date_is_taken_the_same_way(reference_bank, land, settings):
    later = DAY + dt.timedelta(days=1)
    land("deposit_balances", "db.csv", HEADER + rows(later, 2), day=later)
    assert ingest_feed(settings, "deposit_balances", later).ok
    earlier = DAY
    land("deposit_balances", "db.csv", HEADER + rows(earlier, 4), day=earlier)
    assert ingest_feed(settings, "deposit_balances", earlier).ok
    assert raw_rows(settings, earlier).height == 4 and raw_rows(settings, later).height == 2


def test_reference_data_in_force_is_the_latest_on_or_before(reference_bank, land, settings):
    later = DAY + dt.timedelta(days=2)
    land(
        "institutions",
        "inst.csv",
        "inst_code,inst_name,parent_code,inst_level,region\nH001,HO,,1,N\nB002,Branch 2,H001,2,N\n",
        day=later,
    )
    assert ingest_feed(settings, "institutions", later).ok
    land(
        "deposit_balances",
        "db.csv",
        HEADER
        + rows(later, 30).replace("B001", "B002")
        + f"{later:%Y%m%d},X1,C001,B001,DD01,CNY,1\n",
        day=later,
    )
    result = ingest_feed(settings, "deposit_balances", later)
    bad = pl.read_parquet(store.data_files(settings.quarantine, "deposit_balances", later)[0])
    assert result.files[0].records_quarantined == 1 and bad["_source_line"].to_list() == [32]
    assert set(bad["rules"]) == {"references:institutions.inst_code"}


def test_scan_date_reports_complete_pending_and_missing(settings, land):
    land("institutions", "i.csv", "inst_code,inst_name,parent_code,inst_level,region\n")
    land("clients", "c.csv", "client_id\n", count=None)
    land("fx_rates", "_hidden.csv", "x\n", count=None)  # no .ok: ignored, not pending
    status = scan_date(settings.landing, DAY)
    assert [f.name for f in status.feeds["institutions"].complete] == ["i.csv"]
    assert status.feeds["clients"].pending == ["c.csv"]
    assert status.feeds["fx_rates"].complete == [] and status.feeds["fx_rates"].pending == []
    assert "clients" in status.missing_required and "fx_rates" in status.missing_required
    assert status.missing_reference == ["products", "relationship_managers"]
    assert not status.is_complete
    key = status.run_key()
    land("products", "p.csv", "product_code\n")
    assert scan_date(settings.landing, DAY).run_key() != key
    assert scan_date(settings.landing, DAY + dt.timedelta(days=3)).missing_reference == [
        "relationship_managers"
    ]


def test_ingest_date_orders_feeds_and_schemas_resolve(settings, land, reference_files):
    order = dependency_order(load_feeds())
    assert (
        order.index("institutions")
        < order.index("relationship_managers")
        < order.index("clients")
        < order.index("deposit_balances")
    )
    ensure_schemas(settings)
    schema = pl.read_parquet(
        store.partition(settings.raw, "deposit_balances", store.SCHEMA_DATE) / store.SCHEMA_FILE
    )
    assert schema.height == 0 and schema.schema["balance"] == pl.Decimal(24, 6)
    land("deposit_balances", "db.csv", HEADER + rows(DAY, 3))
    for feed, text in reference_files.items():
        land(feed, f"{feed}.csv", text)
    result = ingest_date(settings, DAY)
    assert list(result.feeds) == [f for f in order if f in result.feeds]
    assert all(r.ok for r in result.feeds.values())
    assert result.feeds["deposit_balances"].files[0].records_kept == 3
    assert not result.ok and "fx_rates" in result.status.missing_required


def test_records_orphaned_by_a_corrected_reference_are_named_with_their_lines(
    reference_bank, land, reference_files
):
    """Deposit balances of C001 and C002 are loaded; the clients file of the date is then
    corrected without C002. Re-run, the published balances fail their reference check: the
    problem names the client, the file and the line, and what to do, where it said
    `expect_column_max_to_be_between(_unknown__client_id__clients__client_id): None`."""
    land(
        "deposit_balances",
        "db.csv",
        HEADER + f"{DAY:%Y%m%d},A1,C001,B001,DD01,CNY,5\n{DAY:%Y%m%d},A2,C002,B001,DD01,CNY,7\n",
    )
    assert ingest_feed(reference_bank, "deposit_balances", DAY).ok
    without_c002 = "\n".join(
        line for line in reference_files["clients"].splitlines() if not line.startswith("C002")
    )
    path = land("clients", "clients.csv", without_c002 + "\n")
    future = time.time() + 5
    os.utime(path, (future, future))
    assert ingest_feed(reference_bank, "clients", DAY).ok
    again = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert not again.ok
    (problem,) = again.problems
    assert (
        "1 published record(s) whose client_id is no longer in clients.client_id in force: "
        "C002 (deposit_balances/20261001/db.csv line 3)" in problem
    ), problem
    assert "re-deliver the deposit_balances file(s)" in problem
