"""Same arguments give byte-identical files; dirty records only ever add lines."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from clientmart.generator.bank import generate_bank


def checksums(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_give_identical_files(dirty_bank, short_period, tmp_path: Path) -> None:
    first, _ = dirty_bank
    generate_bank(tmp_path, clients=500, seed=5, dirty_rate=0.02, **short_period)
    a, b = checksums(first), checksums(tmp_path)
    assert len(a) > 50
    assert a == b


def test_another_seed_gives_another_bank(clean_bank, short_period, tmp_path: Path) -> None:
    generate_bank(tmp_path, clients=500, seed=6, **short_period)
    a, b = checksums(clean_bank), checksums(tmp_path)
    assert a.keys() & b.keys()
    assert any(a[k] != b[k] for k in a.keys() & b.keys())


def test_dirty_bank_is_clean_bank_plus_listed_lines(clean_bank, dirty_bank) -> None:
    """Removing the manifest's record lines from each dirty file gives the clean file."""
    dirty_root, _ = dirty_bank
    manifest = [
        json.loads(x)
        for x in (dirty_root / "_generator" / "dirty_manifest.jsonl").read_text().splitlines()
    ]
    by_file: dict[str, set[int]] = {}
    for entry in manifest:
        if entry["level"] == "record":
            by_file.setdefault(entry["file"], set()).add(entry["line"])
    bad_files = {e["file"] for e in manifest if e["level"] == "delivery"}
    clean = checksums(clean_bank)
    dirty = checksums(dirty_root)
    for rel in dirty:
        if rel.startswith("_generator") or rel in bad_files or rel.removesuffix(".ok") in bad_files:
            continue
        assert rel in clean, f"{rel} exists only in the dirty bank"
        if rel.endswith(".ok"):
            extra = len(by_file.get(rel.removesuffix(".ok"), ()))
            got = int((dirty_root / rel).read_text()) - extra
            assert got == int((clean_bank / rel).read_text()), rel
            continue
        lines = (dirty_root / rel).read_bytes().split(b"\n")
        drop = by_file.get(rel, set())
        kept = [x for i, x in enumerate(lines, start=1) if i not in drop]
        assert b"\n".join(kept) == (clean_bank / rel).read_bytes(), rel
    assert set(clean) <= set(dirty)


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="before start"):
        generate_bank(
            tmp_path, clients=100, start=dt.date(2026, 10, 2), end=dt.date(2026, 10, 1), seed=1
        )
    with pytest.raises(ValueError, match="dirty_rate"):
        generate_bank(
            tmp_path,
            clients=100,
            start=dt.date(2026, 10, 1),
            end=dt.date(2026, 10, 1),
            seed=1,
            dirty_rate=0.5,
        )


def test_month_bank_with_excel_payroll_is_reproducible(month_bank, tmp_path: Path) -> None:
    first, _ = month_bank
    generate_bank(
        tmp_path, clients=400, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31), seed=3
    )
    a, b = checksums(first), checksums(tmp_path)
    assert any(name.endswith(".xlsx") for name in a)
    assert a == b
