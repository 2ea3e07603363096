"""Source lines across quoted line breaks, lineage and audit times, and the GX data docs."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from clientmart.settings import Settings
from expectations.validate import build_data_docs
from ingest import store
from ingest.pipeline import ingest_date, ingest_feed
from ingest.rules import parse_date

DAY = dt.date(2026, 10, 1)
HEADER = "balance_date,account_id,client_id,inst_code,product_code,currency,balance,memo\n"
TAIL = "".join(f"20261001,B{i:03d},C001,B001,DD01,CNY,{i},\n" for i in range(60))  # max_bad_share


def test_source_lines_count_line_breaks_inside_quoted_fields(reference_bank, land):
    content = (
        HEADER
        + '20261001,A001,C001,B001,DD01,CNY,1,"two\nlines"\n'  # lines 2-3
        + "20261001,A002,C001,B001,DD01,CNY,5x,x\n"  # line 4: not a number
        + '20261001,A003,C001,B001,DD01,CNY,2,"a\r\nb\r\nc"\n'  # lines 5-7
        + "20261001,A004,C001,B001,DD01,CNY,6x,\n"  # line 8: not a number
        + "20261001,A005,C001,B001,DD01,CNY,3,y\n"  # line 9
        + TAIL  # lines 10-69
    )
    land("deposit_balances", "db.csv", content, count=65)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files[0].records_quarantined == 2
    bad = pl.read_parquet(store.data_files(reference_bank.quarantine, "deposit_balances", DAY)[0])
    assert bad["_source_line"].to_list() == [4, 8]
    assert bad["rules"].to_list() == ["parse_decimal:balance", "parse_decimal:balance"]
    kept = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    assert kept["_source_line"].to_list() == [2, 5, 9, *range(10, 70)]
    assert kept["_extra"][0] == '{"memo":"two\\nlines"}'


def test_source_lines_without_embedded_breaks_are_record_numbers(reference_bank, land):
    body = "".join(
        f"20261001,A{i:03d},C001,B001,DD01,CNY,{'1x' if i % 3 == 0 else '1'},\n" for i in range(7)
    )
    land("deposit_balances", "db.csv", HEADER + body + TAIL)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files[0].records_quarantined == 3
    bad = pl.read_parquet(store.data_files(reference_bank.quarantine, "deposit_balances", DAY)[0])
    assert bad["_source_line"].to_list() == [2, 5, 8]


def test_dates_parse_strictly_in_one_of_three_shapes():
    values = ["2026101", "2026-10-1", "+2026-10-01", "2026-1001", "2026/10-01", "20261001"]
    got = pl.DataFrame({"v": values}).select(parse_date(pl.col("v")))["v"].to_list()
    assert got == [None, None, None, None, None, DAY]


def test_audit_times_are_plain_utc_and_loaded_at_is_zoned(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + "20261001,A001,C001,B001,DD01,CNY,1,\n")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert ingest_feed(reference_bank, "deposit_balances", DAY).files[0].status == "loaded"
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    audit_glob = str(reference_bank.raw / "_ingest_audit" / "*" / "deposit_balances__*.parquet")
    raw_file = store.data_files(reference_bank.raw, "deposit_balances", DAY)[0]
    with duckdb.connect() as con:
        types = dict(
            con.execute(
                "select column_name, column_type from "
                f"(describe select * from read_parquet('{audit_glob}'))"
            ).fetchall()
        )
        started, finished = con.execute(
            f"select started_at, finished_at from read_parquet('{audit_glob}')"
        ).fetchone()
        loaded_type = con.execute(
            f"select column_type from (describe select _loaded_at from read_parquet('{raw_file}'))"
        ).fetchone()[0]
    assert types["started_at"] == types["finished_at"] == "TIMESTAMP"
    assert before <= started <= finished <= after  # UTC wall time, no zone
    assert loaded_type == "TIMESTAMP WITH TIME ZONE"
    loaded_at = pl.read_parquet(raw_file)["_loaded_at"].unique().to_list()
    assert len(loaded_at) == 1
    # a plain re-run writes nothing: the lineage time stays that of the delivery
    assert ingest_feed(reference_bank, "deposit_balances", DAY).files[0].status == "unchanged"
    assert pl.read_parquet(raw_file)["_loaded_at"].unique().to_list() == loaded_at


def test_data_docs_render_each_feeds_latest_validation(reference_bank, land, tmp_path):
    settings = Settings(
        home=reference_bank.home,
        landing_root=reference_bank.landing,
        gx_docs_dir=tmp_path / "docs",
    )
    land("deposit_balances", "db.csv", HEADER + "20261001,A001,C001,B001,DD01,CNY,1,\n")
    result = ingest_date(settings, DAY, data_docs=True)
    assert result.feeds["deposit_balances"].validation.success
    index = settings.gx_docs / "index.html"
    assert index.exists()
    html = index.read_text(encoding="utf-8")
    for feed in ("deposit_balances", "clients", "institutions"):
        assert f"{feed}_delivery" in html
    pages = list((settings.gx_docs / "validations").rglob("*.html"))
    assert any("deposit_balances_delivery" in str(p) for p in pages)
    # built again from the recorded results alone, without ingesting
    index.unlink()
    assert build_data_docs(settings) == index and index.exists()


def test_compound_key_duplicates_are_exact_and_nulls_are_not_duplicates(tmp_path):
    from expectations.validate import to_batch
    from ingest.read import read_delivery
    from ingest.rules import DUPLICATE_KEY_FLAG, split_records
    from ingest.spec import load_feeds

    feed = load_feeds()["fx_rates"]
    path = tmp_path / "fx.csv"
    path.write_text(
        "rate_date,currency,cny_per_unit\n"
        "20261001,USD,7.1\n20261001,EUR,7.7\n20261001,USD,7.2\n"  # line 4: duplicate
        "20261001,,1\n20261001,,1\n20261001,JPY,0.05\n",  # null keys: not_null, not duplicate
        encoding="utf-8",
    )
    split = split_records(read_delivery(path, feed, "fx"), feed, DAY, {})
    assert split.quarantined.select("_source_line", "rules").rows() == [
        (4, "duplicate_key"),
        (5, "not_null:currency"),
        (6, "not_null:currency"),
    ]
    assert split.kept["currency"].to_list() == ["USD", "EUR", "JPY"]
    # a key repeated in the piece: the suite's duplicate flag is computed on the kept batch
    assert DUPLICATE_KEY_FLAG not in split.kept.columns
    assert not to_batch(split.kept, feed, {})[DUPLICATE_KEY_FLAG].any()


def _split_by_value_and_by_record(monkeypatch, read, feed, references):
    """``split_records`` with columns of few values mapped from their distinct values, checked
    equal to record by record; returns its split and the columns that were mapped."""
    from polars.testing import assert_frame_equal

    from ingest import rules

    mapped = []
    original = rules._few_distinct
    monkeypatch.setattr(
        rules, "_few_distinct", lambda c, col: mapped.append(col.name) or original(c, col)
    )
    by_value = rules.split_records(read, feed, DAY, references)
    by_distinct = {
        name
        for name in mapped
        if original(read.frame[read.columns[name]], feed.column(name)) is not None
    }
    monkeypatch.setattr(rules, "_few_distinct", lambda c, col: None)
    by_record = rules.split_records(read, feed, DAY, references)
    monkeypatch.setattr(rules, "_few_distinct", original)
    assert_frame_equal(by_value.kept, by_record.kept)
    assert_frame_equal(by_value.quarantined, by_record.quarantined)
    return by_value, by_distinct


def test_columns_of_few_values_split_as_record_by_record(tmp_path, monkeypatch):
    """A column that repeats few values (business date, currency, product code) is cleaned
    and parsed once per distinct value (ingest.rules.FEW_DISTINCT): the kept records, their
    types and the quarantined rules are those of cleaning and parsing every record."""
    import polars as pl

    from ingest import rules
    from ingest.read import read_delivery
    from ingest.spec import load_feeds

    feed = load_feeds()["deposit_balances"]
    dates = ["20261001", " 2026-10-01 ", "2026/10/01", "2026101", "", "20261002"]
    currencies = ["CNY", " CNY", "USD ", ""]
    lines = ["balance_date|account_id|client_id|inst_code|product_code|currency|balance"]
    for i in range(3000):
        balance = "5x" if i % 997 == 0 else f"{i},{i % 1000:03d}.5" if i % 7 == 0 else str(i)
        # an institution first seen after the sample (rules.SAMPLE), and unknown
        inst = "B009" if i > 2000 and i % 11 == 0 else f"B{i % 3:03d}"
        lines.append(
            f"{dates[i % len(dates)]}|A{i:06d}|C{i % 50:03d}|{inst}|"
            f"{['DD01', 'TD01', 'XX99'][i % 3]}|{currencies[i % 4]}|{balance}"
        )
    path = tmp_path / "deposit_balances.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = read_delivery(path, feed, "deposit_balances")
    references = {
        "clients.client_id": pl.Series([f"C{n:03d}" for n in range(40)]),
        "institutions.inst_code": pl.Series(["B000", "B001", "B002"]),
        "products.product_code": pl.Series(["DD01", "TD01"]),
    }
    by_value, by_distinct = _split_by_value_and_by_record(monkeypatch, read, feed, references)
    assert {"balance_date", "currency", "product_code", "inst_code"} <= by_distinct
    assert "account_id" not in by_distinct  # 3000 distinct values: record by record
    assert by_value.kept.schema["balance_date"] == pl.Date
    rules_seen = {r for rs in by_value.quarantined["rules"] for r in rs.split(";")}
    assert {
        "parse_date:balance_date",
        "not_null:balance_date",
        "date_matches_delivery:balance_date",
        "not_null:currency",
        "references:products.product_code",
        "references:institutions.inst_code",
        "references:clients.client_id",
        "parse_decimal:balance",
    } <= rules_seen
    assert 0 < by_value.kept.height < read.frame.height
    # no key repeats in the piece: the suite's duplicate flag goes over with the kept records
    assert by_value.kept[rules.DUPLICATE_KEY_FLAG].to_list() == [False] * by_value.kept.height


def _recording_cast(names: list[str], cast):
    def recording(series, *args, **kwargs):
        names.append(series.name)
        return cast(series, *args, **kwargs)

    return recording


def test_a_column_of_one_value_is_indexed_by_one_comparison(tmp_path, monkeypatch):
    """A daily file's business date and currency usually hold one value: it is compared once
    per record, not hashed, and the split equals record by record; one other value anywhere
    in the column (here after the sample) takes the general path."""
    import polars as pl

    from ingest.read import read_delivery
    from ingest.spec import load_feeds

    feed = load_feeds()["deposit_balances"]
    references = {
        "clients.client_id": pl.Series(["C001"]),
        "institutions.inst_code": pl.Series(["B001"]),
        "products.product_code": pl.Series(["DD01"]),
    }
    for currency, other in (("CNY", False), ("USD ", True)):
        lines = ["balance_date|account_id|client_id|inst_code|product_code|currency|balance"]
        lines += [
            f"20261001|A{i:05d}|C001|B001|DD01|{currency if i == 2500 else 'CNY'}|{i}"
            for i in range(3000)
        ]
        path = tmp_path / f"deposit_balances_{other}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        read = read_delivery(path, feed, "deposit_balances")
        cast: list[str] = []
        monkeypatch.setattr(pl.Series, "cast", _recording_cast(cast, pl.Series.cast))
        split, mapped = _split_by_value_and_by_record(monkeypatch, read, feed, references)
        monkeypatch.undo()
        assert {"balance_date", "currency"} <= mapped
        # a one-value column costs no Enum cast; a second currency costs the currency one
        assert (read.columns["currency"] in cast) == other
        assert read.columns["balance_date"] not in cast
        assert split.kept["currency"].unique().sort().to_list() == sorted({"CNY", currency.strip()})


def test_a_one_record_file_keeps_its_types(tmp_path):
    """Every column of a one-record file holds one value; a date written as polars prints it
    (2026-12-02) still comes out a date, and the suite passes (polars' common-subexpression
    elimination once merged the raw text and the typed date into one String column)."""
    import polars as pl

    from expectations.validate import validate_batch
    from ingest import rules
    from ingest.read import read_delivery
    from ingest.spec import load_feeds

    feed = load_feeds()["clients"]
    header = "|".join(c.name for c in feed.columns)
    values = {
        "client_id": "C010",
        "client_type": "I",
        "name": "Client C010",
        "id_number": "110101198001010100",
        "birth_date": "1980-01-01",
        "gender": "M",
        "open_date": "2026-12-02",
        "inst_code": "OUT1",
        "rm_id": "RM01",
    }
    path = tmp_path / "clients.csv"
    row = "|".join(values.get(c.name, "") for c in feed.columns)
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    references = {
        "institutions.inst_code": pl.Series(["OUT1"]),
        "relationship_managers.rm_id": pl.Series(["RM01"]),
    }
    split = rules.split_records(read_delivery(path, feed, "clients"), feed, DAY, references)
    assert split.kept.height == 1 and split.quarantined.height == 0
    assert split.kept.schema["open_date"] == pl.Date
    assert split.kept.schema["birth_date"] == pl.Date
    assert split.kept["open_date"].to_list() == [dt.date(2026, 12, 2)]
    assert validate_batch(feed, split.kept, DAY, 1, references).success


def test_reference_lookup_registers_a_large_reference_once_and_stays_exact(monkeypatch):
    """A file not much larger than its reference is checked by casting into the reference's own
    categorical namespace (registered once, shared by later files); both ways agree with a
    plain membership test, unknown codes and nulls included, and a code first seen in one
    file stays unknown in the next."""
    import polars as pl

    from ingest import rules

    monkeypatch.setattr(rules, "REGISTER_MIN", 10)
    known = pl.Series([f"C{n:03d}" for n in range(100)] + ["C007", None])  # a repeat, a null
    registered: list[int] = []
    original = pl.Categories.random
    monkeypatch.setattr(
        pl.Categories, "random", staticmethod(lambda: registered.append(1) or original())
    )
    for values in (["C001", "C099", "X1", None, "C100"], ["X1", "C050", "C007", "", "X2"]):
        frame = pl.DataFrame({"client_id": values})
        expected = [None if v is None else v in set(known.drop_nulls()) for v in values]
        for rows in (frame.height, 3 * known.len()):  # registered lookup, then is_in
            flag = frame.select(rules.is_known(pl.col("client_id"), known, rows)).to_series()
            assert flag.to_list() == expected
    assert registered == [1]  # once for both files


def test_a_reference_registration_lives_only_as_long_as_its_codes(monkeypatch):
    """A process that ingests date after date keeps one registration per reference in force,
    not the last eight (about 120 MB each for 1M client numbers): once a date's codes are
    dropped (the reference cache moved on), their registration goes with them."""
    import gc
    import weakref

    import polars as pl

    from ingest import rules

    monkeypatch.setattr(rules, "REGISTER_MIN", 10)
    monkeypatch.setattr(rules, "_REGISTERED", {})
    frame = pl.DataFrame({"client_id": ["C001", "X1"]})
    for day in range(3):  # each date's reference is a new Series; the last one is still held
        known = pl.Series([f"C{n:03d}" for n in range(100 + day)])
        flag = frame.select(rules.is_known(pl.col("client_id"), known, frame.height)).to_series()
        assert flag.to_list() == [True, False]
        gc.collect()
        assert list(rules._REGISTERED) == [id(known)]
    del known
    gc.collect()
    assert rules._REGISTERED == {}
    # past the bound, an evicted registration is freed although its codes are still held
    monkeypatch.setattr(rules, "_REGISTERED_KEEP", 1)
    held = [pl.Series([f"C{n:03d}" for n in range(100 + day)]) for day in range(2)]
    rules.is_known(pl.col("client_id"), held[0], frame.height)
    first = weakref.ref(rules._REGISTERED[id(held[0])][1])
    rules.is_known(pl.col("client_id"), held[1], frame.height)
    gc.collect()
    assert list(rules._REGISTERED) == [id(held[1])] and first() is None


def test_data_docs_render_again_only_the_feeds_validated_since_the_last_build(
    reference_bank, land, tmp_path
):
    settings = Settings(
        home=reference_bank.home,
        landing_root=reference_bank.landing,
        gx_docs_dir=tmp_path / "docs",
    )
    land("deposit_balances", "db.csv", HEADER + "20261001,A001,C001,B001,DD01,CNY,1,\n")
    ingest_date(settings, DAY, data_docs=True)
    pages = settings.gx_docs / "validations"
    clients = next(p for p in pages.rglob("*.html") if "clients_delivery" in str(p))
    balances = next(p for p in pages.rglob("*.html") if "deposit_balances_delivery" in str(p))
    rendered = {p: p.stat().st_mtime_ns for p in (clients, balances)}
    # a corrected deposit-balances file: that feed is validated again, the clients are not
    land("deposit_balances", "db.csv", HEADER + "20261001,A001,C001,B001,DD01,CNY,2,\n")
    assert ingest_feed(settings, "deposit_balances", DAY).files[0].status == "replaced"
    index = build_data_docs(settings)
    assert clients.stat().st_mtime_ns == rendered[clients]  # its page was not rendered again
    assert balances.stat().st_mtime_ns > rendered[balances]
    html = index.read_text(encoding="utf-8")
    for feed in ("deposit_balances", "clients", "institutions"):  # the index keeps every feed
        assert f"{feed}_delivery" in html
    # nothing validated since: nothing rendered, the index stays
    before = index.stat().st_mtime_ns
    assert build_data_docs(settings) == index and index.stat().st_mtime_ns == before
    assert clients.stat().st_mtime_ns == rendered[clients]
