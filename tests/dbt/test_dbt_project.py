"""The dbt project end to end on the tiny raw layer of conftest.py.

dbt invocations are few (each costs seconds): one parse without a warehouse, one full
`dbt build` (models, seeds, data tests, unit tests), then a fresh warehouse built the
nightly way (a range, then the next two dates) plus a re-run of one date, compared with the
full build. Expected figures are computed by hand from the fixture (see conftest.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dbt_small_bank import (
    DAYS,
    PSEUDONYM_KEY,
    duckdb_output,
    query,
    run_dbt,
    warehouse_config,
    write_raw_file,
)

SELECTION = [
    "--select",
    "+mart_client_breakdown",
    "+mart_client_assets_monthly",
    "+dim_client",
    "ingest_audit",
    "quarantine_records",
]
MARTS = {
    "mart_client_assets_monthly": "client_id, month_start",
    "mart_client_breakdown": "period_type, period_start, inst_level, inst_code, band_type, band, "
    "product_family, product_group",
    "int_account_balance_monthly": "account_id, month_start",
    "fct_deposit_balance_daily": "account_id, balance_date",
    "dim_client": "client_id",
}


def _vars(start: str, end: str) -> list[str]:
    return ["--vars", json.dumps({"start_date": start, "end_date": end})]


def _window(start: str, end: str) -> dict[str, str]:
    """The run window as the pipeline passes it: environment variables read when executing,
    so a changed window does not make dbt re-parse the project (a changed --vars does)."""
    return {"CLIENTMART_RUN_START_DATE": start, "CLIENTMART_RUN_END_DATE": end}


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    return {t: query(warehouse, f"select * from {t} order by {k}") for t, k in MARTS.items()}


@pytest.fixture(scope="module")
def built(small_bank: dict) -> dict:
    """Parse without a warehouse, then one full build of the CORE models and their tests."""
    env = dict(small_bank["env"])
    absent = small_bank["root"] / "no_such_dir" / "never.duckdb"
    parsed = run_dbt(["parse"], {**env, "DBT_CLIENTMART_WAREHOUSE_PATH": str(absent)})
    assert parsed.success
    assert not absent.exists()
    result = run_dbt(["build", *SELECTION], env)
    failures = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in result.results
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, failures
    statuses = {r.node.unique_id: str(r.status) for r in result.results}
    return {**small_bank, "snapshot": _snapshot(small_bank["warehouse"]), "statuses": statuses}


def test_build_ran_unit_and_consistency_tests(built: dict) -> None:
    """The build really ran the singular consistency tests and the unit tests (not skipped)."""
    statuses = built["statuses"]
    for name in [
        "breakdown_rollups_equal_sum_of_children",
        "breakdown_shares_sum_to_one",
        "breakdown_client_counts_are_distinct",
        "breakdown_product_and_band_totals",
    ]:
        assert statuses[f"test.clientmart.{name}"] == "pass"
    unit = {k: v for k, v in statuses.items() if k.startswith("unit_test.clientmart.")}
    for name in [
        "month_accumulation_over_two_months",
        "settlement_counts_only_settlement_types_of_corporates",
        "settlement_state_counts_each_transaction_once_as_delivered_last",
        "settlement_state_appends_the_next_date",
        "settlement_state_sums_the_month_again_after_a_correction",
        "corporate_bands_and_grades_at_their_edges",
        "client_loans_leave_out_guarantees",
        "dim_client_recomputes_the_clients_a_run_touches",
        "client_month_is_the_latest_record_on_the_month_last_loaded_day",
        "fx_rates_keep_ten_decimals",
        "fx_conversion_uses_the_rate_to_ten_decimals",
    ]:
        assert [v for k, v in unit.items() if k.endswith("." + name)] == ["pass"]


def test_client_assets_hand_computed(built: dict) -> None:
    rows = query(
        built["warehouse"],
        "select client_id, month_start, deposit_month_end_cny, deposit_daily_avg_cny, "
        "wealth_month_end_cny, wealth_daily_avg_cny, is_month_complete "
        "from mart_client_assets_monthly",
    )
    got = {(r[0], r[1].isoformat()): r[2:] for r in rows}
    d = Decimal
    # C001: 1000 + 5000 CNY in two sub-branches. The bank's data begins on 2026-01-30, so
    # January averages its 2 delivered days (the 1st to the 29th are unknown, not zero)
    assert got[("C001", "2026-01-01")] == (
        d("6000.00"),
        d("1000.00") + d("5000.00"),
        d("60000.00"),
        d("60000.00"),  # 120000 / 2
        False,  # January ran to its 31st but only 2 of its days were ever loaded
    )
    # C002: USD 100 at 7.12345 (712.345 -> 712.35 half-up) and 7.10 -> 1422.35 / 2 = 711.175
    assert got[("C002", "2026-01-01")][:2] == (d("710.00"), d("711.18"))
    # C003: account closed after 2026-02-01: month-end 0, average 2,000,000 / 2 days
    assert got[("C003", "2026-02-01")][:2] == (d("0.00"), d("1000000.00"))
    assert got[("C003", "2026-02-01")][4] is False  # February is month-to-date
    # C004: opened on 2026-02-02 with 300: average 300 / 2
    assert got[("C004", "2026-02-01")][:2] == (d("300.00"), d("150.00"))


def test_fx_conversion_half_up_per_account_day(built: dict) -> None:
    rows = query(
        built["warehouse"],
        "select balance_date, balance_cny from fct_deposit_balance_daily "
        "where account_id = 'A3' order by balance_date",
    )
    assert [r[1] for r in rows] == [
        Decimal("712.35"),
        Decimal("710.00"),
        Decimal("720.00"),
        Decimal("725.00"),
    ]


def test_breakdown_counts_a_client_once_per_level(built: dict) -> None:
    rows = query(
        built["warehouse"],
        "select inst_code, client_count, client_share, account_count, account_share, "
        "period_end_balance_cny, period_end_balance_change_cny "
        "from mart_client_breakdown where period_type = 'month' and period_start = '2026-02-01' "
        "and band_type = 'all' and product_family = 'deposit' and product_group = 'all' "
        "and inst_level in (1, 2, 3)",
    )
    got = {r[0]: r[1:] for r in rows}
    # C001 holds accounts in SB11 and SB12: once in each, once at BR1 (C001, C003, C004)
    assert got["SB11"][0] == 3 and got["SB12"][0] == 1 and got["BR1"][0] == 3
    assert got["SB12"][1] == pytest.approx(1 / 3)
    assert got["SB11"][2] + got["SB12"][2] == got["BR1"][2] == 4
    # head office: 1000 + 5000 + 725 + 0 (closed) + 300; January ended at 2,006,710
    assert got["HO"][4] == Decimal("7025.00")
    assert got["HO"][5] == Decimal("7025.00") - Decimal("2006710.00")


def test_corporate_band_and_grade(built: dict) -> None:
    rows = query(
        built["warehouse"],
        "select month_start, settlement_amount_cny, settlement_band, loan_balance_band, grade "
        "from int_corporate_grade_monthly where client_id = 'C003' order by month_start",
    )
    # January: transfer 3,000,000 + cash 2,500,000 (interest 10 does not count); loans 8M
    assert rows[0][1:] == (Decimal("5500000.00"), "5m_10m", "5m_10m", "quasi_key")
    assert rows[1][1:] == (Decimal("1200000.00"), "1m_5m", "5m_10m", "quasi_key")


def test_no_personal_data_in_clear_text(built: dict) -> None:
    clear = ["张三丰", "13812345678", "110101199001011234", "Li Si", "某某有限公司"]
    tables = query(
        built["warehouse"],
        "select table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_name not in ('quarantine_records')",
    )
    leaks = []
    for table, column in tables:
        for value in clear:
            hits = query(
                built["warehouse"],
                f'select count(*) from "{table}" where "{column}" = \'{value}\'',
            )
            if hits[0][0]:
                leaks.append((table, column, value))
    assert not leaks


def test_the_pseudonym_key_is_written_nowhere(built: dict, small_bank: dict) -> None:
    """The key was a literal in the hashing SQL, so it sat in manifest.json, run_results.json,
    compiled SQL, dbt's log and the staging views' definitions, where anyone who reads
    target/ (dbt docs serve serves it) could recompute a published id_number_key. It now
    reaches DuckDB as a function (clientmart/pseudonym_key.py), and the hashes are as before."""
    import hashlib

    key = PSEUDONYM_KEY.encode()
    files = [p for p in small_bank["root"].rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files)
    assert any(p.suffix == ".log" for p in files)
    assert [p for p in files if key in p.read_bytes()] == []
    views = query(
        built["warehouse"], "select view_name from duckdb_views() where sql like '%sha256%'"
    )
    assert {v for (v,) in views} == {"stg_core__clients", "stg_payroll__payments"}
    (hashed,) = query(
        built["warehouse"], "select id_number_key from dim_client where client_id = 'C001'"
    )[0]
    assert hashed == hashlib.sha256(key + b"110101199001011234").hexdigest()


def test_quarantine_and_audit_are_readable(built: dict) -> None:
    quarantined = query(
        built["warehouse"], "select feed, source_line, rules from quarantine_records"
    )
    assert quarantined == [("clients", 9, "not_null:client_id;allowed_values:client_type")]
    audit = query(
        built["warehouse"],
        "select feed, records_read, records_kept + records_quarantined from ingest_audit",
    )
    assert audit == [("clients", 5, 5)]


def _own_warehouse(built: dict, warehouse: Path) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the small bank's raw layer beside ``warehouse`` (new, empty) and the dbt
    environment for both: a test that writes deliveries or builds nights of its own."""
    raw = warehouse.parent / "raw"
    shutil.copytree(built["raw"], raw)
    env = {
        **built["env"],
        "DBT_CLIENTMART_WAREHOUSE_PATH": str(warehouse),
        "DBT_CLIENTMART_RAW_ROOT": str(raw),
    }
    return raw, warehouse, env


def test_nightly_runs_equal_the_full_build(built: dict, tmp_path: Path) -> None:
    """A range, then a date range, then one date re-run: same marts as the full build.

    Then a corrected delivery of 2026-02-01 (A1 1000 -> 1500, A4 dropped) re-run alone
    replaces that day in the month accumulation instead of adding to it; a corrected client
    file of 2026-02-02 updates one client and drops another; then a late correction of
    January (after February ran) re-run alone equals a full build.
    """
    raw, warehouse, env = _own_warehouse(built, tmp_path / "nightly.duckdb")
    first, last = DAYS[0].isoformat(), DAYS[-1].isoformat()
    steps = [
        _window(first, DAYS[1].isoformat()),
        _window(DAYS[2].isoformat(), last),
        _window(last, last),
    ]
    seeded = run_dbt(["seed"], env)
    assert seeded.success
    for step in steps:
        assert run_dbt(["run", *SELECTION], {**env, **step}).success
    assert _snapshot(warehouse) == built["snapshot"]

    corrected = DAYS[2]
    write_raw_file(
        raw,
        "deposit_balances",
        corrected,
        [
            {
                "balance_date": corrected,
                "account_id": "A1",
                "client_id": "C001",
                "inst_code": "SB11",
                "product_code": "DD_CNY",
                "currency": "CNY",
                "balance": "1500.00",
            }
        ],
    )
    assert run_dbt(
        ["run", *SELECTION], {**env, **_window(corrected.isoformat(), corrected.isoformat())}
    ).success
    rows = query(
        warehouse,
        "select account_id, balance_sum_cny, daily_avg_balance_cny, days_with_balance "
        "from int_account_balance_monthly where month_start = '2026-02-01' "
        "and account_id in ('A1', 'A4') order by account_id",
    )
    # A1: 1500 (corrected day) + 1000 = 2500 over 2 days; A4's only February day is gone
    assert rows == [("A1", Decimal("2500.00"), Decimal("1250.00"), 2)]

    # Client corrections for 2026-02-02. First a file where C001 changes RM (none now) and a
    # new client C005 appears; then a corrected one without C005, whom only that file held,
    # and without C004, whose record of 2026-01-30 is then current again. dim_client is
    # incremental by client: each re-run of the date updates and removes what it must.
    last_day = DAYS[-1]
    c001 = {
        "client_id": "C001",
        "client_type": "I",
        "name": "张三丰",
        "id_number": "110101199001011234",
        "phone": "13812345678",
        "open_date": DAYS[0],
        "inst_code": "SB11",
        "rm_id": None,
    }
    c005 = {**c001, "client_id": "C005", "name": "赵六", "id_number": "110101199202021111"}
    day = last_day.isoformat()
    dim_client = "select client_id, rm_id, last_delivered_date from dim_client order by 1"
    write_raw_file(raw, "clients", last_day, [c001, c005])
    assert run_dbt(["run", *SELECTION], {**env, **_window(day, day)}).success
    assert [row[0] for row in query(warehouse, dim_client)] == [
        "C001",
        "C002",
        "C003",
        "C004",
        "C005",
    ]
    write_raw_file(raw, "clients", last_day, [c001])
    assert run_dbt(["run", *SELECTION], {**env, **_window(day, day)}).success
    assert query(warehouse, dim_client) == [
        ("C001", "UNKNOWN", last_day),
        ("C002", "UNKNOWN", DAYS[0]),
        ("C003", "RM1", DAYS[0]),
        ("C004", "UNKNOWN", DAYS[0]),
    ]

    # January is corrected after February ran: re-running that date alone must give the
    # same month, quarter and year figures (and February's change against January) as a
    # full build of the corrected data (quarter and year are kept in month slots).
    corrected = DAYS[1]  # 2026-01-31, January's month end
    write_raw_file(
        raw,
        "deposit_balances",
        corrected,
        [
            {
                "balance_date": corrected,
                "account_id": account,
                "client_id": client,
                "inst_code": inst,
                "product_code": product,
                "currency": "CNY",
                "balance": balance,
            }
            for account, client, inst, product, balance in [
                ("A1", "C001", "SB11", "DD_CNY", "1000.00"),
                ("A2", "C001", "SB12", "TD_CNY", "8000.00"),  # was 5000
            ]  # A3 and A4 missing from the corrected file
        ],
    )
    day = corrected.isoformat()
    assert run_dbt(["run", *SELECTION], {**env, **_window(day, day)}).success

    full = tmp_path / "full.duckdb"
    full_env = {**env, "DBT_CLIENTMART_WAREHOUSE_PATH": str(full)}
    assert run_dbt(["seed"], full_env).success
    assert run_dbt(["run", *SELECTION], full_env).success

    nightly_snapshot, full_snapshot = _snapshot(warehouse), _snapshot(full)
    assert nightly_snapshot == full_snapshot
    # and the correction really reached February's change and the quarter: A2 (SB12) held
    # 5000 a day, 8000 on the corrected January 31st, nothing on the corrected February 1st
    sb12 = (
        "select period_end_balance_cny, previous_period_end_balance_cny, balance_sum_cny "
        "from mart_client_breakdown where inst_code = 'SB12' and inst_level = 3 "
        "and band_type = 'all' and product_family = 'deposit' and product_group = 'all' "
    )
    february = query(warehouse, sb12 + "and period_type = 'month' and period_start = '2026-02-01'")
    assert february == [(Decimal("5000.00"), Decimal("8000.00"), Decimal("5000.00"))]
    quarter = query(warehouse, sb12 + "and period_type = 'quarter'")
    assert quarter == [(Decimal("5000.00"), None, Decimal("18000.00"))]


def test_a_client_counted_twice_in_the_breakdown_fails_its_check(
    built: dict, tmp_path: Path
) -> None:
    """breakdown_client_counts_are_distinct counts each cell's clients again from the
    positions: a copy of the built warehouse whose mart counts one client too many at a branch
    fails it on that cell alone."""
    warehouse = tmp_path / "tampered.duckdb"
    query(built["warehouse"], "checkpoint")  # dbt's open instance may hold the build in its WAL
    shutil.copy(built["warehouse"], warehouse)
    cell = (
        "period_type = 'month' and inst_level = 2 and band_type = 'all' "
        "and product_group = 'all' and account_count > 0"
    )
    con = duckdb.connect(str(warehouse), config=warehouse_config())
    try:
        con.execute(
            "update mart_client_breakdown set client_count = client_count + 1 "
            f"where rowid = (select min(rowid) from mart_client_breakdown where {cell})"
        )
    finally:
        con.close()
    env = {**built["env"], "DBT_CLIENTMART_WAREHOUSE_PATH": str(warehouse)}
    result = run_dbt(["test", "--select", "breakdown_client_counts_are_distinct"], env)
    assert not result.success
    [outcome] = [r for r in result.results if r.node.resource_type == "test"]
    assert str(outcome.status) == "fail" and outcome.failures == 1


def test_data_tests_of_a_nightly_run_read_only_the_run_window(built: dict) -> None:
    """A model's meta.test_window filters its data tests to the rows a run writes
    (macros/test_where.sql): a nightly run of one date does not re-test all history."""
    compiled = run_dbt(
        [
            "compile",
            "--select",
            "fct_deposit_balance_daily,resource_type:test",
            "int_account_balance_monthly,resource_type:test",
            "int_breakdown_cells,resource_type:test",
            "dim_institution,resource_type:test",
            # the singular consistency tests of the breakdown
            "breakdown_client_counts_are_distinct",
            "breakdown_product_and_band_totals",
            "breakdown_rollups_equal_sum_of_children",
            "breakdown_shares_sum_to_one",
            *_vars("2026-02-02", "2026-02-02"),
        ],
        built["env"],
    )
    assert compiled.success
    sql = {r.node.name: " ".join(r.node.compiled_code.split()) for r in compiled.results}
    daily = [s for n, s in sql.items() if "fct_deposit_balance_daily" in n]
    monthly = [s for n, s in sql.items() if "int_account_balance_monthly" in n]
    cells = [s for n, s in sql.items() if "int_breakdown_cells" in n]
    reference = [s for n, s in sql.items() if "dim_institution" in n]
    assert daily and monthly and cells and reference
    assert all(
        "balance_date between cast('2026-02-02' as date) and cast('2026-02-02' as date)" in s
        for s in daily
    )
    assert all("month_start >= cast(" in s and "2026-02-02" in s for s in monthly)
    assert all("period_type = 'year'" in s for s in cells)
    assert not any("2026-02-02" in s for s in reference)  # tested whole
    singular = [s for n, s in sql.items() if n.startswith("breakdown_")]
    assert len(singular) == 4
    assert all("cast('2026-02-02' as date)" in s for s in singular)


def test_the_build_runs_under_the_configured_memory_limit(built: dict) -> None:
    """DBT_CLIENTMART_MEMORY_LIMIT (Settings.warehouse_memory_limit) reaches DuckDB, so a
    large night spills to disk instead of taking the machine's memory."""
    shown = run_dbt(
        ["show", "--inline", "select current_setting('memory_limit') as memory_limit"],
        {**built["env"], "DBT_CLIENTMART_MEMORY_LIMIT": "1GB"},
    )
    assert shown.success
    table = shown.results[0].agate_table
    assert table.rows[0][0] in ("953.6 MiB", "1.0 GB", "1GB")


def test_the_memory_limit_is_given_once_when_the_warehouse_opens() -> None:
    """The build's memory limit is a DuckDB config option of the connection dbt opens, not a
    profile `setting`: dbt-duckdb runs each setting as a SET on every cursor it opens (one per
    node, 179 a night), and each SET memory_limit applies the limit to the buffer pool again,
    which took 1.9 s of the dbt threads' time in a 1M night (docs/benchmark.md, "The memory
    limit set once")."""
    output = duckdb_output()
    assert "memory_limit" in output["config_options"]
    assert "memory_limit" not in (output.get("settings") or {})


@pytest.mark.parametrize(
    ("start", "end", "statement"),
    [
        ("2026-02-02", "2026-02-02", "set max_vacuum_tasks = 0"),  # a night inside a month
        ("2026-02-01", "2026-02-01", "reset max_vacuum_tasks"),  # a month's first night
        ("2026-02-01", "2026-02-02", "reset max_vacuum_tasks"),  # a range
    ],
)
def test_only_a_night_inside_a_month_skips_the_vacuum(
    built: dict, start: str, end: str, statement: str
) -> None:
    """The on-run-start hook vacuum_policy: a one-date run that is not a month's first day
    checkpoints without vacuuming; the others vacuum and take the deleted rows back."""
    compiled = run_dbt(
        ["compile", "--inline", "{{ vacuum_policy() }}"], {**built["env"], **_window(start, end)}
    )
    assert compiled.success
    assert compiled.results[0].node.compiled_code.strip() == statement
    # the window given by hand as --vars (YAML reads the dates as dates) decides the same
    by_hand = run_dbt(
        [
            "compile",
            "--inline",
            "{{ vacuum_policy() }}",
            "--vars",
            f"{{start_date: {start}, end_date: {end}}}",
        ],
        built["env"],
    )
    assert by_hand.success
    assert by_hand.results[0].node.compiled_code.strip() == statement


def test_a_ratio_rounds_its_exact_quotient_half_up(built: dict) -> None:
    """macros ratio(): the published ratios and the front-loaded plan round the exact
    quotient half away from zero. A DOUBLE quotient does not: DuckDB 2.0 rounds 139500 /
    320000 = 0.4359375 to 0.435937 and 2.675 to 2.67 (the binary values lie just below)."""
    cases = [
        ("139500.00", "320000.00", 6, "0.435938"),
        ("187700.00", "320000.00", 6, "0.586563"),
        ("-4837229.25", "3500000.00", 6, "-1.382066"),
        ("2.675", "1", 2, "2.68"),
        ("-2.675", "1", 2, "-2.68"),
        ("1.005", "1", 2, "1.01"),
        ("2", "3", 6, "0.666667"),
        ("1", "-3", 6, "-0.333333"),
        ("5", "0", 6, None),
        ("null", "2", 6, None),
        # a bank's year of 积数 over a client count: far beyond DOUBLE's 16 digits
        ("123456789012345678.25", "7", 2, "17636684144620811.18"),
    ]
    columns = ", ".join(
        "{{ ratio('cast(" + n + " as decimal(38, 3))', 'cast(" + d + " as decimal(24, 2))', "
        f"scale={scale}) }}}} as r{i}"
        for i, (n, d, scale, _) in enumerate(cases)
    )
    shown = run_dbt(["show", "--inline", f"select {columns}"], built["env"])
    assert shown.success
    got = [None if v is None else str(v) for v in shown.results[0].agate_table.rows[0]]
    assert got == [expected for *_, expected in cases]


def test_a_new_warehouse_is_written_in_the_current_storage_format(built: dict) -> None:
    """profiles.yml's config_options reach DuckDB when dbt creates the warehouse: its
    current storage format (DICT_FSST string compression) writes the nightly's large
    tables with less CPU than the 0.10-compatible default."""
    tags = query(
        built["warehouse"],
        "select tags['storage_version'] from duckdb_databases() where not internal",
    )
    assert tags[0][0].startswith("v1.5"), tags
    # rows still in memory are uncompressed: dbt's in-process DuckDB instance (shared by
    # query) checkpoints only when its log is large, which depends on what ran before
    query(built["warehouse"], "checkpoint")
    methods = {
        row[0]
        for row in query(
            built["warehouse"],
            "select distinct compression from pragma_storage_info('fct_deposit_balance_daily')",
        )
    }
    assert "DICT_FSST" in methods, methods


def test_column_rules_check_every_rule_of_a_model_in_one_test(built: dict) -> None:
    """A model's not_null and accepted_values rules are one test (macros/test_column_rules.sql)
    that passed in the build, and on broken rows it names each broken rule: the column, the
    rule, the breaking rows and an offending value (a null passes accepted_values)."""
    for model in ("fct_deposit_balance_daily", "mart_client_breakdown", "dim_client"):
        ran = [
            status
            for node, status in built["statuses"].items()
            if node.startswith(f"test.clientmart.column_rules_{model}.")
        ]
        assert ran == ["pass"], model
    rows = (
        "(select * from (values (1, 'a', true), (null, 'b', false), (null, 'zz', null), "
        "(4, null, true)) as t(id, kind, flag))"
    )
    shown = run_dbt(
        [
            "show",
            "--inline",
            '{{ test_column_rules(model="' + rows + ' as rows", not_null=["id", "kind"], '
            "accepted_values={'kind': ['a', 'b'], 'flag': [true]}) }}",
        ],
        built["env"],
    )
    assert shown.success
    broken = sorted(tuple(row) for row in shown.results[0].agate_table.rows)
    assert broken == [
        ("flag", "accepted_values", 1, "false"),
        ("id", "not_null", 2, None),
        ("kind", "accepted_values", 1, "zz"),
        ("kind", "not_null", 1, None),
    ]


def _plan_nodes(plan: list | dict) -> Iterator[dict]:
    """Every operator of a DuckDB physical plan (EXPLAIN (FORMAT JSON))."""
    for node in plan if isinstance(plan, list) else [plan]:
        yield node
        yield from _plan_nodes(node.get("children", []))


def _cte_names(plan: list | dict) -> set[str]:
    """Names of the CTEs a DuckDB physical plan materializes."""
    return {
        node.get("extra_info", {}).get("CTE Name", "")
        for node in _plan_nodes(plan)
        if node.get("name") == "CTE"
    }


@pytest.mark.parametrize(
    ("start", "end"), [("2026-02-02", "2026-02-02"), ("2026-01-01", "2026-02-02")]
)
def test_month_accumulations_do_not_hold_the_day_rows_in_a_materialized_cte(
    built: dict, start: str, end: str
) -> None:
    """DuckDB materializes a CTE referenced twice. The balance accumulation's day-row CTEs
    are inlined (macro inline_cte): materialized, half a month at 1M clients (38M day rows)
    spilled more than 22 GB, and a month filled the disk (docs/benchmark.md, 2026-12-04)."""
    models = [
        "int_account_balance_monthly",
        "int_holding_value_monthly",
        "int_loan_balance_monthly",
    ]
    compiled = run_dbt(["compile", "--select", *models], {**built["env"], **_window(start, end)})
    assert compiled.success
    plans = {
        r.node.name: json.loads(
            query(built["warehouse"], f"explain (format json) {r.node.compiled_code}")[0][1]
        )
        for r in compiled.results
        if r.node.name in models
    }
    assert set(plans) == set(models)
    day_ctes = {"window_rows", "new_rows", "new_days", "day_states"}
    for name, plan in plans.items():
        materialized = _cte_names(plan)
        assert materialized, name  # the plan is read: small CTEs (the plan of months) stay
        assert not materialized & day_ctes, (name, materialized)


def _reads_rows_directly(node: dict) -> bool:
    """Whether an operator is a scan, or only projects or filters one: the rows themselves,
    not an aggregate of them."""
    while node.get("name") in ("PROJECTION", "FILTER") and len(node.get("children", [])) == 1:
        node = node["children"][0]
    return node.get("name") in ("READ_PARQUET", "SEQ_SCAN", "TABLE_SCAN")


def _month_only_conditions(join: dict) -> bool:
    conditions = join.get("extra_info", {}).get("Conditions", [])
    conditions = [conditions] if isinstance(conditions, str) else conditions
    return bool(conditions) and all(
        c.replace(" ", "") == "month_start=month_start" for c in conditions
    )


@pytest.mark.parametrize(
    ("start", "end", "full_refresh"),
    [
        ("2026-01-01", "2026-02-02", True),  # a first build: every month recomputed
        ("2026-02-02", "2026-02-02", False),  # a night
        ("2026-01-01", "2026-02-02", False),  # a range over stored months
    ],
)
def test_month_states_filter_their_rows_by_the_plan_instead_of_joining_it(
    built: dict, start: str, end: str, full_refresh: bool
) -> None:
    """The month states pick the rows of the months they append or recompute with a filter
    (macro in_planned_months), never a hash join of the rows to `plan` on month_start: all of a
    month's rows share that one key, and when DuckDB built the join on them (its estimates
    inverted) they sat in one hash partition that cannot spill. A 31-day range at 1M clients
    failed so, Out of Memory at 3 GB in int_client_settlement_state (docs/benchmark.md,
    "A month as one range ran out of memory")."""
    models = [
        "int_client_settlement_state",
        "int_account_balance_monthly",
        "int_holding_value_monthly",
        "int_loan_balance_monthly",
    ]
    args = ["compile", "--select", *models, *(["--full-refresh"] if full_refresh else [])]
    compiled = run_dbt(args, {**built["env"], **_window(start, end)})
    assert compiled.success
    sqls = {r.node.name: r.node.compiled_code for r in compiled.results if r.node.name in models}
    assert set(sqls) == set(models)
    for name, sql in sqls.items():
        plan = json.loads(query(built["warehouse"], f"explain (format json) {sql}")[0][1])
        joins = [n for n in _plan_nodes(plan) if n.get("name") == "HASH_JOIN"]
        assert joins, name  # the plan is read: the states still join their rows by entity
        month_joins_on_rows = [
            j["extra_info"]
            for j in joins
            if _month_only_conditions(j) and any(map(_reads_rows_directly, j["children"]))
        ]
        assert month_joins_on_rows == [], name


MONTH_STATE_DAY_SOURCES = {
    # month state -> the relation its day rows come from, and that relation's date column
    "int_account_balance_monthly": ("fct_deposit_balance_daily", "balance_date"),
    "int_holding_value_monthly": ("stg_wealth__holdings", "business_date"),
    "int_loan_balance_monthly": ("stg_core__loan_balances", "business_date"),
    "int_client_settlement_state": ("stg_core__deposit_transactions", "business_date"),
}


def test_a_night_that_appends_reads_only_its_own_day(built: dict, tmp_path: Path) -> None:
    """A night appended to the open month reads its own day's rows and no earlier day of the
    month. The plan is decided before the statement (macro decided_month_plan), so the branch
    that would sum a month again is left out of a night's statement: written as a filter on
    the plan, it still read every day of the month to date in vain (at 1M clients on the
    14th: 34M rows of the daily fact, 2.0 of int_account_balance_monthly's 4.4 s; 2026-12-05,
    docs/benchmark.md)."""
    raw, warehouse, env = _own_warehouse(built, tmp_path / "night.duckdb")
    assert run_dbt(["seed"], env).success
    first, night = DAYS[2].isoformat(), DAYS[3].isoformat()  # 02-01, then 02-02
    assert run_dbt(["run", *SELECTION], {**env, **_window(first, first)}).success
    # the small bank has no transaction on 2026-02-02: one for the settlement state's
    # night, delivered after 02-01 ran (a recomputed month reads every delivery of it)
    write_raw_file(
        raw,
        "deposit_transactions",
        DAYS[3],
        [
            {
                "txn_id": "T5",
                "txn_date": DAYS[3],
                "account_id": "A4",
                "client_id": "C003",
                "amount": "40000.00",
                "direction": "C",
                "txn_type": "transfer",
                "channel": "online",
                "counterparty": "某公司",
            }
        ],
    )
    models = list(MONTH_STATE_DAY_SOURCES)
    night_env = {**env, **_window(night, night)}
    # the night's day rows, without the month states themselves
    assert run_dbt(["run", *SELECTION, "--exclude", *models], night_env).success
    compiled = run_dbt(["compile", "--select", *models], night_env)
    assert compiled.success
    sqls = {r.node.name: r.node.compiled_code for r in compiled.results if r.node.name in models}
    assert set(sqls) == set(models)
    for name, sql in sqls.items():
        source, date_column = MONTH_STATE_DAY_SOURCES[name]
        ((night_rows,),) = query(
            warehouse, f"select count(*) from {source} where {date_column} = '{night}'"
        )
        ((month_rows,),) = query(
            warehouse,
            f"select count(*) from {source} where {date_column} between '{first}' and '{night}'",
        )
        assert 0 < night_rows < month_rows, (name, night_rows, month_rows)
        profile = json.loads(query(warehouse, f"explain (analyze, format json) {sql}")[0][1])
        scans = [
            n
            for n in _plan_nodes(profile["operator"])  # DuckDB 2: the plan under "operator"
            if n.get("name", "").strip() in ("TABLE_SCAN", "SEQ_SCAN", "READ_PARQUET")
            and n.get("extra_info", {}).get("Table", source).split(".")[-1] == source
        ]
        read = [int(n.get("intermediate_rows", 0)) for n in scans]
        assert read, name  # the profile is read: the night's rows are scanned
        assert max(read) == night_rows, (name, read, night_rows)


def test_the_month_states_compile_before_anything_is_built(built: dict, tmp_path: Path) -> None:
    """`dbt compile` and `dbt docs generate` work on a warehouse where nothing is built yet:
    with the relations the plan reads missing, a month state keeps its plan in the statement
    instead of deciding it first (a query on them failed both commands)."""
    env = {**built["env"], "DBT_CLIENTMART_WAREHOUSE_PATH": str(tmp_path / "empty.duckdb")}
    compiled = run_dbt(["compile", "--select", *MONTH_STATE_DAY_SOURCES], env)
    assert compiled.success
    sqls = [
        r.node.compiled_code for r in compiled.results if r.node.name in MONTH_STATE_DAY_SOURCES
    ]
    assert len(sqls) == len(MONTH_STATE_DAY_SOURCES)
    assert all("window_months as (" in sql for sql in sqls)  # the plan's own CTEs


def test_the_breakdown_folds_its_period_sources_without_full_outer_joins(built: dict) -> None:
    """int_breakdown_cells meets the month's positions and bands with the quarter's and year's
    prior ones in a union grouped by key: two full outer joins held both prior sides in hash
    tables beside the month's, twice the memory, and at 1M clients with six months of history
    the statement spilled under the build's 3 GB (docs/benchmark.md, 2026-12-04 night)."""
    compiled = run_dbt(
        ["compile", "--select", "int_breakdown_cells"],
        {**built["env"], **_window("2026-02-02", "2026-02-02")},
    )
    assert compiled.success
    (sql,) = [
        r.node.compiled_code for r in compiled.results if r.node.name == "int_breakdown_cells"
    ]
    plan = json.loads(query(built["warehouse"], f"explain (format json) {sql}")[0][1])
    joins = [n["extra_info"] for n in _plan_nodes(plan) if n.get("name") == "HASH_JOIN"]
    assert joins  # the plan is read: the cells still join positions to clients and institutions
    assert [j for j in joins if j.get("Join Type") == "FULL"] == []
