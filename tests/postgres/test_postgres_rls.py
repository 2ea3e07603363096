"""Row-level security of the PostgreSQL serving target, against a real PostgreSQL server.

Expectations come from the test bank's own parent map (conftest.PARENT), not from the
loader's hierarchy columns, so a wrong scope rule in the loader shows up here.
"""

from __future__ import annotations

import functools
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict

from clientmart.serving.postgres import load_publication
from clientmart.serving.postgres_access import role_name

SCOPED = (
    "mart_client_assets_monthly",
    "mart_client_breakdown",
    "mart_rm_attainment",
    "dim_institution",
    "dim_rm",
    "mart_rm_nine_grid",
)
HIERARCHY = ("outlet_code", "sub_branch_code", "branch_code", "head_office_code")


@pytest.fixture(scope="module")
def loaded(new_serving_database, settings_for, bank, tmp_path_factory, postgres_server):
    """One load shared by the module's tests, which only read (or add roles of their own)."""
    serving_database = new_serving_database(__name__)
    serving = bank.build(tmp_path_factory.mktemp("serving") / "clientmart.duckdb", "pub-1")
    result = load_publication(settings_for(serving_database), serving, "pub-1")
    dbname = conninfo_to_dict(serving_database)["dbname"]
    return {
        "serving": serving,
        "result": result,
        "loader_dsn": serving_database,
        "super_dsn": postgres_server.superuser_dsn(dbname),
        "dbname": dbname,
    }


@functools.cache
def duck_rows(serving: Path, table: str) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        cur = con.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()
    finally:
        con.close()


def rm_institutions(serving: Path) -> dict[str, str]:
    names, rows = duck_rows(serving, "dim_rm")
    return {r[names.index("rm_id")]: r[names.index("inst_code")] for r in rows}


def row_institution(names: list[str], row: tuple, rms: dict[str, str]) -> str | None:
    record = dict(zip(names, row, strict=True))
    if "inst_code" in record:
        return record["inst_code"]
    if "rm_id" in record:  # the RM's work list follows the RM's institution
        return rms.get(record["rm_id"])
    return next((record[c] for c in HIERARCHY if record.get(c) is not None), None)


def expected_rows(bank, serving: Path, table: str, inst: str) -> set[tuple]:
    names, rows = duck_rows(serving, table)
    if bank.level_of(inst) == 1:
        return set(rows)  # head office: everything, also rows of no institution
    rms = rm_institutions(serving)
    return {r for r in rows if row_institution(names, r, rms) in bank.subtree(inst)}


def read_as(super_dsn: str, role: str, query: str) -> list[tuple]:
    """Run ``query`` as ``role`` (SET ROLE from a superuser session kept per database)."""
    conn = _sessions.get(super_dsn)
    if conn is None or conn.closed:
        conn = _sessions[super_dsn] = psycopg.connect(super_dsn, autocommit=True)
    conn.execute(f'SET ROLE "{role}"')
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.execute("RESET ROLE")


_sessions: dict[str, psycopg.Connection] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_sessions():
    yield
    for conn in _sessions.values():
        conn.close()
    _sessions.clear()


def test_every_institution_role_reads_exactly_its_subtree(loaded, bank):
    for inst in bank.parent:
        role = role_name(inst)
        for table in SCOPED:
            seen = read_as(loaded["super_dsn"], role, f"SELECT * FROM marts.{table}")
            assert len(seen) == len(set(seen))
            assert set(seen) == expected_rows(bank, loaded["serving"], table, inst), (role, table)


def test_sub_branch_cannot_read_a_sibling_sub_branch(loaded, bank):
    mine, sibling = "S011", "S012"
    assert bank.parent[mine] == bank.parent[sibling]
    query = (
        "SELECT DISTINCT inst_code FROM marts.mart_client_assets_monthly "
        "UNION SELECT DISTINCT coalesce(outlet_code, sub_branch_code) FROM marts.mart_rm_attainment"
    )
    seen = {code for (code,) in read_as(loaded["super_dsn"], role_name(mine), query)}
    assert seen and seen <= bank.subtree(mine)
    assert not seen & bank.subtree(sibling)
    totals = read_as(
        loaded["super_dsn"],
        role_name(mine),
        "SELECT count(*) FROM marts.mart_client_breakdown "
        "WHERE inst_code IN ('S012', 'B01', 'H01')",
    )
    assert totals == [(0,)]


def test_branch_reads_its_subtree_totals_and_head_office_reads_all(loaded, bank):
    _, rows = duck_rows(loaded["serving"], "mart_client_assets_monthly")
    query = "SELECT sum(aum_cny), count(*) FROM marts.mart_client_assets_monthly"
    for branch in ("B01", "B02"):
        want = [r for r in rows if r[1] in bank.subtree(branch)]
        got = read_as(loaded["super_dsn"], role_name(branch), query)
        assert got == [(sum(r[5] for r in want), len(want))]
    everything = read_as(loaded["super_dsn"], role_name("H01"), query)
    assert everything == [(sum(r[5] for r in rows), len(rows))]
    # rows with no institution are head office's only
    assert any(r[1] is None for r in rows)
    # a table without institution data and not declared shared: head office only
    audit = "SELECT count(*) FROM marts.ingest_audit"
    assert read_as(loaded["super_dsn"], role_name("H01"), audit) == [(2,)]
    assert read_as(loaded["super_dsn"], role_name("B01"), audit) == [(0,)]
    # publication metadata and reference data are shared with every institution
    log = "SELECT publication_id FROM marts.publication_log"
    assert read_as(loaded["super_dsn"], role_name("O0111"), log) == [("pub-1",)]
    products = "SELECT count(*) FROM marts.dim_product"
    assert read_as(loaded["super_dsn"], role_name("O0111"), products) == [(2,)]


def test_login_user_granted_an_institution_sees_its_scope(loaded, bank, postgres_server):
    with psycopg.connect(loaded["loader_dsn"], autocommit=True) as conn:
        # the documented way: a login role, then membership in an institution role
        conn.execute("CREATE ROLE alice LOGIN PASSWORD 'alice-pw'")
        conn.execute(f"GRANT {role_name('B02')} TO alice")
    dsn = postgres_server.dsn("alice", "alice-pw", loaded["dbname"])
    with psycopg.connect(dsn) as conn:
        mine = conn.execute("SELECT inst_code FROM access.my_institutions").fetchall()
        assert mine == [("B02",)]
        codes = {
            c for (c,) in conn.execute("SELECT inst_code FROM marts.mart_client_assets_monthly")
        }
    assert codes == {c for c in bank.subtree("B02") if bank.level_of(c) >= 3}


def test_unknown_roles_read_nothing(loaded, bank, postgres_server):
    with psycopg.connect(loaded["super_dsn"], autocommit=True) as conn:
        conn.execute("CREATE ROLE stranger LOGIN PASSWORD 'stranger-pw'")
        conn.execute("CREATE ROLE bare NOLOGIN")
        conn.execute("CREATE ROLE reader_only NOLOGIN")
        conn.execute("GRANT clientmart_reader TO reader_only")
    # a login role with no institution may not even connect to the serving database
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(postgres_server.dsn("stranger", "stranger-pw", loaded["dbname"]))
    for table in (*SCOPED, "dim_product", "publication_log", "ingest_audit"):
        with pytest.raises(errors.InsufficientPrivilege):
            read_as(loaded["super_dsn"], "bare", f"SELECT * FROM marts.{table}")
        # a member of the reader group without any institution sees no row
        assert read_as(loaded["super_dsn"], "reader_only", f"SELECT * FROM marts.{table}") == []


@pytest.mark.parametrize("inst", ["H01", "B01", "S011", "O0111"])
def test_no_role_but_the_loader_can_write(loaded, inst):
    role = role_name(inst)
    update_column = {
        "mart_rm_attainment": "outlet_code",
        "publication_log": "publication_id",
        "mart_rm_nine_grid": "rm_id",
    }
    writes = []
    for table in (*SCOPED, "publication_log"):
        writes += [
            f"INSERT INTO marts.{table} SELECT * FROM marts.{table}",
            f"UPDATE marts.{table} SET {update_column.get(table, 'inst_code')} = NULL",
            f"DELETE FROM marts.{table}",
            f"TRUNCATE marts.{table}",
        ]
    writes += [
        "DELETE FROM access.role_scope",
        "INSERT INTO access.role_scope VALUES ('inst_o0111', 'H01')",
        "CREATE TABLE marts.mine (x int)",
        "CREATE TABLE public.mine (x int)",
        "SELECT * FROM loader.load_log",
    ]
    for statement in writes:
        with psycopg.connect(loaded["super_dsn"]) as conn:
            conn.execute(f'SET ROLE "{role}"')
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
    # the loader owns the tables and can write (checked in a transaction rolled back)
    with psycopg.connect(loaded["loader_dsn"]) as conn:
        conn.execute("DELETE FROM marts.mart_client_breakdown")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM marts.mart_client_breakdown").fetchone()[0] > 0
