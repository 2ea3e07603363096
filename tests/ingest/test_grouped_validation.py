"""The small files of one feed and date share one great-expectations suite run.

A payday brings one payroll file per employer (about 180 at 1M clients); a suite run costs
about 50 ms of GX's Python whatever the batch's size, so one run per file cost the night
seconds. Every expectation of a suite holds for the files together exactly when it holds for
each (docs/ingest.md, "Small files validated together"); when the shared run fails, each file
is validated alone, so a failing file is refused alone, named, and the others load.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

import expectations.validate as validate
import ingest.pipeline as pipeline
from ingest import store
from ingest.pipeline import ingest_feed

DAY = dt.date(2026, 10, 1)
HEADER = "employer_client_id,batch_id,account_id,employee_name,id_number,amount,pay_date\n"


def _payroll(batch: str, rows: int, first: int = 0) -> str:
    return HEADER + "".join(
        f"C002,{batch},6222{first + i:05d},Li Si,110101199001011234,{8000 + i}.50,2026-10-01\n"
        for i in range(rows)
    )


def _raw(settings) -> pl.DataFrame:  # noqa: ANN001 - the fixture's Settings
    return pl.concat(pl.read_parquet(p) for p in store.data_files(settings.raw, "payroll", DAY))


def _suite_runs(monkeypatch) -> list[int]:
    """Record the batch size of every suite run."""
    runs: list[int] = []
    real = validate._run_suite

    def counted(feed, batch, params, result_format):  # noqa: ANN001, ANN202 - as GX's
        runs.append(len(batch))
        return real(feed, batch, params, result_format)

    monkeypatch.setattr(validate, "_run_suite", counted)
    return runs


def test_small_files_of_a_feed_are_validated_in_one_suite_run(reference_bank, land, monkeypatch):
    sizes = [3, 5, 1, 4]
    for n, rows in enumerate(sizes):
        land("payroll", f"employer_{n}.csv", _payroll(f"B{n}", rows, first=10 * n))
    land("payroll", "empty.csv", HEADER)  # a header-only file joins the group too
    runs = _suite_runs(monkeypatch)
    result = ingest_feed(reference_bank, "payroll", DAY)
    assert runs == [sum(sizes)]  # one BOOLEAN_ONLY run over every record, no second run
    assert [f.status for f in result.files] == ["loaded"] * 5
    assert [f.file_name for f in result.files] == sorted(f.file_name for f in result.files)
    assert [f.records_kept for f in result.files] == [*sizes, 0]
    assert result.validation is not None and result.validation.success
    assert result.validation.rows == sum(sizes)
    raw = pl.concat(
        pl.read_parquet(p) for p in store.data_files(reference_bank.raw, "payroll", DAY)
    )
    assert raw.height == sum(sizes)
    audit = store.read_audit(reference_bank.raw, DAY, "payroll")
    assert sorted(audit["status"].to_list()) == ["loaded"] * 5


def test_a_file_failing_the_shared_run_is_refused_alone_and_named(
    reference_bank, land, monkeypatch
):
    land("payroll", "a.csv", _payroll("B1", 3))
    land("payroll", "b.csv", _payroll("B-BAD", 2, first=100))
    land("payroll", "c.csv", _payroll("B3", 4, first=200))
    real = validate.validation_columns

    def negative_amounts_in_bad_batches(frame, *args, **kwargs):  # noqa: ANN001, ANN202
        # a record the record rules would have quarantined, handed to the suite: GX's own
        # range expectation on amount then fails every batch that holds a B-BAD record
        bad = pl.col("batch_id") == "B-BAD"
        amount = pl.when(bad).then(-1).otherwise(pl.col("amount")).cast(frame.schema["amount"])
        return real(frame.with_columns(amount.alias("amount")), *args, **kwargs)

    monkeypatch.setattr(validate, "validation_columns", negative_amounts_in_bad_batches)
    runs = _suite_runs(monkeypatch)
    result = ingest_feed(reference_bank, "payroll", DAY)
    statuses = {f.file_name: (f.status, f.rule) for f in result.files}
    assert statuses == {
        "a.csv": ("loaded", None),
        "b.csv": ("refused", "expectations"),
        "c.csv": ("loaded", None),
    }
    (refused,) = [f for f in result.files if f.status == "refused"]
    assert "payroll/20261001/b.csv" in refused.message
    assert "expect_column_values_to_be_between(amount)" in refused.message
    # the shared run failed (twice: BOOLEAN_ONLY, then BASIC for the counts), then each
    # file alone, and the failing one again for its counts
    assert runs[:2] == [9, 9] and sorted(runs[2:]) == [2, 2, 3, 4]
    raw = pl.concat(
        pl.read_parquet(p) for p in store.data_files(reference_bank.raw, "payroll", DAY)
    )
    assert sorted(raw["batch_id"].unique().to_list()) == ["B1", "B3"]
    assert not result.validation.success
    events = store.read_audit(reference_bank.raw, DAY, "payroll", "b.csv")
    assert events["status"].to_list() == ["refused"]


def test_a_large_file_is_validated_on_its_own(reference_bank, land, monkeypatch):
    monkeypatch.setattr(pipeline, "GROUP_FILE_MAX_BYTES", 200)
    land("payroll", "small_a.csv", _payroll("B1", 1))
    land("payroll", "large.csv", _payroll("B2", 6, first=100))  # over 200 bytes
    land("payroll", "small_b.csv", _payroll("B3", 1, first=200))
    runs = _suite_runs(monkeypatch)
    result = ingest_feed(reference_bank, "payroll", DAY)
    assert sorted(runs) == [2, 6]
    assert [f.status for f in result.files] == ["loaded"] * 3
    assert result.validation.rows == 8


def test_a_group_over_its_size_is_settled_on_the_way(reference_bank, land, monkeypatch):
    monkeypatch.setattr(pipeline, "GROUP_MAX_BYTES", 300)  # two files of ~190 bytes each
    for n in range(5):
        land("payroll", f"employer_{n}.csv", _payroll(f"B{n}", 2, first=10 * n))
    runs = _suite_runs(monkeypatch)
    result = ingest_feed(reference_bank, "payroll", DAY)
    assert runs == [4, 4, 2]  # settled after the 2nd and the 4th file, then the last
    assert [f.status for f in result.files] == ["loaded"] * 5
    assert result.validation.success and result.validation.rows == 10
    assert _raw(reference_bank).height == 10
