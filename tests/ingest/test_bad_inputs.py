"""One test per kind of bad input: the exact outcome, and that the audit balances."""

from __future__ import annotations

import datetime as dt
import json
import os

import polars as pl
import pytest
import xlsxwriter

from ingest import store
from ingest.pipeline import FeedResult, ingest_feed

DAY = dt.date(2026, 10, 1)  # the date conftest.py lands files for

HEADER = "balance_date,account_id,client_id,inst_code,product_code,currency,balance\n"
GOOD = "".join(f"20261001,A{i:03d},C001,B001,DD01,CNY,{i}.50\n" for i in range(40))


def quarantine(settings, feed: str = "deposit_balances") -> pl.DataFrame:
    files = store.data_files(settings.quarantine, feed, DAY)
    return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()


def audit(settings, feed: str = "deposit_balances") -> pl.DataFrame:
    return store.read_audit(settings.raw, DAY, feed)


def assert_balanced(result: FeedResult) -> None:
    for f in result.files:
        if f.status in ("loaded", "replaced"):
            assert f.records_read == f.records_kept + f.records_quarantined
            assert f.records_kept == f.control_count - f.records_quarantined


def one_bad(settings, land, line: str) -> tuple[FeedResult, pl.DataFrame]:
    land("deposit_balances", "db.csv", HEADER + GOOD + line)
    result = ingest_feed(settings, "deposit_balances", DAY)
    assert result.ok
    assert_balanced(result)
    assert result.files[0].records_kept == 40 and result.files[0].records_quarantined == 1
    return result, quarantine(settings)


@pytest.mark.parametrize(
    ("line", "rules"),
    [
        ("20261001,A000,C001,B001,DD01,CNY,5\n", "duplicate_key"),
        ("20261001,A900,C001,ZZZZ,DD01,CNY,5\n", "references:institutions.inst_code"),
        ("20261001,A900,C001,B001,XX99,CNY,5\n", "references:products.product_code"),
        ("20261001,A900,C999,B001,DD01,CNY,5\n", "references:clients.client_id"),
        ("2026-13-45,A900,C001,B001,DD01,CNY,5\n", "parse_date:balance_date"),
        ("20261001,A900,C001,B001,DD01,CNY,12x4\n", "parse_decimal:balance"),
        ("20261002,A900,C001,B001,DD01,CNY,5\n", "date_matches_delivery:balance_date"),
        (",A900,C001,B001,DD01,CNY,5\n", "not_null:balance_date"),
    ],
)
def test_bad_record_is_quarantined_with_its_rule(reference_bank, land, line, rules):
    _, bad = one_bad(reference_bank, land, line)
    assert bad["rules"].to_list() == [rules]
    assert bad["_source_line"].to_list() == [42]
    assert bad["_source_file"].to_list() == ["deposit_balances/20261001/db.csv"]
    record = json.loads(bad["raw_record"][0])
    assert record["account_id"] == line.split(",")[1]


@pytest.mark.parametrize("chunk_mb", [64.0, 0.0005])  # one piece; several
@pytest.mark.parametrize("quoted", [False, True])  # a record per line; quoted fields
def test_a_record_with_too_few_fields_is_quarantined(reference_bank, land, chunk_mb, quoted):
    """polars fills a short record's missing fields with nulls, so a truncated line loaded
    as a record whose last values were empty, without a word. A record needs the fields up
    to the header's last contract column (extra columns after it may be left off)."""
    rows = [f"20261001,A{i:03d},C001,B001,DD01,CNY,{i}.50,x\n" for i in range(40)]
    rows[3] = "20261001,A003,C001,B001,DD01,CNY\n"  # the balance cut off: line 5
    rows[7] = "20261001,A007,C001,B001,DD01,CNY,7.50\n"  # only the extra left off: kept
    rows[30] = "20261001,A030\n"  # line 32
    if quoted:
        rows[1] = '20261001,A001,C001,B001,DD01,CNY," 1,234.50 ","a, ""b""\nc"\n'  # lines 3-4
        rows[3] = rows[3].replace("A003", '"A003"')  # so line 6
        rows[30] = rows[30].replace("A030", '"A030"')  # line 33
    land("deposit_balances", "db.csv", HEADER.rstrip("\n") + ",note\n" + "".join(rows), count=40)
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": chunk_mb})
    result = ingest_feed(settings, "deposit_balances", DAY)
    assert result.ok
    assert_balanced(result)
    bad = quarantine(settings).sort("_source_line")
    assert bad["_source_line"].to_list() == ([6, 33] if quoted else [5, 32])
    assert bad["rules"].to_list()[0] == "not_null:balance;field_count"
    assert "field_count" in bad["rules"][1].split(";")
    kept = pl.concat(
        pl.read_parquet(f) for f in store.data_files(settings.raw, "deposit_balances", DAY)
    )
    assert kept.height == 38 and "A007" in kept["account_id"].to_list()


def test_thousands_separators_and_spaces_parse(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + '20261001,A1,C001,B001,DD01,CNY," 1,234,567.89 "\n')
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    assert result.ok and str(raw["balance"][0]) == "1234567.890000"


def refused(settings, feed: str = "deposit_balances") -> str:
    result = ingest_feed(settings, feed, DAY)
    assert not result.ok
    (f,) = result.files
    assert f.status == "refused" and f.records_kept == 0
    assert store.data_files(settings.raw, feed, DAY) == []
    assert audit(settings, feed)["status"].to_list() == ["refused"]
    return f.message


def test_undecodable_gbk_is_refused(reference_bank, land):
    good = (HEADER + "20261001,A1,C001,B001,DD01,CNY,5\n").encode()
    land("deposit_balances", "db.csv", good + b"\xff\xfe,bad\n", count=2)
    message = refused(reference_bank)
    assert (
        f"deposit_balances/20261001/db.csv: undecodable as gb18030 at byte {len(good)} (line 3)"
        in message
    )


@pytest.mark.parametrize("chunk_mb", [64.0, 0.0005])  # one piece; several
def test_a_utf8_file_with_a_gbk_line_is_refused_not_garbled(reference_bank, land, chunk_mb):
    """GB18030 decodes nearly any bytes, so a UTF-8 file with one GBK line was loaded as
    GB18030 and its UTF-8 rows were stored as other characters, silently. UTF-8 text before
    the first byte that is not UTF-8 makes it a mixed file: refused, with the line."""
    utf8 = "".join(f"20261001,A{i},C001,B001,DD01,CNY,5,杭州银行营业部\n" for i in range(3))
    gbk = "20261001,A9,C001,B001,DD01,CNY,5,杭州银行营业部\n".encode("gbk")
    header = HEADER.rstrip("\n") + ",备注\n"
    land("deposit_balances", "db.csv", (header + utf8).encode() + gbk, count=4)
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": chunk_mb})
    message = refused(settings)
    at = len((header + utf8).encode()) + len("20261001,A9,C001,B001,DD01,CNY,5,")
    assert f"two encodings in one file: UTF-8 up to byte {at} (line 5, after 23" in message
    assert "re-deliver the whole file in one encoding" in message


def test_gbk_file_with_chinese_header_decodes(reference_bank, land):
    text = (
        "余额日期,账号,客户号,开户机构,产品代码,币种,余额,备注\n"
        "20261001,A1,C001,B001,DD01,CNY,5,张三\n"
    )
    land("deposit_balances", "db.txt", text, encoding="gbk")
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files[0].encoding == "gb18030"
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    assert json.loads(raw["_extra"][0]) == {"备注": "张三"}


def _noted(notes: dict[int, str]) -> str:
    """A deposit file with an extra ``note`` column, 40 records, ``notes`` by record."""
    rows = "".join(
        f"20261001,A{i:03d},C001,B001,DD01,CNY,{i}.50,{notes.get(i, '')}\n" for i in range(40)
    )
    return HEADER.rstrip("\n") + ",note\n" + rows


@pytest.mark.parametrize("chunk_mb", [64.0, 0.0005])  # one piece; several
def test_a_gbk_file_that_also_reads_as_utf8_is_refused_not_garbled(reference_bank, land, chunk_mb):
    """陆露 in GBK is C2BD C2B6, valid UTF-8 for ½¶: a GBK file with an English header whose
    only Chinese is such characters was loaded as UTF-8, its names garbled without a word.
    Without a Chinese character in UTF-8 anywhere, the encoding cannot be told: refused."""
    land("deposit_balances", "db.csv", _noted({5: "陆露"}).encode("gbk"), count=40)
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": chunk_mb})
    result = ingest_feed(settings, "deposit_balances", DAY)
    (f,) = result.files
    assert (f.status, f.rule, f.records_kept) == ("refused", "ambiguous_encoding", 0)
    assert store.data_files(settings.raw, "deposit_balances", DAY) == []
    assert (
        "deposit_balances/20261001/db.csv: the encoding cannot be told: the file reads as "
        "UTF-8 and as GBK, and its non-ASCII text (the first at line 7, bytes C2 BD C2 B6)"
    ) in f.message
    assert "set the feed's encoding in feeds.yml" in f.message


def test_utf8_with_a_chinese_character_anywhere_is_utf8(reference_bank, land):
    """A Chinese character in UTF-8 is 3 bytes, never GBK's 2: one in the file's last piece
    settles a file whose other non-ASCII text (é, ü: 2 bytes) reads as GBK too."""
    land(
        "deposit_balances",
        "db.csv",
        _noted({1: "José", 2: "Müller", 38: "张三"}).encode(),
        count=40,
    )
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": 0.0005})
    result = ingest_feed(settings, "deposit_balances", DAY)
    assert result.ok and result.files[0].encoding == "utf-8"
    raw = pl.concat(
        pl.read_parquet(f) for f in store.data_files(settings.raw, "deposit_balances", DAY)
    )
    notes = [json.loads(e)["note"] for e in raw.sort("_source_line")["_extra"]]
    assert (notes[1], notes[2], notes[38]) == ("José", "Müller", "张三")


def test_the_contracts_name_takes_a_column_named_twice(reference_bank, land):
    """开户机构 is the contract's name for a balance's inst_code; 机构号 is the project's
    own alias for it. Beside the contract's name it is an extra column like any other (a
    client's institution next to the account's), kept in ``_extra``: it refused the file."""
    header = "balance_date,account_id,client_id,开户机构,product_code,currency,balance,机构号\n"
    land("deposit_balances", "db.csv", header + "20261001,A1,C001,B001,DD01,CNY,5,H001\n")
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok, result.files[0].message
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    assert raw["inst_code"].to_list() == ["B001"]
    assert json.loads(raw["_extra"][0]) == {"机构号": "H001"}


@pytest.mark.parametrize(
    ("feed", "header", "named"),
    [
        # two names the contract gives it: which one holds the institution cannot be told
        (
            "deposit_balances",
            HEADER.replace("inst_code", "inst_code,开户机构"),
            "'inst_code' and '开户机构'",
        ),
        # two aliases of the project's own and no name of the contract's
        (
            "loan_balances",
            "余额日期,loan_id,客户号,机构号,开户机构,产品代码,余额\n",
            "'机构号' and '开户机构'",
        ),
    ],
)
def test_a_column_named_twice_by_names_of_equal_rank_is_refused(
    reference_bank, land, feed, header, named
):
    land(feed, "f.csv", header)
    message = refused(reference_bank, feed)
    assert f"f.csv: column inst_code appears twice in the header ({named})" in message


def test_wrong_delimiter_is_refused(reference_bank, land):
    land(
        "deposit_balances",
        "db.csv",
        HEADER.replace(",", ";") + "20261001;A1;C001;B001;DD01;CNY;5\n",
    )
    assert "wrong delimiter" in refused(reference_bank)


@pytest.mark.parametrize(
    "text",
    [
        (HEADER + GOOD).replace("\n", "\r"),  # CR-only line ends (an old Mac export)
        HEADER.replace("client_id", "client\rid") + GOOD,  # a stray CR inside the header
    ],
)
def test_a_carriage_return_in_the_header_refuses_the_file_by_name(reference_bank, land, text):
    land("deposit_balances", "db.csv", text, count=40)
    message = refused(reference_bank)
    assert "db.csv: line 1: the header holds a carriage return" in message
    assert "re-deliver it with LF or CRLF line ends" in message


@pytest.mark.parametrize(
    ("bad", "fault"),
    [
        (
            '20261001,A2,C001,B001,"DD01,CNY,5\n',
            "a quoted field opened on this line is never closed",
        ),
        ("20261001,A2,C001,B001,DD01,CNY,5,x,y\n", "9 fields where the header has 7"),
        ('20261001,A2,C001,B001,"DD01"x,CNY,5\n', "malformed quoting"),
        (
            '20261001,A2,C001,B001,DD01 12" X,CNY,5\n',
            "a field not in double quotes holds an odd number of them",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_its_line(reference_bank, land, bad, fault):
    """The sender is told the line and the fault in words, not polars' hints to a developer
    (`infer_schema_length`, `ignore_errors`) with an offset that points elsewhere."""
    land("deposit_balances", "db.csv", HEADER + GOOD[:160] + bad + GOOD[160:], count=41)
    bad_line = 2 + GOOD[:160].count("\n")
    message = refused(reference_bank)
    assert f"not a well-formed ','-delimited file at line {bad_line}: {fault}" in message
    assert "infer_schema" not in message and audit(reference_bank)["message"][0] == message


def test_a_malformed_line_in_a_later_piece_is_located_in_the_file(reference_bank, land):
    """Read in pieces (a large file), the line counts from the file's start."""
    many = "".join(f"20261001,A{i:05d},C001,B001,DD01,CNY,{i}.50\n" for i in range(3000))
    land("deposit_balances", "db.csv", HEADER + many + "20261001,A9,C001,B001,DD01,CNY,5,z\n")
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": 0.02})
    assert "at line 3002: 8 fields where the header has 7" in refused(settings)


def test_missing_column_is_refused(reference_bank, land):
    land(
        "deposit_balances",
        "db.csv",
        HEADER.replace(",balance", "") + "20261001,A1,C001,B001,DD01,CNY\n",
    )
    assert "missing required column(s) balance" in refused(reference_bank)


def test_count_mismatch_is_refused(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + GOOD, count=41)
    assert "control count 41 disagrees with 40 records" in refused(reference_bank)


@pytest.mark.parametrize("control", ["²", "x1", "1.0", "-1", ""])
def test_a_control_file_that_is_not_a_count_is_refused(reference_bank, land, control):
    """'²' is a digit to Python's isdigit() but not to int(): it raised, no audit, the
    feed's other files not taken (bad data never raises)."""
    path = land("deposit_balances", "db.csv", HEADER + GOOD)
    path.with_name("db.csv.ok").write_text(control, encoding="utf-8")
    message = refused(reference_bank)
    assert "db.csv.ok: control file must hold the record count as one integer" in message


@pytest.mark.parametrize("count", ["４０\n", "\ufeff40\r\n"])  # full-width; Notepad's BOM
def test_a_count_written_otherwise_is_a_count(reference_bank, land, count):
    path = land("deposit_balances", "db.csv", HEADER + GOOD)
    path.with_name("db.csv.ok").write_text(count, encoding="utf-8")
    assert ingest_feed(reference_bank, "deposit_balances", DAY).files[0].records_kept == 40


@pytest.mark.parametrize(
    ("extra_header", "extra_values", "kept"),
    [
        (",备注,备注", ",a,b", {"备注": "a", "备注_1": "b"}),
        (",,", ",,", {"": None, "_1": None}),  # a trailing delimiter doubled
    ],
)
def test_extra_columns_under_one_name_are_all_kept(
    reference_bank, land, extra_header, extra_values, kept
):
    """Extra columns are kept in the raw layer (the contract), two under the same header
    text too, as a workbook's are (``备注_1``): such a file was refused as unparseable."""
    rows = "".join(line + extra_values + "\n" for line in GOOD.splitlines())
    land("deposit_balances", "db.csv", HEADER.rstrip("\n") + extra_header + "\n" + rows)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files[0].records_kept == 40
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    assert json.loads(raw["_extra"][0]) == kept


def test_missing_ok_is_pending_not_an_error(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER + GOOD, count=None)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files == [] and result.pending == ["db.csv"]
    assert audit(reference_bank).height == 0


def test_empty_file_is_refused(reference_bank, land):
    land("deposit_balances", "db.csv", b"", count=0)
    assert "empty file (0 bytes, no header)" in refused(reference_bank)


def test_header_only_file_loads_zero_rows(reference_bank, land):
    land("deposit_balances", "db.csv", HEADER, count=0)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files[0].status == "loaded"
    assert result.files[0].records_read == result.files[0].records_kept == 0
    (raw,) = store.data_files(reference_bank.raw, "deposit_balances", DAY)
    assert pl.read_parquet(raw).height == 0


def test_too_many_bad_records_refuses_the_delivery(reference_bank, land):
    bad = "".join(f"20261001,B{i},C001,B001,DD01,CNY,1x{i}\n" for i in range(5))
    land("deposit_balances", "db.csv", HEADER + GOOD + bad)
    message = refused(reference_bank)
    assert "5 of 45 records break rules" in message and "max_bad_share" in message
    assert "rules: parse_decimal:balance x5; lines 42, 43, 44, 45, 46)" in message  # header: 1


def test_an_overdrawn_account_keeps_its_negative_balance(reference_bank, land):
    """The contract sets no sign on a deposit balance (amounts may be negative with a
    leading -), and an overdrawn account's is below zero: the record is kept as delivered,
    thousands separators and spaces included."""
    land(
        "deposit_balances",
        "db.csv",
        HEADER + GOOD + '20261001,A900,C001,B001,DD01,CNY," -1,234.56"\n',
    )
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    assert result.ok and result.files[0].records_quarantined == 0
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "deposit_balances", DAY)[0])
    assert str(raw.filter(pl.col("account_id") == "A900")["balance"].item()) == "-1234.560000"


def test_xlsx_with_blank_rows_and_extra_sheets(reference_bank, settings, land):
    folder = settings.landing / "payroll" / f"{DAY:%Y%m%d}"
    folder.mkdir(parents=True)
    book = xlsxwriter.Workbook(folder / "acme.xlsx")
    sheet = book.add_worksheet("代发")
    sheet.write_row(
        0, 0, ["代发单位客户号", "批次号", "收款账号", "姓名", "身份证号", "金额", "代发日期"]
    )
    sheet.write_row(
        1, 0, ["C002", "B1", "622200001", "张三", "110101199001011234", "8,000.00", "2026-10-01"]
    )
    for row in range(3, 23):  # row 3 (sheet line 3) stays blank
        sheet.write_row(
            row, 0, ["C002", "B1", f"6222{row:05d}", "李四", "110101199001015678", 9000, "20261001"]
        )
    sheet.write_row(
        23, 0, ["C002", "B1", "622200003", "李四", "110101199001015678", 9000, "20261001"]
    )
    book.add_worksheet("notes").write_row(0, 0, ["ignore", "me"])
    book.close()
    (folder / "acme.xlsx.ok").write_text("22")
    result = ingest_feed(settings, "payroll", DAY)
    (f,) = result.files
    assert (f.file_format, f.records_read, f.records_kept, f.records_quarantined) == (
        "xlsx",
        22,
        21,
        1,
    )
    assert quarantine(settings, "payroll")["rules"].to_list() == ["duplicate_key"]
    assert quarantine(settings, "payroll")["_source_line"].to_list() == [24]
    raw = pl.read_parquet(store.data_files(settings.raw, "payroll", DAY)[0])
    assert raw["_source_line"].to_list() == [2, *range(4, 24)]
    assert raw["pay_date"].to_list() == [dt.date(2026, 10, 1)] * 21
    assert str(raw["amount"][0]) == "8000.000000" and raw["account_id"][0] == "622200001"


def test_a_payroll_handed_in_before_or_after_pay_day_is_taken(reference_bank, land):
    """The contract's payroll folder is the day an employer hands the file in, which need
    not be its pay day: a batch handed in a week early, or re-sent after pay day, is a valid
    delivery. A pay date more than the feed's window (31 days) from the hand-in day is
    still quarantined: it is a typing error, not a payroll of this delivery."""
    header = "employer_client_id,batch_id,account_id,employee_name,id_number,amount,pay_date\n"
    pay_dates = ["2026-10-08"] * 40 + ["2026-09-30", "2026-10-01", "2026-08-30", "2026-11-02"]
    rows = [
        f"C002,B1,6222{i:05d},张三,110101199001011234,{8000 + i}.00,{day}\n"
        for i, day in enumerate(pay_dates)
    ]
    land("payroll", "acme.csv", header + "".join(rows))
    result = ingest_feed(reference_bank, "payroll", DAY)
    assert result.ok
    assert_balanced(result)
    (f,) = result.files
    assert (f.records_read, f.records_kept, f.records_quarantined) == (44, 42, 2)
    bad = quarantine(reference_bank, "payroll")
    assert bad["rules"].to_list() == ["date_matches_delivery:pay_date"] * 2
    assert bad["_source_line"].to_list() == [44, 45]
    raw = pl.read_parquet(store.data_files(reference_bank.raw, "payroll", DAY)[0])
    assert dict(raw["pay_date"].value_counts().rows()) == {
        dt.date(2026, 10, 8): 40,
        dt.date(2026, 9, 30): 1,
        dt.date(2026, 10, 1): 1,
    }


@pytest.mark.parametrize("chunk_mb", [64.0, 0.0005])  # one piece; several
@pytest.mark.parametrize("quoted", [False, True])
def test_blank_lines_inside_a_file_are_not_records(reference_bank, land, chunk_mb, quoted):
    """The control count is the number of data records; a blank line holds none, whether
    empty, a Windows line end or white space only, like a blank row of a workbook or the
    blank lines that end a file. It was counted as a record and a valid delivery refused
    ("control count 40 disagrees with 41 records"). A record whose fields are all empty is
    still a record (quarantined), and a blank line inside a quoted field stays in its field.
    Lines keep their numbers in the file."""
    lines = GOOD.splitlines(keepends=True)
    note = '"line one\n\nline three"' if quoted else "plain"
    header = HEADER.rstrip("\n") + ",备注\n"
    body = [line.rstrip("\n") + f",{note}\n" for line in lines]
    text = (
        header
        + "".join(body[:10])
        + "\n"  # line 12
        + "".join(body[10:20])
        + "\r\n   \n"  # lines 23, 24
        + ",,,,,,,\n"  # line 25: a record, every field empty
        + "".join(body[20:])
    )
    land("deposit_balances", "db.csv", text, count=41)
    settings = reference_bank.model_copy(update={"ingest_chunk_mb": chunk_mb})
    result = ingest_feed(settings, "deposit_balances", DAY)
    assert result.ok, result.problems
    (f,) = result.files
    assert (f.status, f.records_read, f.records_kept, f.records_quarantined) == (
        "loaded",
        41,
        40,
        1,
    )
    breaks = 2 if quoted else 0  # each record before spans this many more lines
    bad = quarantine(settings)
    assert bad["_source_line"].to_list() == [25 + 20 * breaks]
    raw = pl.read_parquet(store.data_files(settings.raw, "deposit_balances", DAY)[0])
    expected = [2 + i * (1 + breaks) for i in range(10)]
    expected += [13 + 10 * breaks + i * (1 + breaks) for i in range(10)]
    expected += [26 + 20 * breaks + i * (1 + breaks) for i in range(20)]
    assert raw.sort("_source_line")["_source_line"].to_list() == expected
    if quoted:
        assert set(json.loads(e)["备注"] for e in raw["_extra"]) == {"line one\n\nline three"}


def test_a_control_count_that_counts_blank_lines_is_refused_and_says_so(reference_bank, land):
    lines = GOOD.splitlines(keepends=True)
    land(
        "deposit_balances",
        "db.csv",
        HEADER + "".join(lines[:5]) + "\n\n" + "".join(lines[5:]),
        count=42,
    )
    message = refused(reference_bank)
    assert (
        "control count 42 disagrees with 40 records in the file (2 blank lines are not "
        "records, the first at line 7)"
    ) in message


def test_a_refused_first_delivery_leaves_no_partition_folder(reference_bank, land):
    bad = "".join(f"20261001,B{i},C001,B001,DD01,CNY,1x\n" for i in range(5))
    land("deposit_balances", "db.csv", HEADER + GOOD + bad)
    refused(reference_bank)
    for root in (reference_bank.raw, reference_bank.quarantine):
        assert not store.partition(root, "deposit_balances", DAY).exists()


def test_an_unsupported_file_type_is_refused_with_its_control_count(reference_bank, land):
    land("deposit_balances", "db.pdf", HEADER + GOOD)
    message = refused(reference_bank)
    assert message == (
        "deposit_balances/20261001/db.pdf: unsupported file type '.pdf'; deliver .csv, .txt or "
        ".xlsx"
    )
    assert audit(reference_bank)["control_count"].to_list() == [40]
    assert store.data_files(reference_bank.quarantine, "deposit_balances", DAY) == []


def test_a_long_number_cell_in_a_text_column_of_a_workbook_is_quarantined(settings, land):
    """An employer's payroll workbook with the account and ID numbers typed as numbers:
    Excel keeps 15 significant digits, so 110101199001011234 is stored as 110101199001011000
    and a card number loses its last digits, which the reader cannot tell. Those records are
    quarantined with the rule and the line; the same digits in a text cell, short numbers
    and numbers in number columns are taken."""
    folder = settings.landing / "payroll" / f"{DAY:%Y%m%d}"
    folder.mkdir(parents=True)
    book = xlsxwriter.Workbook(folder / "acme.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(
        0, 0, ["代发单位客户号", "批次号", "收款账号", "姓名", "身份证号", "金额", "代发日期"]
    )
    text = ["C002", "B1", "6222020200001234567", "张三", "110101199001011234", "100", "20261001"]
    for row in range(1, 41):  # text cells throughout: loaded as they are
        sheet.write_row(row, 0, [*text[:2], f"62220202000012{row:05d}", *text[3:]])
    sheet.write_row(41, 0, text)  # the same digits as text: loaded
    sheet.write_row(42, 0, ["C002", "B1", "62220202"])  # a short number cell: exact
    sheet.write_row(42, 3, ["李四", "110101199001015678", 9000.5, "20261001"])
    sheet.write_row(43, 0, ["C002", "B1"])
    sheet.write_number(43, 2, 6222020200001234567)  # a card number typed as a number
    sheet.write_row(43, 3, ["王五", "110101199001015678", 100, "20261001"])
    sheet.write_row(44, 0, ["C002", "B1", "622200009", "赵六"])
    sheet.write_number(44, 4, 110101199001011234)  # an ID number typed as a number
    sheet.write_row(44, 5, [100, "20261001"])
    book.close()
    (folder / "acme.xlsx.ok").write_text("44")
    (f,) = ingest_feed(settings, "payroll", DAY).files
    assert (f.status, f.records_kept, f.records_quarantined) == ("loaded", 42, 2)
    bad = quarantine(settings, "payroll")
    assert bad.select("_source_line", "rules").rows() == [
        (44, "long_number:account_id"),
        (45, "long_number:id_number"),
    ]
    assert "6222020200001234944" in bad["raw_record"][0]  # what the file holds, kept for repair
    raw = pl.read_parquet(store.data_files(settings.raw, "payroll", DAY)[0])
    assert raw.filter(pl.col("_source_line") == 42)["account_id"].to_list() == [text[2]]
    assert raw.filter(pl.col("_source_line") == 43)["account_id"].to_list() == ["62220202"]


def test_a_month_typed_into_a_workbook_is_the_date_cell_excel_made_of_it(settings, land):
    """Typed into Excel, ``2026-10`` becomes the date cell 2026-10-01, which the reader gets
    as ``2026-10-01 00:00:00``: every target of such a workbook broke parse_month and the
    delivery was refused for its bad share. A date cell of another day is no month."""
    rms = "".join(f"RM{i:02d},Z,B001,active\n" for i in range(1, 22))
    land("relationship_managers", "rm.csv", "rm_id,rm_name,inst_code,status\n" + rms)
    land(
        "institutions", "i.csv", "inst_code,inst_name,parent_code,inst_level,region\nB001,B,,1,N\n"
    )
    for feed in ("institutions", "relationship_managers"):
        assert ingest_feed(settings, feed, DAY).ok
    folder = settings.landing / "rm_targets" / f"{DAY:%Y%m%d}"
    folder.mkdir(parents=True)
    book = xlsxwriter.Workbook(folder / "targets.xlsx")
    sheet = book.add_worksheet()
    when = book.add_format({"num_format": "yyyy-mm"})
    sheet.write_row(0, 0, ["月份", "rm_id", "指标", "目标值"])
    for row in range(1, 22):
        sheet.write_datetime(row, 0, dt.datetime(2026, 10, 1), when)
        sheet.write_row(row, 1, [f"RM{row:02d}", "investment_sales", 1000 * row])
    sheet.write_datetime(22, 0, dt.datetime(2026, 10, 15), when)  # a day, not a month
    sheet.write_row(22, 1, ["RM01", "activity_count", 20])
    book.close()
    (folder / "targets.xlsx.ok").write_text("22")
    (f,) = ingest_feed(settings, "rm_targets", DAY).files
    assert (f.status, f.records_kept, f.records_quarantined) == ("loaded", 21, 1), f.message
    raw = pl.read_parquet(store.data_files(settings.raw, "rm_targets", DAY)[0])
    assert raw["month"].to_list() == [DAY] * 21
    assert quarantine(settings, "rm_targets").select("_source_line", "rules").rows() == [
        (23, "parse_month:month")
    ]


def test_the_same_content_under_a_second_name_is_refused_not_counted_twice(reference_bank, land):
    """A feed may deliver several files for a date, and identical content arriving again
    must change nothing: ``db_resend.csv``, a copy of ``db.csv`` delivered after it, loaded
    its records a second time (a balance or a transaction counted twice). The copy is
    refused, naming the file it repeats; two empty files are no harm and both load."""
    first = land("deposit_balances", "db.csv", HEADER + GOOD)
    copy = land("deposit_balances", "db_resend.csv", HEADER + GOOD)
    for path, when in ((first, 1_790_000_000), (copy, 1_790_000_060)):
        for p in (path, path.with_name(path.name + ".ok")):
            os.utime(p, (when, when))
    land("deposit_balances", "empty_a.csv", HEADER)
    land("deposit_balances", "empty_b.csv", HEADER)
    result = ingest_feed(reference_bank, "deposit_balances", DAY)
    outcome = {f.file_name: (f.status, f.rule) for f in result.files}
    assert outcome == {
        "db.csv": ("loaded", None),
        "db_resend.csv": ("refused", "duplicate_content"),
        "empty_a.csv": ("loaded", None),
        "empty_b.csv": ("loaded", None),
    }
    (copied,) = [f for f in result.files if f.file_name == "db_resend.csv"]
    assert copied.message == (
        "deposit_balances/20261001/db_resend.csv: the same content as db.csv, delivered for "
        "the same date before it: its 40 records would count twice; remove one of the two "
        "files, or re-deliver this one with its own records"
    )
    raw = pl.concat(
        pl.read_parquet(f) for f in store.data_files(reference_bank.raw, "deposit_balances", DAY)
    )
    assert raw.height == 40
    again = ingest_feed(reference_bank, "deposit_balances", DAY)  # a re-run changes nothing
    assert {f.file_name: (f.status, f.rule) for f in again.files}["db_resend.csv"] == (
        "refused",
        "unchanged_refusal",
    )
