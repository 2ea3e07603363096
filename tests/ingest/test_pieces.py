"""A file read in pieces holds one parsed piece at a time.

Ingest used to parse the next piece before it split, validated and wrote the current one, only
to learn whether the current one was the file's last. A file larger than a piece then held two
parsed pieces at once. At 3M clients a 536 MB deposit file is read in 256 MB pieces, and each
parsed and split piece takes about 3 GB more than the process held before it. The reader now
says which part is the last from the file's bytes (``ReadResult.last``), and the pipeline asks
for the next part only after writing the current one.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ingest import pipeline, store
from ingest.pipeline import ingest_feed

DAY = dt.date(2026, 10, 1)  # the date conftest.py lands files for
HEADER = "balance_date,account_id,client_id,inst_code,product_code,currency,balance\n"


def test_the_next_piece_is_parsed_only_after_this_one_is_written(reference_bank, land, monkeypatch):
    rows = "".join(f"20261001,A{i:05d},C001,B001,DD01,CNY,{i}.50\n" for i in range(3000))
    land("deposit_balances", "db.csv", HEADER + rows + "20261001,A00007,C001,B001,DD01,CNY,1\n")
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": 0.02})  # about 20 KB
    events: list[str] = []
    read_parts, write = pipeline.read_delivery_parts, store.ParquetSink.write

    def parts(*args, **kwargs):
        for part in read_parts(*args, **kwargs):
            events.append(f"parsed {part.frame.height} last={part.last}")
            yield part

    def written(sink, frame):
        if sink.target.is_relative_to(settings.raw):
            events.append("written")
        write(sink, frame)

    monkeypatch.setattr(pipeline, "read_delivery_parts", parts)
    monkeypatch.setattr(store.ParquetSink, "write", written)

    result = ingest_feed(settings, "deposit_balances", DAY)

    assert result.ok, result.problems
    parsed = [e for e in events if e.startswith("parsed")]
    assert len(parsed) > 3, "the file must be read in several pieces"
    # parsed, written, parsed, written, ...: never two parsed pieces before a write
    assert events == [e for p in parsed for e in (p, "written")]
    assert [p.endswith("last=True") for p in parsed] == [False] * (len(parsed) - 1) + [True]
    # and the pieces still make one file: every record, the repeated key found many
    # pieces later on its true line (the last piece's row count checked against the count)
    (f,) = result.files
    assert (f.records_read, f.records_kept, f.records_quarantined) == (3001, 3000, 1)
    bad = pl.read_parquet(store.data_files(settings.quarantine, "deposit_balances", DAY)[0])
    assert bad["_source_line"].to_list() == [3002]
    assert bad["rules"].to_list() == ["duplicate_key"]
