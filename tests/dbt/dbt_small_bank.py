"""Helpers for tests/dbt: a tiny raw layer laid out as docs/raw-layer.md says, and dbt runs.

The bank: one head office, two branches, three sub-branches and an outlet; four clients
over four days that straddle a month end (2026-01-30 .. 2026-02-02), chosen so that every
figure the tests assert can be computed by hand:

- C001 (individual) has a CNY demand account at sub-branch SB11 and a CNY time account at
  sub-branch SB12 (one client, two sub-branches of branch BR1) and a fund holding;
- C002 (individual) has a USD demand account at SB21 (FX conversion per day);
- C003 (corporate) has a CNY demand account at SB11 closed on 2026-02-02, settlement
  transactions and a working-capital loan;
- C004 (individual) opens a CNY demand account at outlet OU111 on 2026-02-02.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import jinja2
import polars as pl
import yaml

from ingest.rules import column_type
from ingest.spec import load_feeds

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DAYS = [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)]
USD_RATES = {
    date(2026, 1, 30): "7.123450",
    date(2026, 1, 31): "7.100000",
    date(2026, 2, 1): "7.200000",
    date(2026, 2, 2): "7.250000",
}
PSEUDONYM_KEY = "test-key-not-secret"


def _feed_schema(feed_name: str) -> dict[str, pl.DataType]:
    feed = load_feeds()[feed_name]
    schema: dict[str, pl.DataType] = {c.name: column_type(c) for c in feed.columns}
    schema.update(
        {
            "_extra": pl.String,
            "_source_file": pl.String,
            "_source_line": pl.Int64,
            "_delivery_checksum": pl.String,
        }
    )
    return schema


def write_raw_file(
    raw_root: Path, feed: str, business_date: date, rows: list[dict], file_name: str = "data.csv"
) -> Path:
    """Write one delivered file's rows as the raw layer holds them (lineage columns included)."""
    schema = _feed_schema(feed)
    stamp = business_date.strftime("%Y%m%d")
    records = []
    for line, row in enumerate(rows, start=2):
        record = {name: row.get(name) for name in schema}
        for name, dtype in schema.items():
            if isinstance(dtype, pl.Decimal) and record[name] is not None:
                record[name] = Decimal(str(record[name]))
        record["_source_file"] = f"{feed}/{stamp}/{file_name}"
        record["_source_line"] = line
        record["_delivery_checksum"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        records.append(record)
    folder = raw_root / feed / f"business_date={business_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_name}.parquet"
    pl.DataFrame(records, schema=schema, orient="row").write_parquet(path)
    return path


def write_schema_files(raw_root: Path) -> None:
    """The empty `business_date=1900-01-01/_schema.parquet` every feed folder holds."""
    for feed in load_feeds():
        folder = raw_root / feed / "business_date=1900-01-01"
        folder.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(schema=_feed_schema(feed)).write_parquet(folder / "_schema.parquet")


def write_small_bank(raw_root: Path) -> None:
    """The fixture bank described in the module docstring."""
    write_schema_files(raw_root)
    first = DAYS[0]
    write_raw_file(
        raw_root,
        "institutions",
        first,
        [
            {"inst_code": "HO", "inst_name": "Head office", "parent_code": None, "inst_level": 1},
            {"inst_code": "BR1", "inst_name": "Branch 1", "parent_code": "HO", "inst_level": 2},
            {"inst_code": "BR2", "inst_name": "Branch 2", "parent_code": "HO", "inst_level": 2},
            {"inst_code": "SB11", "inst_name": "Sub 11", "parent_code": "BR1", "inst_level": 3},
            {"inst_code": "SB12", "inst_name": "Sub 12", "parent_code": "BR1", "inst_level": 3},
            {"inst_code": "SB21", "inst_name": "Sub 21", "parent_code": "BR2", "inst_level": 3},
            {"inst_code": "OU111", "inst_name": "Out 111", "parent_code": "SB11", "inst_level": 4},
        ],
    )
    products = [
        ("DD_CNY", "demand_deposit", "CNY"),
        ("DD_USD", "demand_deposit", "USD"),
        ("TD_CNY", "time_deposit", "CNY"),
        ("FUND1", "fund", "CNY"),
        ("LN_WC", "loan_working_capital", "CNY"),
    ]
    write_raw_file(
        raw_root,
        "products",
        first,
        [
            {"product_code": c, "product_name": c, "product_category": k, "currency": cur}
            for c, k, cur in products
        ],
    )
    write_raw_file(
        raw_root,
        "relationship_managers",
        first,
        [{"rm_id": "RM1", "rm_name": "Zhang San", "inst_code": "SB11", "status": "active"}],
    )
    clients = [
        ("C001", "I", "张三丰", "110101199001011234", "13812345678", "SB11", "RM1"),
        ("C002", "I", "Li Si", "310101198502023456", "13900001111", "SB21", None),
        ("C003", "C", "某某有限公司", "91110000MA0000XX0X", None, "SB11", "RM1"),
        ("C004", "I", "王五", "440101200003034321", "13700002222", "OU111", None),
    ]
    for day in DAYS:
        write_raw_file(
            raw_root,
            "fx_rates",
            day,
            [{"rate_date": day, "currency": "USD", "cny_per_unit": USD_RATES[day]}],
        )
        delivered = clients if day == first else []
        if day == DAYS[-1]:
            delivered = [c for c in clients if c[0] == "C004"]
        write_raw_file(
            raw_root,
            "clients",
            day,
            [
                {
                    "client_id": cid,
                    "client_type": typ,
                    "name": name,
                    "id_number": idn,
                    "phone": phone,
                    "open_date": first if cid != "C004" else DAYS[-1],
                    "inst_code": inst,
                    "rm_id": rm,
                }
                for cid, typ, name, idn, phone, inst, rm in delivered
            ],
        )
        balances = [
            ("A1", "C001", "SB11", "DD_CNY", "CNY", "1000.00"),
            ("A2", "C001", "SB12", "TD_CNY", "CNY", "5000.00"),
            ("A3", "C002", "SB21", "DD_USD", "USD", "100.00"),
        ]
        if day != DAYS[-1]:
            balances.append(("A4", "C003", "SB11", "DD_CNY", "CNY", "2000000.00"))
        else:
            balances.append(("A5", "C004", "OU111", "DD_CNY", "CNY", "300.00"))
        write_raw_file(
            raw_root,
            "deposit_balances",
            day,
            [
                {
                    "balance_date": day,
                    "account_id": a,
                    "client_id": c,
                    "inst_code": i,
                    "product_code": p,
                    "currency": cur,
                    "balance": b,
                }
                for a, c, i, p, cur, b in balances
            ],
        )
        txns = {
            DAYS[0]: [("T1", "transfer", "C", "3000000.00"), ("T2", "interest", "C", "10.00")],
            DAYS[1]: [("T3", "cash", "D", "2500000.00")],
            DAYS[2]: [("T4", "transfer", "D", "1200000.00")],
            DAYS[3]: [],
        }[day]
        write_raw_file(
            raw_root,
            "deposit_transactions",
            day,
            [
                {
                    "txn_id": t,
                    "txn_date": day,
                    "account_id": "A4",
                    "client_id": "C003",
                    "amount": amt,
                    "direction": d,
                    "txn_type": typ,
                    "channel": "online",
                    "counterparty": "某公司",
                }
                for t, typ, d, amt in txns
            ],
        )
        write_raw_file(
            raw_root,
            "loan_balances",
            day,
            [
                {
                    "balance_date": day,
                    "loan_id": "L1",
                    "client_id": "C003",
                    "inst_code": "SB11",
                    "product_code": "LN_WC",
                    "balance": "8000000.00",
                }
            ],
        )
        write_raw_file(
            raw_root,
            "wealth_holdings",
            day,
            [
                {
                    "as_of_date": day,
                    "holding_id": "H1",
                    "client_id": "C001",
                    "product_code": "FUND1",
                    "units": "1000",
                    "market_value": "60000.00",
                    "cost": "55000.00",
                }
            ],
        )
        write_raw_file(raw_root, "wealth_orders", day, [])


def write_quarantine_and_audit(raw_root: Path, quarantine_root: Path) -> None:
    """One quarantined record and one audit event, laid out as docs/raw-layer.md says."""
    day = DAYS[0]
    folder = quarantine_root / "clients" / f"business_date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "_source_file": ["clients/20260130/data.csv"],
            "_source_line": [9],
            "_delivery_checksum": ["0" * 64],
            "rules": ["not_null:client_id;allowed_values:client_type"],
            "raw_record": ['{"客户号": "", "客户类型": "X", "姓名": "赵六"}'],
        }
    ).write_parquet(folder / "data.csv.parquet")
    folder = raw_root / "_ingest_audit" / f"business_date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime(2026, 1, 31, 2, 0, 0)
    pl.DataFrame(
        {
            "feed": ["clients"],
            "business_date": [day],
            "file_name": ["data.csv"],
            "checksum": ["0" * 64],
            "encoding": ["utf-8"],
            "file_format": ["csv"],
            "delimiter": [","],
            "control_count": [5],
            "records_read": [5],
            "records_kept": [4],
            "records_quarantined": [1],
            "status": ["loaded"],
            "message": ["clients/20260130/data.csv: 4 kept, 1 quarantined"],
            "started_at": [stamp],
            "finished_at": [stamp],
        }
    ).write_parquet(folder / f"clients__data.csv__{'0' * 12}.parquet")


@dataclass
class DbtRun:
    """One dbt invocation's outcome."""

    success: bool
    results: list


# what decides whether dbt can reuse a saved parse: the profile (its warehouse path and memory
# limit, profiles.yml) and the --vars
_PROFILE_ENV = ("DBT_CLIENTMART_WAREHOUSE_PATH", "DBT_CLIENTMART_MEMORY_LIMIT")


def target_path(args: list[str], env: dict[str, str]) -> str:
    """The target folder of a dbt command: ``env``'s DBT_TARGET_PATH, one subfolder per
    profile and --vars. dbt parses the whole project again (4 s here) when either differs
    from its saved parse's, so tests that switch to a warehouse of their own, or give --vars,
    and back would pay it twice a switch; each folder keeps its own partial parse."""
    vars_given = [args[n + 1] for n, arg in enumerate(args[:-1]) if arg == "--vars"]
    key = json.dumps([[env.get(name) for name in _PROFILE_ENV], vars_given])
    return str(Path(env["DBT_TARGET_PATH"]) / hashlib.sha256(key.encode()).hexdigest()[:12])


def run_dbt(args: list[str], env: dict[str, str]) -> DbtRun:
    """Run dbt in process (dbtRunner) with the project's folders and the given environment."""
    from dbt.cli.main import dbtRunner

    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    target = target_path(args, env)
    try:
        res = dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(DBT_PROJECT),
                "--profiles-dir",
                str(DBT_PROJECT),
                "--target-path",
                target,
                "--log-path",
                target,
                "--quiet",
            ]
        )
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return DbtRun(success=res.success, results=list(res.result or []) if args[0] != "parse" else [])


def duckdb_output() -> dict:
    """profiles.yml's DuckDB output, as written (env_var() not rendered)."""
    profiles = yaml.safe_load((DBT_PROJECT / "profiles.yml").read_text(encoding="utf-8"))
    return profiles["clientmart"]["outputs"]["duckdb"]


def warehouse_config() -> dict[str, str]:
    """The DuckDB configuration dbt opens the warehouse with: profiles.yml's config_options,
    each rendered as dbt renders it (``env_var`` from this process's environment)."""
    options = duckdb_output().get("config_options") or {}

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml reads {name}, which is not set")
        return value

    return {
        key: jinja2.Template(str(value)).render(env_var=env_var) for key, value in options.items()
    }


def query(warehouse: Path, sql: str) -> list[tuple]:
    """Read the warehouse after dbt has finished.

    dbt-duckdb keeps its in-process database instance open after dbtRunner returns, and
    DuckDB refuses a second in-process connection with a different configuration, so this
    connects with dbt's (profiles.yml's config_options: it shares dbt's instance) and only
    reads.
    """
    con = duckdb.connect(str(warehouse), config=warehouse_config())
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
