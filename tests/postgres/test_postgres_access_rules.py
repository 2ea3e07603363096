"""The pure rules behind the PostgreSQL serving target: role names, scopes, column types."""

from __future__ import annotations

import pytest

from clientmart.serving.postgres_access import (
    AccessConfig,
    AccessConfigError,
    Institution,
    institution_roles,
    load_access_config,
    role_name,
    table_scope,
)
from clientmart.serving.postgres_types import UnsupportedColumnType, map_column


def inst(code, level, ho=None, br=None, sb=None, out=None) -> Institution:
    return Institution(code, level, ho, br, sb, out)


TREE = [
    inst("H01", 1, "H01"),
    inst("B01", 2, "H01", "B01"),
    inst("B02", 2, "H01", "B02"),
    inst("S011", 3, "H01", "B01", "S011"),
    inst("O0111", 4, "H01", "B01", "S011", "O0111"),
    inst("S021", 3, "H01", "B02", "S021"),
]


def test_scope_is_the_institution_and_everything_below_it():
    scopes = {r.inst_code: set(r.scope) for r in institution_roles(TREE)}
    assert scopes == {
        "H01": {"H01", "B01", "B02", "S011", "O0111", "S021"},
        "B01": {"B01", "S011", "O0111"},
        "B02": {"B02", "S021"},
        "S011": {"S011", "O0111"},
        "O0111": {"O0111"},
        "S021": {"S021"},
    }


def test_role_names_are_safe_identifiers_and_never_collide():
    assert role_name("H01") == "inst_h01"
    assert role_name(" 0101-A ") == "inst_0101_a"
    with pytest.raises(AccessConfigError, match="both map to role 'inst_a_1'"):
        institution_roles([inst("A-1", 1), inst("a.1", 1)])
    with pytest.raises(AccessConfigError, match="longer than"):
        role_name("x" * 80)
    with pytest.raises(AccessConfigError, match="empty inst_code"):
        institution_roles([inst("", 1)])


def test_table_scope_follows_the_documented_precedence():
    config = AccessConfig(
        scope_columns={"mart_x": "owner_inst"},
        shared_tables=frozenset({"s"}),
        scope_lookups={"grid": ("rm_id", "dim_rm")},
    )
    grid = table_scope("grid", ["rm_id", "client_id"], config)
    assert (grid.kind, grid.columns, grid.via) == ("lookup", ("rm_id",), "dim_rm")
    with pytest.raises(AccessConfigError, match="scope_lookups.grid names column 'rm_id'"):
        table_scope("grid", ["client_id"], config)
    both = ["inst_code", "branch_code", "sub_branch_code"]
    assert table_scope("t", both, config).columns == ("inst_code",)
    hierarchy = ["head_office_code", "branch_code", "sub_branch_code", "outlet_code", "v"]
    assert table_scope("t", hierarchy, config).columns == (
        "outlet_code",
        "sub_branch_code",
        "branch_code",
        "head_office_code",
    )
    assert table_scope("mart_x", ["owner_inst", "inst_code"], config).columns == ("owner_inst",)
    assert table_scope("s", ["a"], config).kind == "shared"
    assert table_scope("other", ["a"], config).kind == "head_office"
    with pytest.raises(AccessConfigError, match="scope_columns.mart_x names column 'owner_inst'"):
        table_scope("mart_x", ["inst_code"], config)


def test_the_shipped_access_config():
    config = load_access_config()
    assert config.shared_tables == frozenset({"publication_log", "dim_date", "dim_product"})
    assert config.scope_lookups["mart_rm_nine_grid"] == ("rm_id", "dim_rm")
    assert "quarantine_records" in config.never_load


def test_money_stays_exact_and_odd_types_are_refused():
    assert map_column("t", "aum_cny", "DECIMAL(18,2)").postgres_type == "numeric(18,2)"
    assert map_column("t", "n", "BIGINT").postgres_type == "bigint"
    assert map_column("t", "l", "VARCHAR[]").postgres_type == "jsonb"
    assert map_column("t", "e", "ENUM('a', 'b')").postgres_type == "text"
    with pytest.raises(UnsupportedColumnType, match="table t, column v: DuckDB type VARINT"):
        map_column("t", "v", "VARINT")


HEAD_OFFICE_ONLY = {"ingest_audit"}  # delivery events of the whole bank: head office reads them


def test_every_published_mart_reaches_the_institutions_it_is_about():
    """A published mart with no institution column and no scope lookup is readable by
    head-office roles only: mart_rm_pipeline_goals (rm_id, no institution) was empty for
    every branch manager that docs/serving.md sends to PostgreSQL. Each mart is placed in
    the tree, or listed here on purpose."""
    from pathlib import Path

    import yaml

    from clientmart.serving.publish import RESTRICTED_TAGS

    marts = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"
    config = load_access_config()
    scopes = {}
    for path in marts.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            if RESTRICTED_TAGS & set(model.get("config", {}).get("tags", [])):
                continue
            columns = [c["name"] for c in model.get("columns", [])]
            scopes[model["name"]] = table_scope(model["name"], columns, config).kind
    assert len(scopes) > 10
    assert {t for t, kind in scopes.items() if kind == "head_office"} == HEAD_OFFICE_ONLY
