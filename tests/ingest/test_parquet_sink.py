"""ingest.store.ParquetSink: a file written in pieces appears whole, in order, or not at all."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ingest import store

SCHEMA = {
    "account_id": pl.String,
    "balance": pl.Decimal(24, 6),
    "_extra": pl.String,
    "_source_line": pl.Int64,
    store.LOADED_AT: store.TIMESTAMP,
}
AT = dt.datetime(2026, 10, 2, 1, 2, 3, tzinfo=dt.UTC)


def piece(first: int, rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            # an extra column the schema does not hold: the sink keeps the schema's columns
            "not_in_schema": [True] * rows,
            "account_id": [f"A{i:07d}" for i in range(first, first + rows)],
            "balance": [Decimal(i) / 100 for i in range(first, first + rows)],
            "_extra": [None] * rows,  # all null in this piece: typed by the schema all the same
            "_source_line": list(range(first + 2, first + rows + 2)),
            store.LOADED_AT: [AT] * rows,
        },
        schema_overrides={"balance": pl.Decimal(24, 6), "_extra": pl.Null},
    )


def leftovers(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != target)


@pytest.mark.parametrize("sizes", [[5], [3, 0, 4, 2]], ids=["one piece", "several pieces"])
def test_the_pieces_appear_as_one_file_in_order_on_commit(tmp_path, sizes):
    # a delivered file's name may hold glob characters: its parts are paths, not patterns
    target = tmp_path / "business_date=2026-10-02" / "deposit_balances[*].csv.parquet"
    frames, first = [], 0
    with store.ParquetSink(target, SCHEMA) as sink:
        for size in sizes:
            frames.append(piece(first, size))
            sink.write(frames[-1])
            first += size
            assert not target.exists()  # nothing visible before the commit
        sink.commit()
    written = pl.read_parquet(target, glob=False)
    expected = pl.concat([f.select(list(SCHEMA)).cast(SCHEMA) for f in frames])
    assert written.schema == pl.Schema(SCHEMA)
    assert written.equals(expected)  # every row, in the order written
    assert sink.rows == sum(sizes)
    assert leftovers(target.parent, target) == []  # no part or temporary file left


def test_a_discarded_sink_leaves_the_previous_file_and_nothing_else(tmp_path):
    target = tmp_path / "deposit_balances.csv.parquet"
    before = piece(100, 2).select(list(SCHEMA)).cast(SCHEMA)
    before.write_parquet(target)
    with pytest.raises(RuntimeError), store.ParquetSink(target, SCHEMA) as sink:
        sink.write(piece(0, 3))
        sink.write(piece(3, 3))
        raise RuntimeError("the delivery is refused")
    assert pl.read_parquet(target).equals(before)
    assert leftovers(tmp_path, target) == []


def test_a_sink_without_rows_writes_the_schema_or_removes_the_file(tmp_path):
    kept = tmp_path / "kept.parquet"
    with store.ParquetSink(kept, SCHEMA) as sink:
        sink.write(piece(0, 0))
        sink.commit()
    assert pl.read_parquet(kept).schema == pl.Schema(SCHEMA)
    assert pl.read_parquet(kept).height == 0

    dropped = tmp_path / "quarantine.parquet"
    piece(0, 1).select(list(SCHEMA)).cast(SCHEMA).write_parquet(dropped)
    with store.ParquetSink(dropped, SCHEMA) as sink:
        sink.commit(keep_empty=False)
    assert not dropped.exists()
    assert leftovers(tmp_path, kept) == []


def test_a_new_sink_removes_the_parts_a_killed_attempt_left(tmp_path):
    target = tmp_path / "deposit_balances[1].csv.parquet"  # a name that is also a glob pattern
    other = tmp_path / "deposit_balances[1].csv.parquet.txt.parquet"  # starts with its name
    killed = store.ParquetSink(target, SCHEMA)
    killed.write(piece(0, 2))  # the process dies here: no commit, no discard
    bystander = store.ParquetSink(other, SCHEMA)
    bystander.write(piece(0, 1))
    assert len(leftovers(tmp_path, target)) == 2

    with store.ParquetSink(target, SCHEMA) as sink:
        sink.write(piece(2, 3))
        sink.commit()
    written = pl.read_parquet(target, glob=False)["account_id"].to_list()
    assert written == ["A0000002", "A0000003", "A0000004"]
    assert len(leftovers(tmp_path, target)) == 1  # the other file's parts are not its own
    bystander.commit()
    assert leftovers(tmp_path, target) == [other.name]


def test_a_sink_leaves_no_empty_partition_folder_behind(tmp_path):
    """A refused first delivery of a date left an empty ``business_date=`` folder in the raw
    layer and in quarantine: the sink made it for its part files. The folder goes when the
    sink leaves it empty (discarded, or committed without a file), and stays otherwise."""
    refused = tmp_path / "business_date=2026-10-02" / "db.csv.parquet"
    with pytest.raises(RuntimeError), store.ParquetSink(refused, SCHEMA) as sink:
        sink.write(piece(0, 3))
        raise RuntimeError("the delivery is refused")
    assert not refused.parent.exists()

    nothing_bad = tmp_path / "business_date=2026-10-03" / "db.csv.parquet"
    nothing_bad.parent.mkdir()
    piece(0, 1).select(list(SCHEMA)).cast(SCHEMA).write_parquet(nothing_bad)  # corrected now
    with store.ParquetSink(nothing_bad, SCHEMA) as sink:
        sink.commit(keep_empty=False)
    assert not nothing_bad.parent.exists()

    shared = tmp_path / "business_date=2026-10-04"
    loaded = shared / "a.xlsx.parquet"
    with store.ParquetSink(loaded, SCHEMA) as sink:
        sink.write(piece(0, 1))
        sink.commit()
    with pytest.raises(RuntimeError), store.ParquetSink(shared / "b.xlsx.parquet", SCHEMA) as sink:
        sink.write(piece(1, 1))
        raise RuntimeError("the other file is refused")
    assert [p.name for p in shared.iterdir()] == [loaded.name]
