"""A throwaway PostgreSQL server for the serving-target tests, and a small bank to load.

The server is started by the tests themselves (never assumed to be running):
``scripts/throwaway_postgres.py`` runs ``initdb`` and ``pg_ctl`` from the machine's
PostgreSQL binaries in a temporary folder, on a free port of 127.0.0.1, with password
authentication, and removes it afterwards (the load benchmark uses it too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from clientmart.settings import Settings
from scripts.throwaway_postgres import PostgresServer, ServerError, throwaway_server

LOADER_ROLE = "clientmart_loader"
LOADER_PASSWORD = secrets.token_hex(12)

# The test bank's institution tree: head office -> 2 branches -> 2 sub-branches each -> outlets.
PARENT = {
    "H01": None,
    "B01": "H01",
    "B02": "H01",
    "S011": "B01",
    "S012": "B01",
    "S021": "B02",
    "S022": "B02",
    "O0111": "S011",
    "O0112": "S011",
    "O0121": "S012",
    "O0211": "S021",
    "O0221": "S022",
    "O0222": "S022",
}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with throwaway_server() as server:
            yield server
    except ServerError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def new_serving_database(postgres_server: PostgresServer):
    """Make a fresh database with scripts/setup_postgres_serving.sh; return the loader DSN."""

    def make(key: str) -> str:
        name = "cm_" + hashlib.sha1(key.encode()).hexdigest()[:12]
        return postgres_server.serving_database(name, LOADER_ROLE, LOADER_PASSWORD)

    return make


@pytest.fixture
def serving_database(new_serving_database, request: pytest.FixtureRequest) -> str:
    """A fresh serving database for one test; returns the loader DSN."""
    return new_serving_database(request.node.nodeid)


@pytest.fixture(scope="session")
def settings_for(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")

    def make(dsn: str | None) -> Settings:
        return Settings(home=home, postgres_dsn=dsn)

    return make


def level_of(code: str) -> int:
    level = 1
    while PARENT[code] is not None:
        code = PARENT[code]
        level += 1
    return level


def path_of(code: str) -> list[str]:
    """Codes from the head office down to ``code``."""
    chain = [code]
    while PARENT[chain[-1]] is not None:
        chain.append(PARENT[chain[-1]])
    return list(reversed(chain))


def subtree(code: str) -> set[str]:
    return {c for c in PARENT if code in path_of(c)}


def client_key(n: int) -> str:
    return hashlib.sha256(f"client-{n}".encode()).hexdigest()[:16]


def build_serving_copy(
    path: Path,
    publication_id: str,
    *,
    version: int = 1,
    extra_tables: dict[str, str] | None = None,
    with_product_dim: bool = True,
    exclude_institutions: frozenset[str] = frozenset(),
) -> Path:
    """A serving DuckDB file shaped like clientmart.serving.publish writes: marts with
    institution columns and DECIMAL money, dim_institution and publication_log.

    ``version`` changes every amount so that two publications have different totals.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "CREATE TABLE dim_institution (inst_code VARCHAR, inst_name VARCHAR, "
            "inst_level INTEGER, head_office_code VARCHAR, branch_code VARCHAR, "
            "sub_branch_code VARCHAR, outlet_code VARCHAR)"
        )
        for code in sorted(set(PARENT) - exclude_institutions):
            chain = path_of(code) + [None] * (4 - level_of(code))
            con.execute(
                "INSERT INTO dim_institution VALUES (?, ?, ?, ?, ?, ?, ?)",
                [code, f"机构 {code}", level_of(code), *chain],
            )
        con.execute(
            "CREATE TABLE mart_client_assets_monthly (client_key VARCHAR, inst_code VARCHAR, "
            "month_start DATE, id_number_masked VARCHAR, phone_masked VARCHAR, "
            "aum_cny DECIMAL(18,2), is_vip BOOLEAN)"
        )
        n = 0
        holders = [c for c in sorted(PARENT) if level_of(c) >= 3] + [None]
        for code in holders:
            for _ in range(3):
                n += 1
                aum = Decimal(n * 10_007 * version) / 100 + Decimal("0.01")
                con.execute(
                    "INSERT INTO mart_client_assets_monthly VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [client_key(n), code, dt.date(2026, 10, 1), f"110***********{n:04d}",
                     f"138****{n:04d}", aum, aum >= 100_000],
                )  # fmt: skip
        con.execute(
            "CREATE TABLE mart_client_breakdown (inst_level INTEGER, inst_code VARCHAR, "
            "month_start DATE, product_category VARCHAR, client_count BIGINT, "
            "month_end_balance_cny DECIMAL(20,2))"
        )
        for code in sorted(PARENT):
            if level_of(code) > 3:
                continue
            for i, product in enumerate(("demand_deposit", "fund")):
                balance = Decimal(len(subtree(code)) * 1_000_003 * version + i) / 100
                con.execute(
                    "INSERT INTO mart_client_breakdown VALUES (?, ?, ?, ?, ?, ?)",
                    [level_of(code), code, dt.date(2026, 10, 1), product,
                     len(subtree(code)) * 3, balance],
                )  # fmt: skip
        con.execute(
            "CREATE TABLE mart_rm_attainment (rm_key VARCHAR, head_office_code VARCHAR, "
            "branch_code VARCHAR, sub_branch_code VARCHAR, outlet_code VARCHAR, "
            "month_start DATE, target_cny DECIMAL(18,2), achieved_cny DECIMAL(18,2))"
        )
        for i, code in enumerate(c for c in sorted(PARENT) if level_of(c) >= 3):
            chain = path_of(code) + [None] * (4 - level_of(code))
            con.execute(
                "INSERT INTO mart_rm_attainment VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [f"rm{i:03d}", *chain, dt.date(2026, 10, 1), Decimal("2290000.00"),
                 Decimal(1_370_000 + i * 1_000 * version)],
            )  # fmt: skip
        con.execute("CREATE TABLE dim_rm (rm_id VARCHAR, rm_name VARCHAR, inst_code VARCHAR)")
        con.execute(
            "CREATE TABLE mart_rm_nine_grid (rm_id VARCHAR, client_key VARCHAR, "
            "name_masked VARCHAR, familiarity INTEGER, attitude VARCHAR)"
        )
        for i, code in enumerate(c for c in sorted(PARENT) if level_of(c) >= 3):
            con.execute("INSERT INTO dim_rm VALUES (?, ?, ?)", [f"rm{i:03d}", f"RM {i}", code])
            for j in range(2):
                con.execute(
                    "INSERT INTO mart_rm_nine_grid VALUES (?, ?, ?, ?, ?)",
                    [f"rm{i:03d}", client_key(100 + 2 * i + j), "张*", (i + j * version) % 10,
                     "neutral"],
                )  # fmt: skip
        con.execute(
            "CREATE TABLE ingest_audit AS SELECT * FROM (VALUES ('clients', 10, 9), "
            "('deposit_balances', 20, 20)) v(feed, records_read, records_kept)"
        )
        con.execute(
            "CREATE TABLE quarantine_records AS SELECT 'clients' AS feed, "
            '\'{"name": "张三", "phone": "13812345678"}\' AS raw_record'
        )
        if with_product_dim:
            con.execute(
                "CREATE TABLE dim_product AS SELECT * FROM (VALUES ('P1', 'demand_deposit'), "
                "('P2', 'fund')) v(product_code, product_category)"
            )
        for name, ddl in (extra_tables or {}).items():
            con.execute(f"CREATE TABLE {name} AS {ddl}")
        con.execute(
            "CREATE TABLE publication_log (publication_id VARCHAR, published_at TIMESTAMPTZ, "
            "business_date_min DATE, business_date_max DATE, run_start_date DATE, "
            "run_end_date DATE, row_counts JSON)"
        )
        con.execute(
            "INSERT INTO publication_log VALUES (?, ?, ?, ?, ?, ?, ?)",
            [publication_id, dt.datetime(2026, 11, 1, 2, version, tzinfo=dt.UTC),
             dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 10, 31),
             dt.date(2026, 10, 31), json.dumps({"version": version})],
        )  # fmt: skip
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


class Bank:
    """The test bank's tree and serving-copy builder, handed to tests as the ``bank`` fixture."""

    parent = PARENT
    level_of = staticmethod(level_of)
    path_of = staticmethod(path_of)
    subtree = staticmethod(subtree)
    build = staticmethod(build_serving_copy)


@pytest.fixture(scope="session")
def bank() -> Bank:
    return Bank()
