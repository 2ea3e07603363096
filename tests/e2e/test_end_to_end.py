"""End to end: a generated bank through the Dagster job in process, checked against the
landing files read independently (tests/e2e/landing_oracle.py), never against the models.

One module-scoped bank spans a month boundary (two September days, two October days) so
month-end and month daily-average figures of two months are both exercised: the first three
dates as one backfill range, the last as a nightly run (as `make demo` does).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from landing_oracle import money, parse_amount, parse_date, records

from clientmart.generator.bank import generate_bank
from clientmart.serving.publish import mart_relations_from_manifest, publish, serving_path
from clientmart.settings import Settings
from orchestration.build import build_definitions
from orchestration.defs.dbt.project import dbt_project, prepare_manifest
from orchestration.runner import backfill, dagster_instance, run_dates

START = dt.date(2026, 9, 29)
END = dt.date(2026, 10, 2)
DATES = [START + dt.timedelta(days=n) for n in range((END - START).days + 1)]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("e2e")
    settings = Settings(home=home)
    generate_bank(settings.landing, clients=200, start=START, end=END, seed=7)
    defs = build_definitions(settings)
    instance = dagster_instance(settings)
    outcomes = backfill(settings, defs, instance, START, END - dt.timedelta(days=1))
    outcomes += run_dates(settings, defs, instance, END, END)
    assert [o.success for o in outcomes] == [True, True], [o.describe() for o in outcomes]
    return {"settings": settings, "defs": defs, "instance": instance}


def _oracle(
    landing: Path, deposits_at_booking: bool = False
) -> dict[tuple[str, dt.date], dict[str, Decimal]]:
    """Per (branch, month): deposit and wealth month-end and daily-average totals in CNY.

    Deposits count at the client's home branch (the client assets mart), or with
    ``deposits_at_booking`` at the branch of the account's own institution (the breakdown);
    wealth holdings always at the client's home branch."""
    parents: dict[str, str] = {}
    levels: dict[str, int] = {}
    client_inst: dict[str, str] = {}
    for day in DATES:
        rows = list(records(landing, "institutions", day))
        if rows:  # a full snapshot replaces the previous one
            parents = {r["inst_code"]: r["parent_code"].strip() for r in rows}
            levels = {r["inst_code"]: int(r["inst_level"]) for r in rows}
        for r in records(landing, "clients", day):
            client_inst[r["client_id"]] = r["inst_code"]

    def branch_of(inst: str) -> str:
        while levels.get(inst, 0) > 2:
            inst = parents[inst]
        return inst

    # per account (or holding) and month: {day: CNY value}
    daily: dict[tuple[str, str, dt.date], dict[dt.date, Decimal]] = defaultdict(dict)
    owner: dict[tuple[str, str], str] = {}
    booked: dict[tuple[str, str], str] = {}
    for day in DATES:
        rates = {
            r["currency"]: parse_amount(r["cny_per_unit"])
            for r in records(landing, "fx_rates", day)
        }
        rates["CNY"] = Decimal(1)
        month = day.replace(day=1)
        for r in records(landing, "deposit_balances", day):
            value = money(parse_amount(r["balance"]) * rates[r["currency"]])
            daily[("deposit", r["account_id"], month)][day] = value
            owner[("deposit", r["account_id"])] = r["client_id"]
            booked[("deposit", r["account_id"])] = r["inst_code"]
        for r in records(landing, "wealth_holdings", day):
            daily[("wealth", r["holding_id"], month)][day] = money(parse_amount(r["market_value"]))
            owner[("wealth", r["holding_id"])] = r["client_id"]

    # month -> its first and last day with data: the average divides by the days between
    # (a bank whose data begins mid-month averages its first month from its first day)
    first: dict[dt.date, int] = {}
    last_day: dict[dt.date, int] = defaultdict(int)
    for (_kind, _key, month), days in daily.items():
        first[month] = min(first.get(month, 31), min(d.day for d in days))
        last_day[month] = max(last_day[month], max(d.day for d in days))
    covered = {month: last_day[month] - first[month] + 1 for month in first}

    totals: dict[tuple[str, dt.date], dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(Decimal)
    )
    for (kind, key, month), days in daily.items():
        last = month.replace(day=last_day[month])
        if deposits_at_booking and kind == "deposit":
            branch = branch_of(booked[(kind, key)])
        else:
            branch = branch_of(client_inst[owner[(kind, key)]])
        cell = totals[(branch, month)]
        cell[f"{kind}_month_end"] += days.get(last, Decimal(0))
        cell[f"{kind}_daily_avg"] += money(sum(days.values()) / covered[month])
        cell["accounts"] += 1
    return totals


def _mart_totals(serving: Path) -> dict[tuple[str, dt.date], dict[str, Decimal]]:
    with duckdb.connect(str(serving), read_only=True) as con:
        rows = con.execute(
            """select branch_code, month_start,
                      sum(deposit_month_end_cny), sum(deposit_daily_avg_cny),
                      sum(wealth_month_end_cny), sum(wealth_daily_avg_cny)
               from mart_client_assets_monthly group by all"""
        ).fetchall()
    keys = ("deposit_month_end", "deposit_daily_avg", "wealth_month_end", "wealth_daily_avg")
    return {(b, m): dict(zip(keys, values, strict=True)) for b, m, *values in rows}


def test_assets_per_branch_and_in_total_equal_the_landing_files(bank: dict) -> None:
    settings: Settings = bank["settings"]
    expected = _oracle(settings.landing)
    actual = _mart_totals(serving_path(settings.serving))
    assert {k for k in expected} == {k for k in actual}
    for key, cell in expected.items():
        for measure in (
            "deposit_month_end",
            "deposit_daily_avg",
            "wealth_month_end",
            "wealth_daily_avg",
        ):
            got = actual[key][measure] or Decimal(0)
            # month-end is exact; an average is rounded once per account (half a cent each)
            slack = Decimal(0) if measure.endswith("month_end") else cell["accounts"] / 200
            assert abs(got - cell[measure]) <= slack, (key, measure, got, cell[measure])
    for month in {m for _b, m in expected}:
        total = sum(c["deposit_month_end"] for (_b, m), c in expected.items() if m == month)
        assert total > 0
        assert sum(a["deposit_month_end"] for (_b, m), a in actual.items() if m == month) == total


def test_breakdown_branch_totals_equal_the_landing_files(bank: dict) -> None:
    """The breakdown's branch rows (month, all bands, family totals) against the same
    independent computation, deposits at the branch of the account's institution."""
    settings: Settings = bank["settings"]
    expected = _oracle(settings.landing, deposits_at_booking=True)
    with duckdb.connect(str(serving_path(settings.serving)), read_only=True) as con:
        rows = con.execute(
            """select inst_code, period_start, product_family, account_count,
                      period_end_balance_cny, daily_avg_balance_cny
               from mart_client_breakdown
               where period_type = 'month' and inst_level = 2 and band_type = 'all'
                 and product_family in ('deposit', 'wealth') and product_group = 'all'
                 and account_count > 0"""
        ).fetchall()
    actual = {(inst, month, family): (n, end, avg) for inst, month, family, n, end, avg in rows}
    checked = 0
    for (branch, month), cell in expected.items():
        for family in ("deposit", "wealth"):
            if not cell[f"{family}_month_end"] and not cell[f"{family}_daily_avg"]:
                continue
            _n, end, avg = actual[(branch, month, family)]
            assert end == cell[f"{family}_month_end"], (branch, month, family)
            assert avg == cell[f"{family}_daily_avg"], (branch, month, family)
            checked += 1
    assert checked >= 4
    assert len(actual) == checked  # no branch or family the landing files do not have


def _fingerprint(db: Path, skip: tuple[str, ...] = ("incremental_writes",)) -> dict[str, str]:
    """Every table of a warehouse: row count and an order-independent content hash. Skipped
    by default: the build's write log (a re-run logs what it rewrote, by design)."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            if table in skip:
                continue
            count, digest = con.execute(
                f'select count(*), coalesce(sum(hash(t)), 0) from "{schema}"."{table}" as t'
            ).fetchone()
            out[f"{schema}.{table}"] = f"{count}:{digest}"
    return out


def test_nightly_runs_do_not_make_dbt_reparse_the_project(bank: dict) -> None:
    """The run window reaches dbt as environment variables read at run time, not as --vars:
    a var that changes every night would make dbt re-parse the whole project each night.
    dbt's JSON log of the home (rotated: dbt.log.1, dbt.log): one full parse, when the
    definitions load; the range and the nightly run after it parse nothing.

    The full parse may log one reason or two: dagster-dbt copies the project's own
    ``target/partial_parse.msgpack`` into a new target folder, and one left there by another
    dbt run (an engineer's, another test's) was made for another profile. So the test counts
    per invocation; it counted in all and failed when such a file was there."""
    settings: Settings = bank["settings"]
    target = dbt_project(settings).target_path
    logs = sorted(target.glob("dbt.log*"), key=lambda p: p.stat().st_mtime)
    invocations: list[list[str]] = []
    for path in logs:
        for line in path.read_text(encoding="utf-8").splitlines():
            name = json.loads(line)["info"]["name"]
            if name == "MainReportVersion":
                invocations.append([])
            if invocations:
                invocations[-1].append(name)
    assert len(invocations) >= 3, invocations[:2]
    parse, *nights = invocations
    assert "UnableToPartialParse" in parse
    assert ["UnableToPartialParse" in run for run in nights] == [False] * len(nights)
    assert ["PartialParsingSkipParsing" in run for run in nights] == [True] * len(nights)


def test_every_data_test_of_the_night_is_an_asset_check(bank: dict) -> None:
    """A dbt data test reaches Dagster as a check of the model it tests, so the UI and the
    freshness sensor see it on that asset. A singular test that reads several models names
    its model in meta.dagster.ref; without it Dagster logs the result as an observation and
    warns every night."""
    settings: Settings = bank["settings"]
    manifest = json.loads(dbt_project(settings).manifest_path.read_text(encoding="utf-8"))
    tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    checks = {k.name for k in bank["defs"].resolve_asset_graph().asset_check_keys}
    assert tests and not tests - checks, sorted(tests - checks)
    nightly = bank["instance"].get_runs(limit=1)[0]
    observed = bank["instance"].all_logs(
        nightly.run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION
    )
    assert not [e.dagster_event.asset_key for e in observed]
    evaluated = {
        e.dagster_event.event_specific_data.asset_check_key
        for e in bank["instance"].all_logs(
            nightly.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
    }
    assert (
        dg.AssetCheckKey(
            dg.AssetKey("mart_client_breakdown"), "breakdown_client_counts_are_distinct"
        )
        in evaluated
    )


def _raw_digest(settings: Settings) -> str:
    h = hashlib.sha256()
    for path in sorted(settings.raw.rglob("*.parquet")):
        h.update(str(path.relative_to(settings.raw)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_running_the_same_date_again_changes_no_table_nor_the_raw_layer(bank: dict) -> None:
    """One re-run (a Dagster run of the bank's size costs about a minute) checks both: the
    warehouse's tables and the raw layer's files are the same after it."""
    settings: Settings = bank["settings"]
    before, raw_before = _fingerprint(settings.warehouse), _raw_digest(settings)
    outcomes = run_dates(settings, bank["defs"], bank["instance"], END, END)
    assert [o.success for o in outcomes] == [True], [o.describe() for o in outcomes]
    after = _fingerprint(settings.warehouse)
    changed = {t for t in before if before[t] != after.get(t)}
    assert not changed, f"tables changed by re-running {END}: {sorted(changed)}"
    assert set(after) == set(before)
    assert _raw_digest(settings) == raw_before, "re-running a date rewrote raw files"


def test_the_nightly_publication_is_incremental_and_equals_a_full_one(
    bank: dict, tmp_path: Path
) -> None:
    """The last date's run published on top of the backfill's publication, from the build's
    write log; a full publication of the same build holds the same marts and exports."""
    settings: Settings = bank["settings"]
    with duckdb.connect(str(serving_path(settings.serving)), read_only=True) as con:
        modes = con.execute(
            "select mode from publication_log order by published_at desc limit 1"
        ).fetchall()
    assert modes == [("incremental",)]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        written = con.execute(
            "select distinct key_value from main.incremental_writes "
            "where relation_name like '%.fct_deposit_balance_daily'"
        ).fetchall()
    assert sorted(written) == [("*",), (END.isoformat(),)]  # the backfill built it, END added
    manifest = prepare_manifest(dbt_project(settings), settings)
    relations = mart_relations_from_manifest(manifest)
    assert {r.name for r in relations if r.unique_key} >= {
        "fct_deposit_balance_daily",
        "mart_client_assets_monthly",
        "mart_client_tier",
    }
    full = publish(settings.warehouse, tmp_path / "full", relations, (END, END), incremental=False)
    assert full.mode == "full"
    published, rebuilt = serving_path(settings.serving), serving_path(tmp_path / "full")
    skip = ("publication_log", "publication_changes")  # the log of each, not the marts
    assert _fingerprint(published, skip) == _fingerprint(rebuilt, skip)
    for relation in relations:
        assert _exported(settings.serving, relation.name) == _exported(
            tmp_path / "full", relation.name
        ), relation.name


def _exported(serving: Path, mart: str) -> tuple:
    files = str(serving / "exports" / mart / "**" / "*.parquet")
    with duckdb.connect() as con:
        return con.execute(
            f"select count(*), coalesce(sum(hash(t)), 0) from read_parquet('{files}') as t"
        ).fetchone()


def test_no_personal_data_in_clear_text_in_any_published_table(bank: dict) -> None:
    settings: Settings = bank["settings"]
    secrets: set[str] = set()
    for day in DATES:
        for r in records(settings.landing, "clients", day):
            secrets.update(
                v.strip()
                for k, v in r.items()
                if k in ("name", "id_number", "phone") and v and v.strip()
            )
    assert len(secrets) > 300
    with duckdb.connect(str(serving_path(settings.serving)), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        leaks = []
        for table, column in columns:
            values = {
                v
                for (v,) in con.execute(
                    f'select distinct "{column}" from "{table}" where "{column}" is not null'
                ).fetchall()
            }
            found = values & secrets
            if found:
                leaks.append((table, column, sorted(found)[:3]))
    assert not leaks, f"personal data in clear text: {leaks}"


def test_summary_reads_the_published_copy(bank: dict) -> None:
    from clientmart.summary import summarise

    text = summarise(bank["settings"].serving)
    assert "Clients and assets per branch" in text and "Clients per tier" in text
    assert "2026-10" in text
    assert parse_date("2026/10/02") == END


SERVING_DOCS = Path(__file__).parents[2] / "docs" / "serving.md"


def _documented_queries() -> dict[str, str]:
    """docs/serving.md's "One query per mart": each SQL block by the table its first line
    names (``-- <table>: <question>``)."""
    section = SERVING_DOCS.read_text(encoding="utf-8").split("\n## One query per mart\n", 1)[1]
    blocks = re.findall(r"```sql\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    named = {}
    for block in blocks:
        head = re.match(r"-- (\w+): ", block)
        assert head, f"a query of docs/serving.md does not start with '-- <table>: ': {block}"
        assert head[1] not in named, f"two queries for {head[1]} in docs/serving.md"
        named[head[1]] = block
    return named


def test_every_published_table_has_a_documented_query_that_answers(bank: dict) -> None:
    queries = _documented_queries()
    with duckdb.connect(str(serving_path(bank["settings"].serving)), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        assert set(queries) == tables  # one per published table, none for a table gone
        empty = set()
        for name, sql in queries.items():
            rows = con.execute(sql).fetchall()
            if not con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]:
                empty.add(name)
            else:
                assert rows, f"docs/serving.md's query of {name} found nothing"
    # no month of this bank is complete yet (two September days): no call list (its description)
    assert empty == {"mart_call_list"}


RESENT_FEEDS = (
    "deposit_balances",
    "deposit_transactions",
    "wealth_holdings",
    "wealth_orders",
    "loan_balances",
    "pipeline",
)


def test_a_date_re_sent_under_other_names_with_other_line_ends_changes_no_mart(
    bank: dict,
) -> None:
    """Upstream re-sends the last date's files beside the first ones, under other names and
    with other line ends (so they are not byte copies, which are refused as
    duplicate_content): they are loaded, and every key counts once, so no fact, intermediate
    table or mart changes. Holdings, loans, pipeline snapshots and the hidden-potential
    transactions were added up twice. Last in this module: the copies stay in the landing."""
    settings: Settings = bank["settings"]
    skip = ("incremental_writes", "ingest_audit")  # the audit logs the copies, by design
    before = _fingerprint(settings.warehouse, skip)
    resent = []
    for feed in RESENT_FEEDS:
        folder = settings.landing / feed / f"{END:%Y%m%d}"
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".csv", ".txt"):  # text deliveries; .ok written below
                continue
            data = path.read_bytes()
            crlf = b"\r\n" in data
            other = data.replace(b"\r\n", b"\n") if crlf else data.replace(b"\n", b"\r\n")
            copy = path.with_name(f"{path.stem}_resend{path.suffix}")
            copy.write_bytes(other)
            copy.with_name(copy.name + ".ok").write_bytes(
                path.with_name(path.name + ".ok").read_bytes()
            )
            resent.append(f"{feed}/{copy.name}")
    assert len(resent) >= len(RESENT_FEEDS), resent
    outcomes = run_dates(settings, bank["defs"], bank["instance"], END, END)
    assert [o.success for o in outcomes] == [True], [o.describe() for o in outcomes]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        loaded = con.execute(
            "select count(*) from main.ingest_audit "
            "where file_name like '%\\_resend%' escape '\\' and status = 'loaded'"
        ).fetchall()[0][0]
    assert loaded == len(resent), resent
    after = _fingerprint(settings.warehouse, skip)
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not changed, f"tables changed by a re-sent copy of {END}: {changed}"
