"""The dirty manifest lists every bad record and delivery, and each points at a real line."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import polars as pl
from landing_reader import decode

from clientmart.generator import dirty
from clientmart.settings import Settings
from ingest import store
from ingest.pipeline import ingest_date
from ingest.spec import load_feeds


def _manifest(root: Path) -> list[dict]:
    text = (root / "_generator" / "dirty_manifest.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_dirty_count_close_to_rate_and_all_kinds_present(dirty_bank) -> None:
    root, summary = dirty_bank
    entries = _manifest(root)
    records = [e for e in entries if e["level"] == "record"]
    assert len(records) == summary.dirty_records
    assert 0.01 <= len(records) / summary.records <= 0.025
    assert {e["kind"] for e in records} == set(dirty.RECORD_KINDS)
    assert {e["kind"] for e in entries if e["level"] == "delivery"} == set(dirty.DELIVERY_KINDS)


def test_every_manifest_line_points_at_a_real_bad_line(dirty_bank) -> None:
    root, _ = dirty_bank
    feeds = load_feeds()
    cache: dict[str, list[str]] = {}
    for e in _manifest(root):
        path = root / e["file"]
        assert path.exists(), e
        if e["level"] == "delivery":
            ok = path.with_name(path.name + ".ok")
            assert ok.exists() == (e["kind"] != "missing_control_file"), e
            if e["kind"] == "undecodable_file":
                line = path.read_bytes().split(b"\n")[e["line"] - 1]
                for codec in ("utf-8", "gbk", "gb18030"):
                    try:
                        line.decode(codec)
                    except UnicodeDecodeError:
                        continue
                    raise AssertionError(f"{e} decodes as {codec}")
            continue
        if e["file"] not in cache:
            cache[e["file"]] = decode(path)[0].split("\n")
        lines = cache[e["file"]]
        header = lines[0]
        sep = "|" if "|" in header else ","
        feed = feeds[e["feed"]]
        names = [feed.header_map().get(h.strip().lower()) for h in header.split(sep)]
        # Amounts with thousands separators are quoted in comma files: parse with csv.
        row = next(csv.reader([lines[e["line"] - 1]], delimiter=sep))
        value = dict(zip(names, row, strict=True))
        key = feed.key[0]
        if e["kind"] == "duplicate_key":
            earlier = [
                next(csv.reader([x], delimiter=sep))[names.index(key)]
                for x in lines[1 : e["line"] - 1]
            ]
            assert value[key] in earlier, e
        elif e["kind"] == "missing_required_value":
            assert value[key] == "", e
        elif e["kind"] == "negative_amount":
            assert value[e["column"]].strip().startswith("-"), e
        elif e["kind"] == "bad_coded_value":
            assert value[e["column"]] not in feed.column(e["column"]).values, e
        elif e["kind"] == "date_outside_delivery":
            digits = "".join(ch for ch in value[e["column"]] if ch.isdigit())
            assert digits != e["business_date"].replace("-", ""), e
        else:
            assert value[e["column"]] in ("ZZ9999", "XX_UNKNOWN", "2026-13-45", "12x.5?"), e


def test_ingest_quarantines_exactly_the_listed_records_and_refuses_the_listed_files(
    dirty_bank, tmp_path: Path
) -> None:
    """The manifest is the generator's promise to ingest: every listed record lands in
    quarantine at its file and line with its expected rule among its rules, no other record
    does, and every bad delivery gets its outcome."""
    root, _ = dirty_bank
    entries = _manifest(root)
    settings = Settings(home=tmp_path / "home", landing_root=root)
    feeds = load_feeds()
    days = sorted(
        dt.date.fromisoformat(f"{p.name[:4]}-{p.name[4:6]}-{p.name[6:]}")
        for p in (root / "fx_rates").iterdir()
    )
    quarantined: dict[tuple[str, int], list[str]] = {}
    outcomes: dict[str, str] = {}
    for day in days:
        result = ingest_date(settings, day)
        for feed, done in result.feeds.items():
            folder = f"{feed}/{day:%Y%m%d}"
            for f in done.files:
                outcome = f"refused:{f.rule}" if f.status == "refused" else f.status
                outcomes[f"{folder}/{f.file_name}"] = outcome
            for name in done.pending:
                outcomes[f"{folder}/{Path(name).name}"] = "not_delivered"
        for feed in feeds:
            for path in store.data_files(settings.quarantine, feed, day):
                frame = pl.read_parquet(path, columns=["_source_file", "_source_line", "rules"])
                for file, line, rules in frame.iter_rows():
                    quarantined[(file, line)] = rules.split(";")
    records = {
        (e["file"], e["line"]): e["expected_rule"] for e in entries if e["level"] == "record"
    }
    assert len(records) > 100
    assert quarantined.keys() == records.keys()
    wrong = {k: (rule, quarantined[k]) for k, rule in records.items() if rule not in quarantined[k]}
    assert wrong == {}
    deliveries = {e["file"]: e["expected_rule"] for e in entries if e["level"] == "delivery"}
    assert {file: outcomes.get(file) for file in deliveries} == deliveries
    assert {file for file, outcome in outcomes.items() if outcome != "loaded"} == set(deliveries)
