"""The dirty manifest lists every bad record and delivery, and each points at a real line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from landing_reader import decode

from clientmart.generator import dirty
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
