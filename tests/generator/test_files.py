"""Every feed is delivered with control files, and the whole allowed range of formats is used."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from landing_reader import data_files, decode, read_file

from clientmart.generator.bank import BankMixError, generate_bank
from ingest.spec import load_feeds, normalise_header


def test_every_feed_present_with_matching_control_files(month_bank) -> None:
    root, summary = month_bank
    feeds = load_feeds()
    days = sorted(p.name for p in (root / "deposit_balances").iterdir())
    assert len(days) == summary.dates == 31
    for name, feed in feeds.items():
        files = data_files(root, name)
        assert files, f"no {name} files"
        if feed.kind == "required_daily":
            assert sorted({p.parent.name for p in files}) == days, name
        for path in files:
            ok = path.with_name(path.name + ".ok")
            assert ok.read_text() == f"{read_file(path, name).height}\n", path
    top = {p.name for p in root.iterdir()}
    assert top == set(feeds) | {"_generator"}


def test_reference_feeds_first_date_and_mid_period_snapshot(month_bank) -> None:
    root, _ = month_bank
    for name in ("institutions", "products", "relationship_managers"):
        assert [p.parent.name for p in data_files(root, name)] == ["20261001", "20261016"]
    first, second = (read_file(p, "institutions") for p in data_files(root, "institutions"))
    assert second.height == first.height + 1
    assert set(first["inst_level"]) == {"1", "2", "3", "4"}
    rms = read_file(data_files(root, "relationship_managers")[1], "relationship_managers")
    assert set(rms["status"]) == {"active", "left"}


def test_clients_full_first_then_only_new_or_changed(month_bank) -> None:
    root, summary = month_bank
    files = data_files(root, "clients")
    first = read_file(files[0], "clients")
    later = pl.concat([read_file(p, "clients") for p in files[1:]])
    assert 0.9 * summary.clients <= first.height <= summary.clients
    assert 0 < later.height < first.height
    new = later.filter(~pl.col("client_id").is_in(first["client_id"].implode()))
    assert new.height > 0 and later.height > new.height  # new clients and changed ones


def test_format_variety_is_really_used(month_bank) -> None:
    root, _ = month_bank
    seen: dict[str, set[str]] = {
        k: set() for k in ("encoding", "delimiter", "suffix", "header", "date", "misc")
    }
    aliases = {
        normalise_header(a) for f in load_feeds().values() for c in f.columns for a in c.aliases
    }
    for path in sorted(root.glob("[!_]*/*/*")):
        if path.suffix == ".ok":
            continue
        seen["suffix"].add(path.suffix)
        if path.suffix == ".xlsx":
            continue
        text, encoding = decode(path)
        raw = path.read_bytes()
        if encoding == "gb18030":
            raw.decode("gbk")  # everything we write as GBK/GB18030 is in GBK
        seen["encoding"].add(encoding)
        header, *rows = text.split("\n")
        seen["delimiter"].add("|" if "|" in header else ",")
        cells = re.split(r"[,|]", header)
        if any(normalise_header(c) in aliases for c in cells):
            seen["header"].add("chinese")
        if any(c != c.strip() for c in cells):
            seen["header"].add("spaces")
        if any(c.strip() != c.strip().lower() and c.strip().isascii() for c in cells):
            seen["header"].add("mixed_case")
        body = "\n".join(rows)
        for fmt, pattern in (
            ("ymd", r"\b20\d{6}\b"),
            ("dash", r"\b20\d\d-\d\d-\d\d\b"),
            ("slash", r"\b20\d\d/\d\d/\d\d\b"),
        ):
            if re.search(pattern, body):
                seen["date"].add(fmt)
        if re.search(r" \d{1,3}(,\d{3})+\.\d\d ", body):
            seen["misc"].add("thousands")
        if re.search(r"\d\.\d{10}(?!\d)", body):  # FX rates at the ten decimals the contract keeps
            seen["misc"].add("ten_decimals")
        if "etl_batch_no" in header:
            seen["misc"].add("extra_columns")
        if not body.strip():
            seen["misc"].add("header_only")
            assert path.with_name(path.name + ".ok").read_text() == "0\n"
    assert {"utf-8", "utf-8-sig", "gb18030"} <= seen["encoding"]
    assert seen["delimiter"] == {",", "|"}
    assert seen["suffix"] == {".csv", ".txt", ".xlsx"}
    assert seen["header"] == {"chinese", "spaces", "mixed_case"}
    assert seen["date"] == {"ymd", "dash", "slash"}
    assert seen["misc"] == {"thousands", "extra_columns", "header_only", "ten_decimals"}


def test_payroll_several_employer_batches_per_date(month_bank) -> None:
    root, _ = month_bank
    per_date: dict[str, list[Path]] = {}
    for p in data_files(root, "payroll"):
        per_date.setdefault(p.parent.name, []).append(p)
    assert max(len(v) for v in per_date.values()) >= 2
    xlsx = [p for v in per_date.values() for p in v if p.suffix == ".xlsx"]
    assert xlsx
    # a name starting with _ is a delivery like any other (ingest takes it with its .ok)
    underscored = [p for v in per_date.values() for p in v if p.name.startswith("_")]
    assert underscored and all(p.with_name(p.name + ".ok").exists() for p in underscored)
    frame = read_file(xlsx[0], "payroll")
    assert frame["batch_id"].n_unique() == 1 and frame.height >= 1


def test_generator_writes_nothing_else(tmp_path: Path) -> None:

    generate_bank(
        tmp_path / "land",
        clients=50,
        start=dt.date(2026, 11, 2),
        end=dt.date(2026, 11, 2),
        seed=1,
        dirty_rate=0.02,
    )
    assert [p.name for p in tmp_path.iterdir()] == ["land"]
    for p in (tmp_path / "land").rglob("*"):
        parts = p.relative_to(tmp_path / "land").parts
        assert parts[0] == "_generator" or (
            len(parts) <= 3 and (len(parts) < 2 or re.fullmatch(r"\d{8}", parts[1]))
        ), p


def test_on_day_sees_each_date_complete_before_the_next_is_written(tmp_path: Path) -> None:
    """A caller may ingest a long bank as it is written, and remove what it has ingested."""

    out = tmp_path / "land"
    seen: list[tuple[dt.date, list[str]]] = []

    def on_day(day: dt.date) -> None:
        landed = sorted(p.parent.name for p in out.glob("deposit_balances/*/*.ok"))
        seen.append((day, landed))
        if day == dt.date(2026, 11, 2):  # what the caller removes stays removed
            for p in sorted((out / "deposit_balances" / "20261102").iterdir()):
                p.unlink()
            (out / "deposit_balances" / "20261102").rmdir()

    generate_bank(
        out, clients=50, start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 4), seed=1, on_day=on_day
    )
    assert seen == [
        (dt.date(2026, 11, 2), ["20261102"]),
        (dt.date(2026, 11, 3), ["20261103"]),
        (dt.date(2026, 11, 4), ["20261103", "20261104"]),
    ]
    kept = tmp_path / "kept"
    generate_bank(kept, clients=50, start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 4), seed=1)
    for day in ("20261103", "20261104"):  # the hook changes nothing the generator writes
        for p in sorted((kept / "deposit_balances" / day).iterdir()):
            assert (out / "deposit_balances" / day / p.name).read_bytes() == p.read_bytes()


def test_a_folder_holds_one_bank(tmp_path: Path) -> None:
    """Another bank written into a folder that holds one mixed with it: a date then held two
    fx_rates (or wealth_holdings) files of the same keys, as `make demo` with another size
    did. The generator refuses; --replace removes the previous bank first; the same bank
    again rewrites identical files."""
    days = {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 3)}
    out = tmp_path / "landing"
    generate_bank(out, clients=50, seed=1, **days)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    generate_bank(out, clients=50, seed=1, **days)  # the same bank: nothing changes
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == before

    with pytest.raises(BankMixError, match="holds another generated bank") as error:
        generate_bank(out, clients=50, seed=1, start=days["start"], end=dt.date(2026, 10, 5))
    assert '"end": "2026-10-03"' in str(error.value) and "--replace" in str(error.value)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == before

    generate_bank(out, clients=60, seed=2, replace=True, **days)
    fresh = tmp_path / "fresh"
    generate_bank(fresh, clients=60, seed=2, **days)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()
    )


def test_deliveries_the_generator_did_not_write_are_never_touched(tmp_path: Path) -> None:
    real = tmp_path / "landing"
    (real / "fx_rates" / "20261001").mkdir(parents=True)
    (real / "fx_rates" / "20261001" / "fx.csv").write_text("rate_date,currency,cny_per_unit\n")
    for replace in (False, True):
        with pytest.raises(BankMixError, match="not written by the generator"):
            generate_bank(
                real,
                clients=50,
                seed=1,
                start=dt.date(2026, 10, 1),
                end=dt.date(2026, 10, 1),
                replace=replace,
            )
    assert [p.name for p in real.rglob("*") if p.is_file()] == ["fx.csv"]


def test_a_file_added_to_a_generated_bank_is_never_touched(tmp_path: Path) -> None:
    """A delivery put into a generated bank's folder by hand (a real file to try, a copy of
    another bank's) is not the generator's: the same bank again and --replace are refused,
    and the file stays. --replace used to remove every feed folder whole."""
    days = {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 2)}
    out = tmp_path / "landing"
    generate_bank(out, clients=50, seed=1, **days)
    foreign = [out / "clients" / "20261231" / "real.csv", out / "clients" / "20261001" / "x.csv"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("client_id\n")
    for clients, replace in ((50, False), (60, True)):
        with pytest.raises(BankMixError, match="not written by the generator") as error:
            generate_bank(out, clients=clients, seed=1, replace=replace, **days)
        assert "clients/20261001/x.csv, clients/20261231/real.csv" in str(error.value)
    assert all(path.read_text() == "client_id\n" for path in foreign)

    for path in foreign:  # moved out: --replace removes the listed files, and only them
        path.unlink()
    (out / "clients" / "20261231").rmdir()
    generate_bank(out, clients=60, seed=2, replace=True, **days)
    fresh = tmp_path / "fresh"
    generate_bank(fresh, clients=60, seed=2, **days)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == sorted(
        p.relative_to(fresh) for p in fresh.rglob("*")
    )


def test_replace_refuses_a_bank_without_its_list_of_written_files(tmp_path: Path) -> None:
    """A bank generated before the generator listed its files (or interrupted) cannot tell
    its files from others: --replace refuses rather than guess; the same bank still runs."""
    days = {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 1)}
    out = tmp_path / "landing"
    generate_bank(out, clients=50, seed=1, **days)
    (out / "_generator" / "written_files.txt").unlink()
    with pytest.raises(BankMixError, match="without its list of written files"):
        generate_bank(out, clients=60, seed=2, replace=True, **days)
    generate_bank(out, clients=50, seed=1, **days)
    assert (out / "_generator" / "written_files.txt").exists()
