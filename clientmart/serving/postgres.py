"""Load a publication of the marts into PostgreSQL, with a role per institution and RLS.

Why PostgreSQL at all: the serving DuckDB file has no users, so anyone who can open it reads
the whole bank. PostgreSQL gives each institution a role and filters rows with row-level
security, so a sub-branch dashboard sees its own clients only.

Why psycopg ``COPY`` in one transaction (and not DuckDB's postgres extension): the whole
publication - roles, scope tables, every mart - must become visible at once or not at all,
and psycopg lets one transaction hold all of it. DuckDB writes each mart as CSV (its own
exact text for DECIMAL, dates and NULL vs empty string) to a temporary file, and the file is
streamed into ``COPY ... FROM STDIN``: bulk on both sides, memory bounded by one buffer.

Why load aside and swap: each mart is loaded into the private ``loader`` schema (readers are
not blocked while it loads), then - at the end of the same transaction - the old tables in
``marts`` are locked, dropped, and the new ones moved in. A reader sees the old publication
or the new one, never a mix; a query that waited on the lock re-resolves the table name and
reads the new one. If a long BI query holds a table, the swap waits at most
``LOCK_TIMEOUT`` per attempt and retries (a deadlock with a multi-table reader is retried
the same way), so a dashboard can delay the load but not break it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from psycopg import errors, sql

from clientmart.serving.exports import TableChange
from clientmart.serving.postgres_access import (
    ACCESS_SCHEMA,
    HEAD_OFFICE_LEVEL,
    INSTITUTION_COLUMNS,
    INSTITUTION_TABLE,
    MARTS_SCHEMA,
    MAX_IDENTIFIER,
    READER_ROLE,
    AccessConfig,
    AccessConfigError,
    Institution,
    InstitutionRole,
    TableScope,
    access_grants_sql,
    access_objects_sql,
    institution_roles,
    load_access_config,
    policy_sql,
    table_scope,
)
from clientmart.serving.postgres_types import (
    ColumnMapping,
    UnsupportedColumnType,
    map_column,
    quote_duckdb,
)
from clientmart.serving.publish import (
    PUBLICATION_CHANGES,
    key_filter,
    latest_publication,
    serving_path,
)
from clientmart.settings import Settings
from ingest.spec import load_feeds

log = logging.getLogger(__name__)

LOADER_SCHEMA = "loader"
PUBLICATION_LOG = "publication_log"
LOAD_LOCK_KEY = 0x636C69656E746D61  # "clientma": one loader at a time per database
LOCK_TIMEOUT = "5s"
SWAP_ATTEMPTS = 12
COPY_BUFFER = 1 << 20


class PostgresLoadError(RuntimeError):
    """The publication cannot be loaded; nothing was changed in PostgreSQL."""


@dataclass(frozen=True)
class TablePlan:
    name: str
    columns: tuple[ColumnMapping, ...]
    scope: TableScope
    row_count: int

    def layout(self, key_column: str | None) -> dict[str, object]:
        """What a table updated by keys must still match: its columns, scope and key column."""
        return {
            "columns": [[c.name, c.postgres_type] for c in self.columns],
            "scope": self.scope.describe(),
            "key": key_column,
        }


@dataclass(frozen=True)
class HeldLoad:
    """The publication PostgreSQL holds (the last row of ``loader.load_log``): each table's
    rows and layout, as that load left them."""

    publication_id: str
    row_counts: dict[str, int]
    layouts: dict[str, dict[str, object]]


@dataclass(frozen=True)
class PostgresLoadResult:
    """What one load did: tables (name -> rows held after it), the rows it wrote per table,
    the tables it updated by keys (the others were loaded whole), each table's scope, the
    institution roles."""

    publication_id: str
    tables: dict[str, int]
    rows_written: dict[str, int]
    updated_by_keys: tuple[str, ...]
    scopes: dict[str, str]
    roles: tuple[str, ...]
    roles_created: tuple[str, ...]
    tables_dropped: tuple[str, ...]
    tables_skipped: tuple[str, ...]
    seconds: float


def load_publication(
    settings: Settings, serving_db: Path, publication_id: str
) -> PostgresLoadResult:
    """Load every table of the serving copy ``serving_db`` into ``settings.postgres_dsn``.

    Call after each publication when ``settings.postgres_dsn`` is set. Runs in one
    transaction: on any error PostgreSQL keeps the previous publication untouched.
    """
    if not settings.postgres_dsn:
        raise PostgresLoadError(
            "the PostgreSQL serving target is off: set CLIENTMART_POSTGRES_DSN to the loader's "
            "connection string (see docs/serving.md)"
        )
    serving_db = Path(serving_db)
    if not serving_db.exists():
        raise PostgresLoadError(f"serving copy {serving_db} does not exist: publish first")
    started = time.monotonic()
    duck = duckdb.connect(str(serving_db), read_only=True)
    try:
        duck.execute("SET TimeZone = 'UTC'")
        _check_publication(duck, serving_db, publication_id)
        config = load_access_config()
        plans = _plan_tables(duck, serving_db, config)
        skipped = _tables_present(duck) & config.never_load
        recorded = _recorded_changes(duck)
        key_columns = {  # the incremental marts' key columns
            mart: key for mart, (_, key, _) in recorded.get(publication_id, {}).items() if key
        }
        roles = institution_roles(_read_institutions(duck, serving_db))
        with (
            tempfile.TemporaryDirectory(prefix="clientmart-pg-") as tmp,
            psycopg.connect(
                settings.postgres_dsn, autocommit=False, application_name="clientmart-loader"
            ) as conn,
        ):
            with conn.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOAD_LOCK_KEY])
                _prepare_schemas(cur)
                created = _sync_roles(cur, roles)
                held = _held_load(cur)
                _refuse_older(held, publication_id)
                changes = _changes_since(recorded, held.publication_id if held else None)
                marts = _marts_present(cur)
                counts: dict[str, int] = {}
                written: dict[str, int] = {}
                layouts: dict[str, dict[str, object]] = {}
                whole: list[str] = []
                for plan in plans:
                    key_column = key_columns.get(plan.name)
                    layouts[plan.name] = plan.layout(key_column)
                    change = _change_to_apply(
                        plan, layouts[plan.name], held, changes, marts, whole, publication_id
                    )
                    rows = (
                        None
                        if change is None or held is None
                        else _update_table(
                            cur, duck, plan, change, held.row_counts[plan.name], Path(tmp)
                        )
                    )
                    if rows is None:
                        via = LOADER_SCHEMA if plan.scope.via in whole else MARTS_SCHEMA
                        rows = _load_table(cur, duck, plan, key_column, via, Path(tmp))
                        whole.append(plan.name)
                    written[plan.name] = rows
                    counts[plan.name] = plan.row_count
                dropped = _swap(cur, whole, [p.name for p in plans])
                by_keys = tuple(p.name for p in plans if p.name not in whole)
                cur.execute(
                    sql.SQL(
                        "INSERT INTO {}.load_log (publication_id, row_counts, roles_created, "
                        "layouts, updated_by_keys) VALUES (%s, %s, %s, %s, %s)"
                    ).format(sql.Identifier(LOADER_SCHEMA)),
                    [
                        publication_id,
                        json.dumps(counts, sort_keys=True),
                        list(created),
                        json.dumps(layouts, sort_keys=True),
                        list(by_keys),
                    ],
                )
            conn.commit()
    except (AccessConfigError, UnsupportedColumnType) as exc:
        raise PostgresLoadError(f"{serving_db}: {exc}") from exc
    except psycopg.Error as exc:  # rolled back: the previous publication stays
        raise PostgresLoadError(
            f"loading publication {publication_id} into PostgreSQL failed, nothing was "
            f"changed there: {type(exc).__name__}: {str(exc).strip()}"
        ) from exc
    finally:
        duck.close()
    seconds = time.monotonic() - started
    log.info(
        "publication %s loaded into PostgreSQL: %d tables (%d whole, %d by keys), %d rows "
        "written, %d roles (%d new) in %.1f s",
        publication_id,
        len(counts),
        len(whole),
        len(by_keys),
        sum(written.values()),
        len(roles),
        len(created),
        seconds,
    )
    return PostgresLoadResult(
        publication_id=publication_id,
        tables=counts,
        rows_written=written,
        updated_by_keys=by_keys,
        scopes={p.name: p.scope.describe() for p in plans},
        roles=tuple(r.role_name for r in roles),
        roles_created=tuple(created),
        tables_dropped=tuple(dropped),
        tables_skipped=tuple(sorted(skipped)),
        seconds=seconds,
    )


def load_served_publication(settings: Settings) -> PostgresLoadResult:
    """Load the publication the serving copy holds (its latest ``publication_log`` row): what
    the pipeline does after each publication, and ``clientmart load-postgres`` by hand."""
    latest = latest_publication(settings.serving)
    if latest is None:
        raise PostgresLoadError(
            f"no publication in {serving_path(settings.serving)} to load: publish first"
        )
    return load_publication(settings, serving_path(settings.serving), str(latest["publication_id"]))


def _check_publication(
    duck: duckdb.DuckDBPyConnection, serving_db: Path, publication_id: str
) -> None:
    """Refuse to load a file that is not the publication the caller means."""
    if PUBLICATION_LOG not in _tables_present(duck):
        raise PostgresLoadError(
            f"{serving_db}: no {PUBLICATION_LOG} table; this is not a serving copy written by "
            "clientmart.serving.publish"
        )
    latest = duck.execute(
        f"SELECT publication_id FROM main.{PUBLICATION_LOG} ORDER BY published_at DESC LIMIT 1"
    ).fetchall()
    if not latest or latest[0][0] != publication_id:
        held = latest[0][0] if latest else "none"
        raise PostgresLoadError(
            f"{serving_db}: latest publication is {held}, not {publication_id}; a newer publish "
            "may have replaced the file - load the publication it holds"
        )


def _tables_present(duck: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in duck.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchall()
    }


def _personal_columns() -> frozenset[str]:
    return frozenset(
        column.name for feed in load_feeds().values() for column in feed.columns if column.pii
    )


def _plan_tables(
    duck: duckdb.DuckDBPyConnection, serving_db: Path, config: AccessConfig
) -> list[TablePlan]:
    rows = duck.execute(
        "SELECT t.table_name, c.column_name, c.data_type FROM duckdb_tables() t "
        "JOIN duckdb_columns() c USING (database_name, schema_name, table_name) "
        "WHERE t.database_name = current_database() AND t.schema_name = 'main' "
        "ORDER BY t.table_name, c.column_index"
    ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    if INSTITUTION_TABLE not in columns:
        raise PostgresLoadError(
            f"{serving_db}: no {INSTITUTION_TABLE} table; the roles are generated from it"
        )
    personal = _personal_columns()
    plans = []
    for table, cols in columns.items():
        if table == PUBLICATION_CHANGES:
            continue  # the loader's input (what each publication changed), not a mart
        if table in config.never_load:
            log.warning(
                "%s: table %s is never loaded into PostgreSQL (never_load)", serving_db, table
            )
            continue
        clear = [name for name, _ in cols if name.lower() in personal]
        if clear:
            raise PostgresLoadError(
                f"{serving_db}: table {table} has column(s) {', '.join(clear)}, personal data "
                "in clear text (pii in ingest/feeds.yml); marts carry only pseudonymous keys and "
                "masked forms - nothing was loaded"
            )
        mappings = tuple(map_column(table, name, data_type) for name, data_type in cols)
        count = duck.execute(f"SELECT count(*) FROM main.{quote_duckdb(table)}").fetchall()[0][0]
        scope = table_scope(table, [name for name, _ in cols], config)
        plans.append(TablePlan(table, mappings, scope, count))
    by_name = {plan.name: plan for plan in plans}
    for plan in plans:
        if plan.scope.kind != "lookup":
            continue
        via = by_name.get(plan.scope.via or "")
        if (
            via is None
            or via.scope.kind != "institution"
            or plan.scope.columns[0] not in {c.name for c in via.columns}
        ):
            raise PostgresLoadError(
                f"{serving_db}: table {plan.name} is scoped via {plan.scope.via} "
                f"(scope_lookups), which must be an institution-scoped table of the publication "
                f"with column {plan.scope.columns[0]}"
            )
    # lookup tables are secured by a policy that reads their via table: load those first
    return sorted(plans, key=lambda p: (p.scope.kind == "lookup", p.name))


def _read_institutions(duck: duckdb.DuckDBPyConnection, serving_db: Path) -> list[Institution]:
    present = {
        name
        for (name,) in duck.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND table_name = ?",
            [INSTITUTION_TABLE],
        ).fetchall()
    }
    missing = [c for c in INSTITUTION_COLUMNS if c not in present]
    if missing:
        raise PostgresLoadError(
            f"{serving_db}: {INSTITUTION_TABLE} lacks column(s) {', '.join(missing)}"
        )
    select = ", ".join(
        f"CAST({quote_duckdb(c)} AS {'INTEGER' if c == 'inst_level' else 'VARCHAR'})"
        for c in INSTITUTION_COLUMNS
    )
    rows = duck.execute(
        f"SELECT {select} FROM main.{INSTITUTION_TABLE} ORDER BY inst_code"
    ).fetchall()
    return [Institution(*row) for row in rows]


def _prepare_schemas(cur: psycopg.Cursor) -> None:
    """Schemas, the reader group and the access tables; idempotent, inside the transaction."""
    for schema in (MARTS_SCHEMA, ACCESS_SCHEMA, LOADER_SCHEMA):
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    reader = sql.Identifier(READER_ROLE)
    if not _role_exists(cur, READER_ROLE):
        cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(reader))
    _refuse_powerful_role(cur, READER_ROLE)
    # Grants and objects only when missing: readers must never wait on this transaction.
    database = cur.execute("SELECT current_database()").fetchall()[0][0]
    if not _fetch_one(
        cur, "SELECT has_database_privilege(%s, %s, 'CONNECT')", [READER_ROLE, database]
    ):
        cur.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), reader)
        )
    for schema in (MARTS_SCHEMA, ACCESS_SCHEMA):
        if not _fetch_one(
            cur, "SELECT has_schema_privilege(%s, %s, 'USAGE')", [READER_ROLE, schema]
        ):
            cur.execute(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), reader)
            )
    cur.execute(
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(LOADER_SCHEMA))
    )
    cur.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.load_log (publication_id text NOT NULL, "
            "loaded_at timestamptz NOT NULL DEFAULT now(), row_counts jsonb NOT NULL, "
            "roles_created text[] NOT NULL)"
        ).format(sql.Identifier(LOADER_SCHEMA))
    )
    for column, column_type in (("layouts", "jsonb"), ("updated_by_keys", "text[]")):
        if not _fetch_one(
            cur,
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'load_log' AND column_name = %s",
            [LOADER_SCHEMA, column],
        ):  # a load_log of an earlier release: its loads are taken as layouts unknown
            cur.execute(
                sql.SQL("ALTER TABLE {}.load_log ADD COLUMN {} {}").format(
                    sql.Identifier(LOADER_SCHEMA), sql.Identifier(column), sql.SQL(column_type)
                )
            )
    for name, statement in access_objects_sql().items():
        if _fetch_one(cur, "SELECT to_regclass(%s)", [f"{ACCESS_SCHEMA}.{name}"]) is None:
            cur.execute(statement)
            for grant in access_grants_sql(name):
                cur.execute(grant)


def _fetch_one(cur: psycopg.Cursor, query: str, params: Sequence[object]) -> object:
    return cur.execute(query, params).fetchall()[0][0]


def _role_exists(cur: psycopg.Cursor, name: str) -> bool:
    return bool(cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchall())


def _refuse_powerful_role(cur: psycopg.Cursor, name: str) -> None:
    """A role we hand out must not log in or bypass RLS; someone else made it if it does."""
    row = cur.execute(
        "SELECT rolcanlogin OR rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", [name]
    ).fetchall()
    if row and row[0][0]:
        raise PostgresLoadError(
            f"role {name} exists with LOGIN, SUPERUSER or BYPASSRLS; clientmart hands out its "
            "institution roles only as NOLOGIN groups - drop or rename that role first"
        )


def _sync_roles(cur: psycopg.Cursor, roles: Sequence[InstitutionRole]) -> list[str]:
    """Create missing roles and rewrite the scope tables; roles no longer in the tree stay
    (people may still be granted them) but lose every row of scope."""
    created = []
    reader = sql.Identifier(READER_ROLE)
    for role in roles:
        if not _role_exists(cur, role.role_name):
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role.role_name)))
            cur.execute(sql.SQL("GRANT {} TO {}").format(reader, sql.Identifier(role.role_name)))
            created.append(role.role_name)
        else:
            _refuse_powerful_role(cur, role.role_name)
            member = cur.execute(
                "SELECT pg_has_role(%s, %s, 'MEMBER')", [role.role_name, READER_ROLE]
            ).fetchall()[0][0]
            if not member:
                cur.execute(
                    sql.SQL("GRANT {} TO {}").format(reader, sql.Identifier(role.role_name))
                )
    access = sql.Identifier(ACCESS_SCHEMA)
    cur.execute(sql.SQL("DELETE FROM {}.role_scope").format(access))
    cur.execute(sql.SQL("DELETE FROM {}.institution_role").format(access))
    with cur.copy(
        sql.SQL("COPY {}.institution_role (role_name, inst_code, inst_level) FROM STDIN").format(
            access
        )
    ) as copy:
        for role in roles:
            copy.write_row((role.role_name, role.inst_code, role.inst_level))
    with cur.copy(
        sql.SQL("COPY {}.role_scope (role_name, inst_code) FROM STDIN").format(access)
    ) as copy:
        for role in roles:
            for code in role.scope:
                copy.write_row((role.role_name, code))
    if not any(r.inst_level == HEAD_OFFICE_LEVEL for r in roles):
        log.warning(
            "%s has no institution of level %d: no role reads unscoped tables",
            INSTITUTION_TABLE,
            HEAD_OFFICE_LEVEL,
        )
    return created


_PUBLISHED_AT = re.compile(r"\d{8}T\d{6}")  # a publication id starts with its UTC time


def _refuse_older(held: HeldLoad | None, publication_id: str) -> None:
    """Refuse to replace the publication PostgreSQL holds with an older one: a load that
    waited on the lock (or a hand load of an older copy) while a newer publication was
    loaded would put BI back a night. Ids of another shape (tests, earlier releases) are
    not compared."""
    if held is None:
        return
    mine, theirs = _PUBLISHED_AT.match(publication_id), _PUBLISHED_AT.match(held.publication_id)
    if mine and theirs and theirs.group() > mine.group():
        raise PostgresLoadError(
            f"PostgreSQL holds publication {held.publication_id}, newer than "
            f"{publication_id}: nothing was changed there. Load the serving copy's latest "
            "publication (clientmart load-postgres)."
        )


def _held_load(cur: psycopg.Cursor) -> HeldLoad | None:
    """The publication the marts schema holds: the last load's, with its tables' rows and
    layouts (none known for a load of an earlier release, whose tables are loaded whole)."""
    rows = cur.execute(
        sql.SQL(
            "SELECT publication_id, row_counts, layouts FROM {}.load_log "
            "ORDER BY loaded_at DESC LIMIT 1"
        ).format(sql.Identifier(LOADER_SCHEMA))
    ).fetchall()
    if not rows:
        return None
    publication_id, counts, layouts = rows[0]
    return HeldLoad(publication_id, dict(counts), dict(layouts or {}))


# per publication (oldest first), each mart's recorded change: (whole, key column, key values)
Recorded = dict[str, dict[str, tuple[bool, str | None, list[str] | None]]]


def _recorded_changes(duck: duckdb.DuckDBPyConnection) -> Recorded:
    """Every publication of the serving copy's log, oldest first, with its rows of
    ``publication_changes`` (none for a publication whose rows are not kept, or a copy of
    an earlier release without the table), in one read."""
    recorded: Recorded = {}
    if PUBLICATION_CHANGES not in _tables_present(duck):
        return recorded
    for pid, mart, whole, key_column, keys in duck.execute(
        f"SELECT l.publication_id, c.mart, c.whole, c.key_column, c.key_values "
        f"FROM main.{PUBLICATION_LOG} AS l LEFT JOIN main.{PUBLICATION_CHANGES} AS c "
        "USING (publication_id) ORDER BY l.published_at, c.mart"
    ).fetchall():
        marts = recorded.setdefault(pid, {})
        if mart is not None:
            marts[mart] = (whole, key_column, keys)
    return recorded


def _changes_since(recorded: Recorded, held: str | None) -> dict[str, TableChange] | None:
    """What each table changed since the publication ``held`` up to the serving copy's
    latest, merged from ``recorded``: a table changed whole in any publication between is
    whole, else the union of the key values. None when the copy cannot tell: no publication
    held, one the copy's log does not hold, or a publication between whose changes are not
    kept (CHANGES_KEPT, a serving copy of an earlier release)."""
    order = list(recorded)
    if held is None or held not in order:
        return None
    between = [recorded[pid] for pid in order[order.index(held) + 1 :]]
    if not all(between):
        return None
    merged: dict[str, TableChange] = {}
    for mart in set().union(*between):
        seen = [changes.get(mart) for changes in between]
        key_columns = {s[1] for s in seen if s is not None}
        key_column = key_columns.pop() if len(key_columns) == 1 else None
        if any(s is None or s[0] for s in seen) or key_column is None:
            merged[mart] = TableChange(whole=True, key_column=key_column)
        else:
            keys = frozenset(k for s in seen for k in s[2] or ())
            merged[mart] = TableChange(whole=False, keys=keys, key_column=key_column)
    return merged


def _marts_present(cur: psycopg.Cursor) -> set[str]:
    return {
        name
        for (name,) in cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", [MARTS_SCHEMA]
        ).fetchall()
    }


def _change_to_apply(
    plan: TablePlan,
    layout: dict[str, object],
    held: HeldLoad | None,
    changes: dict[str, TableChange] | None,
    marts: set[str],
    whole: Sequence[str],
    publication_id: str,
) -> TableChange | None:
    """The keys a table is brought up by, or None to load it whole. By keys only when
    PostgreSQL holds the table as the held load left it (same columns, scope and key
    column) and the serving copy says what changed since. A lookup table whose via table
    is loaded whole is loaded whole too: its policy reads the via table the swap replaces."""
    if held is None or changes is None:
        return None
    if plan.name not in marts or plan.name not in held.row_counts:
        return None
    if held.layouts.get(plan.name) != layout:
        return None
    if plan.scope.kind == "lookup" and plan.scope.via in whole:
        return None
    if held.publication_id == publication_id:  # loaded again: nothing changed since
        return TableChange(whole=False)
    change = changes.get(plan.name)
    if change is None or change.whole or change.key_column != layout["key"]:
        return None
    return change


def _load_table(
    cur: psycopg.Cursor,
    duck: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    key_column: str | None,
    via_schema: str,
    tmp: Path,
) -> int:
    """Create ``loader.<table>``, COPY the mart in, index its key column (the next load's
    deletes find their rows by it, and BI's filters on a date or month too), secure it;
    return the rows loaded."""
    target = sql.Identifier(LOADER_SCHEMA, plan.name)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    cur.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            target,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.postgres_type))
                for c in plan.columns
            ),
        )
    )
    loaded = _copy_rows(cur, duck, plan, target, None, tmp)
    if loaded != plan.row_count:
        raise PostgresLoadError(
            f"table {plan.name}: COPY loaded {loaded} rows, the serving copy holds "
            f"{plan.row_count}; nothing was changed"
        )
    if key_column is not None:
        index = sql.Identifier(f"{plan.name}__key_idx"[:MAX_IDENTIFIER])
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} ({})").format(index, target, sql.Identifier(key_column))
        )
    for statement in policy_sql(LOADER_SCHEMA, plan.name, plan.scope, via_schema):
        cur.execute(statement)
    cur.execute(sql.SQL("ANALYZE {}").format(target))
    log.info("loaded %s whole: %d rows, scope %s", plan.name, loaded, plan.scope.describe())
    return loaded


def _update_table(
    cur: psycopg.Cursor,
    duck: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    change: TableChange,
    held_rows: int,
    tmp: Path,
) -> int | None:
    """Bring ``marts.<table>`` up by the rows of the changed keys (delete, then COPY them
    from the serving copy); return the rows written, or None when the table's rows then
    disagree with the serving copy's count (rows changed outside the listed keys): undone,
    and the caller loads the table whole."""
    target = sql.Identifier(MARTS_SCHEMA, plan.name)
    cur.execute("SAVEPOINT by_keys")
    deleted = inserted = 0
    if change.keys:
        key = next(c for c in plan.columns if c.name == change.key_column)
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s::{}[])").format(
                target, sql.Identifier(key.name), sql.SQL(key.postgres_type)
            ),
            [sorted(change.keys)],
        )
        deleted = cur.rowcount
        inserted = _copy_rows(cur, duck, plan, target, (key, change.keys), tmp)
    if held_rows - deleted + inserted != plan.row_count:
        cur.execute("ROLLBACK TO SAVEPOINT by_keys")
        log.warning(
            "PostgreSQL %s: %d rows after replacing %d key value(s), the serving copy holds "
            "%d (rows changed outside the listed keys); loaded whole",
            plan.name,
            held_rows - deleted + inserted,
            len(change.keys),
            plan.row_count,
        )
        return None
    cur.execute("RELEASE SAVEPOINT by_keys")
    if change.keys:
        cur.execute(sql.SQL("ANALYZE {}").format(target))
    log.info(
        "updated %s by %d key value(s): %d rows deleted, %d written",
        plan.name,
        len(change.keys),
        deleted,
        inserted,
    )
    return inserted


def _copy_rows(
    cur: psycopg.Cursor,
    duck: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    target: sql.Composable,
    keys: tuple[ColumnMapping, frozenset[str]] | None,
    tmp: Path,
) -> int:
    """COPY the serving copy's rows of a table (all of them, or those of ``keys``: the key
    column and its values) into ``target``, through a CSV file DuckDB writes."""
    csv_path = tmp / f"{plan.name}.csv"
    select = ", ".join(c.export_sql for c in plan.columns)
    where = ""
    if keys is not None:
        column, values = keys
        where = " WHERE " + key_filter(duck, quote_duckdb(column.name), column.duckdb_type, values)
    duck.execute(
        f"COPY (SELECT {select} FROM main.{quote_duckdb(plan.name)}{where}) "
        f"TO '{str(csv_path).replace(chr(39), chr(39) * 2)}' (FORMAT csv, HEADER false)"
    )
    duck.execute("DROP TABLE IF EXISTS publish_keys")
    try:
        return _copy_table(cur, target, plan.columns, csv_path)
    finally:
        csv_path.unlink(missing_ok=True)


def _copy_table(
    cur: psycopg.Cursor,
    target: sql.Composable,
    columns: Sequence[ColumnMapping],
    csv_path: Path,
) -> int:
    """Stream a DuckDB-written CSV file into ``COPY ... FROM STDIN``; return rows copied."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    )
    with cur.copy(statement) as copy, open(csv_path, "rb") as handle:
        while chunk := handle.read(COPY_BUFFER):
            copy.write(chunk)
    return cur.rowcount


def _swap(cur: psycopg.Cursor, loaded: Sequence[str], published: Sequence[str]) -> list[str]:
    """Replace the tables of ``marts`` loaded whole by their new ones and drop those no
    longer ``published`` (tables updated by keys stay); return the marts dropped."""
    marts = sql.Identifier(MARTS_SCHEMA)
    existing = [
        name
        for (name,) in cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
            [MARTS_SCHEMA],
        ).fetchall()
        if name in loaded or name not in published
    ]
    stale = [name for name in existing if name not in published]
    tables = loaded
    last_error: Exception | None = None
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        cur.execute("SAVEPOINT swap")
        try:
            cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            if existing:
                olds = sql.SQL(", ").join(sql.Identifier(MARTS_SCHEMA, t) for t in existing)
                cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(olds))
                # one DROP for all: a lookup policy depends on its via table, both go together
                cur.execute(sql.SQL("DROP TABLE {}").format(olds))
            for table in tables:
                cur.execute(
                    sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                        sql.Identifier(LOADER_SCHEMA, table), marts
                    )
                )
            cur.execute("RELEASE SAVEPOINT swap")
            return stale
        except (errors.LockNotAvailable, errors.DeadlockDetected) as exc:
            cur.execute("ROLLBACK TO SAVEPOINT swap")
            last_error = exc
            log.warning("swap attempt %d: readers hold the marts (%s); retrying", attempt, exc)
            time.sleep(min(0.2 * attempt, 2.0))
        except errors.DependentObjectsStillExist as exc:
            raise PostgresLoadError(
                f"cannot replace the marts: {exc.diag.message_detail or exc}; objects made by "
                "hand on the marts tables (views, foreign keys) must be dropped - the loader "
                "replaces every table at each publication"
            ) from exc
    raise PostgresLoadError(
        f"could not take the marts tables for the swap after {SWAP_ATTEMPTS} attempts: long "
        f"queries hold them ({last_error}); nothing was changed - run the load again"
    )


def loaded_publications(settings: Settings, limit: int = 10) -> list[tuple[str, dt.datetime]]:
    """The last publications loaded into PostgreSQL (newest first), from ``loader.load_log``."""
    if not settings.postgres_dsn:
        return []
    with psycopg.connect(settings.postgres_dsn) as conn:
        return [
            (pid, at)
            for pid, at in conn.execute(
                sql.SQL(
                    "SELECT publication_id, loaded_at FROM {}.load_log "
                    "ORDER BY loaded_at DESC LIMIT %s"
                ).format(sql.Identifier(LOADER_SCHEMA)),
                [limit],
            ).fetchall()
        ]
