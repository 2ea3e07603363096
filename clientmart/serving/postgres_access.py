"""Roles and row-level security for the PostgreSQL serving target.

Why roles per institution and not per person: the bank's remit rule is about institutions
(a sub-branch sees its clients, a branch its subtree, head office everything), and people
move. So the loader keeps one NOLOGIN role per institution, generated from ``dim_institution``
at every publication, and a DBA grants a person's login role membership in the role of the
institution they work for. Policies ask PostgreSQL "is the current user a member of a role
whose scope holds this row's institution?", so changing a person's remit is one GRANT or
REVOKE, and changing the tree is the next publication.

The scope of a role is its institution and every institution below it, read from the
hierarchy columns of ``dim_institution`` (no recursion needed: an outlet row names its
sub-branch, branch and head office).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from psycopg import sql

READER_ROLE = "clientmart_reader"
ROLE_PREFIX = "inst_"
MARTS_SCHEMA = "marts"
ACCESS_SCHEMA = "access"
HEAD_OFFICE_LEVEL = 1
INSTITUTION_TABLE = "dim_institution"
HIERARCHY_COLUMNS = ("head_office_code", "branch_code", "sub_branch_code", "outlet_code")
INSTITUTION_COLUMNS = ("inst_code", "inst_level", *HIERARCHY_COLUMNS)
ACCESS_CONFIG_PATH = Path(__file__).with_name("postgres_access.yml")
MAX_IDENTIFIER = 63


class AccessConfigError(ValueError):
    """The institution reference data or the access configuration cannot give sound roles."""


@dataclass(frozen=True)
class Institution:
    inst_code: str
    inst_level: int | None
    head_office_code: str | None
    branch_code: str | None
    sub_branch_code: str | None
    outlet_code: str | None

    @property
    def ancestors_and_self(self) -> set[str]:
        levels = (self.head_office_code, self.branch_code, self.sub_branch_code, self.outlet_code)
        return {self.inst_code, *(code for code in levels if code is not None)}


@dataclass(frozen=True)
class InstitutionRole:
    """One generated role: whose it is and which institutions' rows it may read."""

    role_name: str
    inst_code: str
    inst_level: int | None
    scope: tuple[str, ...]


@dataclass(frozen=True)
class AccessConfig:
    scope_columns: dict[str, str]
    shared_tables: frozenset[str]
    scope_lookups: dict[str, tuple[str, str]] = field(default_factory=dict)
    never_load: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TableScope:
    """How rows of one table are matched to roles.

    ``kind``: ``institution`` (rows carry an institution, ``expression`` computes it),
    ``lookup`` (``columns[0]`` must appear in the visible rows of table ``via``), ``shared``
    (every institution role reads all rows) or ``head_office`` (no institution column and
    not declared shared: only head-office roles read it).
    """

    kind: str
    columns: tuple[str, ...] = ()
    via: str | None = None

    @property
    def expression(self) -> sql.Composable:
        idents = [sql.Identifier(c) for c in self.columns]
        if len(idents) == 1:
            return idents[0]
        return sql.SQL("coalesce({})").format(sql.SQL(", ").join(idents))

    def describe(self) -> str:
        if self.kind == "lookup":
            return f"{self.columns[0]} via {self.via}"
        if self.kind != "institution":
            return self.kind
        if len(self.columns) == 1:
            return self.columns[0]
        return "coalesce(" + ", ".join(self.columns) + ")"


@cache
def load_access_config(path: Path = ACCESS_CONFIG_PATH) -> AccessConfig:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lookups = {}
    for table, rule in (doc.get("scope_lookups") or {}).items():
        if not isinstance(rule, dict) or set(rule) != {"column", "via"}:
            raise AccessConfigError(f"{path.name}: scope_lookups.{table} needs column and via")
        lookups[table] = (rule["column"], rule["via"])
    return AccessConfig(
        scope_columns=dict(doc.get("scope_columns") or {}),
        shared_tables=frozenset(doc.get("shared_tables") or ()),
        scope_lookups=lookups,
        never_load=frozenset(doc.get("never_load") or ()),
    )


def role_name(inst_code: str) -> str:
    """``inst_<code>``, lower-cased, anything but letters, digits and ``_`` turned into ``_``."""
    name = ROLE_PREFIX + re.sub(r"[^a-z0-9_]", "_", inst_code.strip().lower())
    if len(name.encode()) > MAX_IDENTIFIER:
        raise AccessConfigError(
            f"{INSTITUTION_TABLE}: inst_code {inst_code!r} gives role name {name!r}, longer than "
            f"PostgreSQL's {MAX_IDENTIFIER} bytes"
        )
    return name


def institution_roles(institutions: Iterable[Institution]) -> list[InstitutionRole]:
    """One role per institution; its scope is the institution and all below it."""
    rows = list(institutions)
    seen: dict[str, str] = {}
    for inst in rows:
        if not inst.inst_code:
            raise AccessConfigError(f"{INSTITUTION_TABLE}: a row has an empty inst_code")
        name = role_name(inst.inst_code)
        other = seen.get(name)
        if other is not None:
            raise AccessConfigError(
                f"{INSTITUTION_TABLE}: inst_code {other!r} and {inst.inst_code!r} both map to "
                f"role {name!r}"
            )
        seen[name] = inst.inst_code
    below: dict[str, set[str]] = {inst.inst_code: set() for inst in rows}
    for inst in rows:
        for code in inst.ancestors_and_self:
            if code in below:
                below[code].add(inst.inst_code)
    return [
        InstitutionRole(
            role_name=role_name(inst.inst_code),
            inst_code=inst.inst_code,
            inst_level=inst.inst_level,
            scope=tuple(sorted(below[inst.inst_code])),
        )
        for inst in sorted(rows, key=lambda i: i.inst_code)
    ]


def table_scope(table: str, columns: Sequence[str], config: AccessConfig) -> TableScope:
    """Which column(s) place a table's rows in the institution tree (see postgres_access.yml)."""
    present = set(columns)
    if table in config.scope_columns:
        column = config.scope_columns[table]
        if column not in present:
            raise AccessConfigError(
                f"{ACCESS_CONFIG_PATH.name}: scope_columns.{table} names column {column!r}, "
                f"which table {table} does not have"
            )
        return TableScope("institution", (column,))
    if table in config.scope_lookups:
        column, via = config.scope_lookups[table]
        if column not in present:
            raise AccessConfigError(
                f"{ACCESS_CONFIG_PATH.name}: scope_lookups.{table} names column {column!r}, "
                f"which table {table} does not have"
            )
        return TableScope("lookup", (column,), via)
    if "inst_code" in present:
        return TableScope("institution", ("inst_code",))
    hierarchy = tuple(c for c in reversed(HIERARCHY_COLUMNS) if c in present)
    if hierarchy:
        return TableScope("institution", hierarchy)
    if table in config.shared_tables:
        return TableScope("shared")
    return TableScope("head_office")


def access_objects_sql() -> dict[str, sql.Composable]:
    """The ``access`` schema, by object name: role tables and the two views every policy asks.

    The caller creates only the missing ones: replacing a view every load would lock out
    every reader (each policy reads the views) until the load commits.
    """
    a = sql.Identifier(ACCESS_SCHEMA)
    return {
        "institution_role": sql.SQL(
            "CREATE TABLE {}.institution_role (role_name text PRIMARY KEY, "
            "inst_code text NOT NULL UNIQUE, inst_level integer)"
        ).format(a),
        "role_scope": sql.SQL(
            "CREATE TABLE {}.role_scope (role_name text NOT NULL, "
            "inst_code text NOT NULL, PRIMARY KEY (role_name, inst_code))"
        ).format(a),
        # Membership is checked by role oid so that a role dropped by hand makes its rows
        # invisible instead of making every query fail.
        "my_institutions": sql.SQL(
            "CREATE VIEW {a}.my_institutions AS "
            "SELECT ir.role_name, ir.inst_code, ir.inst_level FROM {a}.institution_role ir "
            "JOIN pg_catalog.pg_roles r ON r.rolname = ir.role_name "
            "WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')"
        ).format(a=a),
        "my_scope": sql.SQL(
            "CREATE VIEW {a}.my_scope AS "
            "SELECT DISTINCT s.inst_code FROM {a}.role_scope s "
            "JOIN pg_catalog.pg_roles r ON r.rolname = s.role_name "
            "WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')"
        ).format(a=a),
    }


def access_grants_sql(name: str) -> list[sql.Composable]:
    """Readers may read the access objects (who they are, what they see); nobody else may."""
    target = sql.Identifier(ACCESS_SCHEMA, name)
    return [
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target),
        sql.SQL("GRANT SELECT ON {} TO {}").format(target, sql.Identifier(READER_ROLE)),
    ]


def policy_sql(
    schema: str, table: str, scope: TableScope, via_schema: str | None = None
) -> list[sql.Composable]:
    """Row-level security for one loaded table: read per scope, write for nobody but the owner.

    A ``lookup`` table's ``via`` table must already exist in ``via_schema`` (default
    ``schema``: loaded first, beside it; ``marts`` when the via table was updated in place);
    the policy's subquery reads it as the reader, so the via table's own policy applies.
    """
    target = sql.Identifier(schema, table)
    a = sql.Identifier(ACCESS_SCHEMA)
    # Head office reads every row, also rows whose institution is unknown or missing from
    # dim_institution; everyone else reads the rows of their scope.
    head_office = sql.SQL("EXISTS (SELECT 1 FROM {}.my_institutions WHERE inst_level = {})").format(
        a, sql.Literal(HEAD_OFFICE_LEVEL)
    )
    if scope.kind == "institution":
        using = sql.SQL("{ho} OR {e} IN (SELECT inst_code FROM {a}.my_scope)").format(
            e=scope.expression, a=a, ho=head_office
        )
    elif scope.kind == "lookup":
        column = sql.Identifier(scope.columns[0])
        using = sql.SQL("{ho} OR {c} IN (SELECT {c} FROM {via})").format(
            ho=head_office, c=column, via=sql.Identifier(via_schema or schema, scope.via)
        )
    elif scope.kind == "shared":
        using = sql.SQL("EXISTS (SELECT 1 FROM {}.my_institutions)").format(a)
    else:
        using = head_office
    statements: list[sql.Composable] = [
        sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target),
        sql.SQL("CREATE POLICY institution_scope ON {} FOR SELECT TO PUBLIC USING ({})").format(
            target, using
        ),
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target),
        sql.SQL("GRANT SELECT ON {} TO {}").format(target, sql.Identifier(READER_ROLE)),
    ]
    if scope.kind in ("institution", "lookup"):
        index = sql.Identifier(f"{table}__scope_idx"[:MAX_IDENTIFIER])
        statements.insert(
            0, sql.SQL("CREATE INDEX {} ON {} (({}))").format(index, target, scope.expression)
        )
    return statements
