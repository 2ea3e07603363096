"""Publish the marts from the build warehouse into the serving copy that BI tools read.

Why a copy: DuckDB allows one writer or many readers, never both. If dashboards opened the
build warehouse, a nightly run would wait for them (or they for it). Instead the pipeline
writes a complete new serving file aside and swaps it in with one ``os.replace``: a reader
that already has the old file open keeps reading the old publication, a reader that opens
after the swap sees the new one, and nobody ever sees half of each. A publish that dies
midway leaves only a stray temporary file; the previous publication stays in place.

Incremental: the new file is brought up from an earlier publication, and an incremental mart
(dbt delete+insert on one key column) gets only the key values written since that
publication, read from the build's write log (dbt macro ``incremental_writes``); marts built
as tables are copied whole. Whatever the log cannot vouch for is copied whole: no earlier
publication, a mart new or with other columns, a table rebuilt whole (first build, full
refresh), a row count that disagrees after the update, or a file that grew past
``COMPACT_RATIO`` of its content.

Which earlier publication (double buffering): the swap keeps the file it replaces as
``clientmart.duckdb.standby``, and the next publish takes that file over and brings it up by
the writes of the last two nights. Copying the current file instead would cost its whole size
every night, the history's and not the night's: at 1M clients the file is 0.74 GB after nine
nights and grows by about 55 MB a night (some 10 GB after six months); 0.4-0.7 GB took
1.2-5 s to copy on the benchmark machine. The current file is copied as before when the
standby cannot be taken: a reader still holds it (a connection opened before the last swap:
DuckDB's lock refuses the writer), this process has it open, or it is missing. So the serving
folder holds two publications. It is also copied when the standby would cost more: the
publication between the two came from a range (a backfill), whose rows the standby would
have to write again. At 1M clients the night after a 23-day range published in 50 s from the
standby instead of about 10 s (STANDBY_ROW_COST). Neither is taken when it is in another
storage format than the publication's (SERVING_STORAGE_VERSION): the first publication after
a change of format starts from an empty file.

Memory: the publication's DuckDB runs under ``memory_limit`` (Settings.publish_memory_limit)
and spills beyond it. Without one DuckDB takes up to 80% of RAM, mostly as cache of the
blocks it read: a month's range at 1M clients published with a 4.9 GB peak, and with 98 s
instead of 109 s under 2 GB (2.25 GB peak; docs/benchmark.md).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from clientmart.serving.exports import (
    Source,
    TableChange,
    export_again,
    export_marts,
    swap_exports,
)

SERVING_FILE = "clientmart.duckdb"
STANDBY_SUFFIX = ".standby"  # the publication before the current one: the next one's base
PUBLICATION_LOG = "publication_log"
WRITE_LOG = "incremental_writes"  # in the build warehouse (dbt macros/incremental_writes.sql)
RESTRICTED_TAGS = {"pii", "restricted"}
# The serving file's storage format by default: the one every DuckDB since 1.0 reads
# (DuckDB 1.5's default for a new file), so a BI tool on an older DuckDB than the pipeline's
# opens it. DuckDB 2.0 writes its own format by default, which no 1.x reader opens. A bank
# whose readers are all on DuckDB 1.5 or later can choose "v1.5.0"
# (Settings.serving_storage_version): its string compression writes the night's rows with
# about a fifth less CPU. A file keeps the format it was created in, so a file in another
# format is never a publication's base. (The build warehouse, read only by the pipeline,
# takes its format from dbt's profile: profiles.yml.)
SERVING_STORAGE_VERSION = "v1.0.0"
# An incremental publish leaves deleted rows' space behind; when the file is this many times
# its content and the freed space is over COMPACT_MIN_FREE bytes, it is written whole again.
COMPACT_RATIO = 1.5
COMPACT_MIN_FREE = 256 * 1024 * 1024
# The publish's checkpoints do not vacuum (DuckDB's max_vacuum_tasks = 0): a vacuum merges
# row groups that hold deleted rows by writing their live rows again, so replacing the open
# month rewrote the month before as well (200k clients after six months: 4.7-4.8 s to
# publish a night without it, 7.6-8.0 s with it). Row groups a delete empties are still
# dropped; the deleted rows left in partly deleted ones (marts updated by client) are dead
# weight, and a mart that holds more than COMPACT_RATIO times its live rows, and at least
# COMPACT_MIN_DEAD_ROWS dead ones, is written whole instead.
COMPACT_MIN_DEAD_ROWS = 100_000
# Up to this many changed keys of a mart (the night's day, the open month, a few periods) are
# written into its DELETE and INSERT as constants, which DuckDB applies in the scan. More (a
# mart updated by client) go through a temporary table, joined: a hash join that carries
# every column of the rows it keeps, which took a month of the 37-column mart_client_tier
# 3.0 s instead of 2.0 s at 1M clients (docs/benchmark.md, "A bank the project did not
# generate, at 1M, on today's code").
LITERAL_KEYS_MAX = 100
# The standby is passed over when the rows it would write beyond the night's (those the
# publication in between wrote, and the night does not write again) cost more than copying
# the current file: a row written by DELETE + INSERT costs about ten rows copied with the
# file. At 1M clients a day of the daily fact (2.5M rows) took 1.2 s to write, and a 0.74 GB
# file of 27M rows 1.2 s to copy; after a 23-day range, 56M rows took about 40 s to write
# again, against about 2-4 s to copy the 2.0 GB file of 80M rows (docs/benchmark.md).
STANDBY_ROW_COST = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MartRelation:
    """A mart table in the build warehouse (its dbt schema and relation name); ``unique_key``
    is the key column of an incremental (delete+insert) mart, published by changed keys."""

    schema: str
    name: str
    unique_key: str | None = None


@dataclass(frozen=True)
class Publication:
    """What one publish produced; ``row_counts`` is per mart, as stored in publication_log."""

    publication_id: str
    path: Path
    published_at: dt.datetime
    business_date_min: dt.date
    business_date_max: dt.date
    row_counts: dict[str, int] = field(default_factory=dict)
    exports_dir: Path | None = None
    mode: str = "full"  # "incremental": built on the previous publication
    changes: dict[str, TableChange] = field(default_factory=dict)
    base: str | None = None  # what the file started from: "standby", "copy" or None (empty)


class PublishError(RuntimeError):
    """The build warehouse does not hold what the publication needs (not transient)."""


def serving_path(serving_dir: Path) -> Path:
    """The file BI tools open (read-only)."""
    return Path(serving_dir) / SERVING_FILE


def standby_path(serving_dir: Path) -> Path:
    """The previous publication's file, which the next publish takes over (never read by BI)."""
    return Path(serving_dir) / (SERVING_FILE + STANDBY_SUFFIX)


def mart_relations_from_manifest(manifest_path: Path) -> list[MartRelation]:
    """Every model under a ``marts/`` folder of the dbt project, from its manifest, except
    models tagged ``pii`` or ``restricted`` (readable by data engineering only)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    relations = []
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or "marts" not in node.get("fqn", [])[1:-1]:
            continue
        if node.get("config", {}).get("materialized") == "ephemeral":
            continue
        if RESTRICTED_TAGS & set(node.get("tags", [])):
            continue  # e.g. quarantine_records: data-engineering only, never served to BI
        config = node.get("config", {})
        key = config.get("unique_key")
        incremental = (
            config.get("materialized") == "incremental"
            and config.get("incremental_strategy") == "delete+insert"
            and isinstance(key, str)
        )
        relations.append(
            MartRelation(
                node["schema"], node.get("alias") or node["name"], key if incremental else None
            )
        )
    return sorted(relations, key=lambda r: r.name)


@contextmanager
def publish_lock(serving_dir: Path) -> Iterator[None]:
    """One publisher at a time per serving folder (readers never take this lock)."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    with open(serving_dir / ".publish.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _replace_whole(con: duckdb.DuckDBPyConnection, relation: MartRelation) -> None:
    """Write the mart whole, in the order of its key when it has one: a later publication
    that replaces a key's rows (the open month) then empties whole row groups, which the
    checkpoint drops. In the build's order, a mart first built over a range of months holds
    the months side by side in its row groups, and the month replaced each night stayed
    behind as deleted rows among live ones, until COMPACT_RATIO had the mart written whole
    again: twice after a range load at 1M clients, 8.5 s each (docs/benchmark.md, "A bank the
    project did not generate, at 1M, on today's code"). Ordering costs 2 % of a month mart's
    copy, 25 % of the daily fact's; both are written whole only on a first publication, a
    changed schema or a compaction."""
    order = f" ORDER BY {_quote(relation.unique_key)}" if relation.unique_key else ""
    con.execute(f"DROP TABLE IF EXISTS main.{_quote(relation.name)}")
    con.execute(
        f"CREATE TABLE main.{_quote(relation.name)} AS "
        f"SELECT * FROM build.{_quote(relation.schema)}.{_quote(relation.name)}{order}"
    )


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, name: str) -> list:
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, name],
    ).fetchall()


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def _dead_rows_too_many(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> bool:
    """Whether the serving copy's table holds too many deleted rows (see COMPACT_MIN_DEAD_ROWS):
    DuckDB's estimated_size counts the rows its row groups hold, deleted ones included."""
    held = con.execute(
        "SELECT estimated_size FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = 'main' AND table_name = ?",
        [catalog, name],
    ).fetchall()
    if not held:
        return False
    live = _count(con, f"{_quote(catalog)}.main.{_quote(name)}")
    return held[0][0] > COMPACT_RATIO * live and held[0][0] - live >= COMPACT_MIN_DEAD_ROWS


def _planned_change(
    con: duckdb.DuckDBPyConnection,
    relation: MartRelation,
    written: dict[str, frozenset[str]] | None,
    catalog: str,
) -> TableChange:
    """What the write log vouches for: a mart's changed key values, or all of it."""
    key = relation.unique_key
    built = _columns(con, "build", relation.schema, relation.name)
    if written is None or key is None or _columns(con, catalog, "main", relation.name) != built:
        return TableChange(whole=True, key_column=key)
    keys = written.get(f"{relation.schema}.{relation.name}", frozenset())
    if "*" in keys:
        return TableChange(whole=True, key_column=key)
    return TableChange(whole=False, keys=keys, key_column=key)


def _changed_since_previous(
    con: duckdb.DuckDBPyConnection,
    relations: Sequence[MartRelation],
    previous: Path | None,
    base: str | None,
    incremental: bool,
    planned: dict[str, TableChange],
) -> dict[str, TableChange]:
    """What each mart changed against the previous publication, as the write log vouches:
    its key values, or all of it. publication_changes records it for the PostgreSQL load,
    whatever the new file is written from: a copy of the previous one (``planned`` already
    is this), the standby (whose exports take it too: they build on the previous
    publication's files), or nothing when the previous file was compacted or is in another
    storage format. Whole for every mart on the first publication and on a full one
    (``incremental`` False), which repairs every copy."""
    if not incremental or previous is None:
        return {r.name: TableChange(whole=True, key_column=r.unique_key) for r in relations}
    if base == "copy":
        return dict(planned)
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    since_previous, _ = _written_keys(con, _latest_mark(con, catalog))
    con.execute(f"ATTACH {_literal(str(previous))} AS previous (READ_ONLY)")
    try:  # the columns the previous publication held, not the standby's or an empty file's
        return {r.name: _planned_change(con, r, since_previous, "previous") for r in relations}
    finally:
        con.execute("DETACH previous")


def _update_relation(
    con: duckdb.DuckDBPyConnection, relation: MartRelation, planned: TableChange
) -> TableChange:
    """Bring one mart of the serving copy up to the build's as ``planned``; return what
    changed (all of it when the planned keys did not account for the build's rows)."""
    source = f"build.{_quote(relation.schema)}.{_quote(relation.name)}"
    target = f"main.{_quote(relation.name)}"
    key = relation.unique_key
    if planned.whole:
        _replace_whole(con, relation)
        return planned
    if planned.keys:
        key_type = dict(_columns(con, "build", relation.schema, relation.name))[key]
        where = key_filter(con, _quote(key), key_type, planned.keys)
        con.execute(f"DELETE FROM {target} WHERE {where}")
        con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE {where}")
        con.execute("DROP TABLE IF EXISTS publish_keys")
    if _count(con, target) != _count(con, source):
        log.warning(
            "serving %s: row count differs from the build after an incremental update "
            "(rows changed outside the logged keys); copied whole",
            relation.name,
        )
        _replace_whole(con, relation)
        return TableChange(whole=True, key_column=key)
    return planned


def key_filter(
    con: duckdb.DuckDBPyConnection, column: str, key_type: str, keys: frozenset[str]
) -> str:
    """The condition that selects the rows of ``keys`` (texts of the key column's values):
    constants up to LITERAL_KEYS_MAX keys, else a temporary table ``publish_keys``."""
    if len(keys) <= LITERAL_KEYS_MAX:
        values = ", ".join(f"CAST({_literal(value)} AS {key_type})" for value in sorted(keys))
        return f"{column} IN ({values})"
    # typed values and their bounds: DuckDB then skips row groups outside them (zone maps),
    # so a night's clients cost their rows, not a scan of the history. Handed over as one
    # Arrow column: executemany costs about 0.13 ms a value, so a month's clients (a million
    # keys) would take minutes
    con.register("publish_key_texts", pa.table({"key_value": pa.array(sorted(keys))}))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE publish_keys AS "
        f"SELECT CAST(key_value AS {key_type}) AS key_value FROM publish_key_texts"
    )
    con.unregister("publish_key_texts")
    low, high = con.execute(
        "SELECT CAST(min(key_value) AS VARCHAR), CAST(max(key_value) AS VARCHAR) FROM publish_keys"
    ).fetchall()[0]
    return (
        f"{column} IN (SELECT key_value FROM publish_keys) AND {column} BETWEEN "
        f"CAST({_literal(low)} AS {key_type}) AND CAST({_literal(high)} AS {key_type})"
    )


def _written_keys(
    con: duckdb.DuckDBPyConnection,
    since: tuple[int, str] | None,
    upto: tuple[int, str] | None = None,
) -> tuple[dict[str, frozenset[str]] | None, tuple[int, str] | None]:
    """Key values written per relation after the write ``since`` (the previous publication's
    mark: write id and its dbt invocation) up to the mark ``upto`` (default: the log's last
    write), and that mark. None when the log cannot tell: no log in the build, no mark, or a
    mark the log does not hold (the build was rebuilt)."""
    found = con.execute(
        "SELECT table_schema FROM information_schema.tables "
        "WHERE table_catalog = 'build' AND table_name = ?",
        [WRITE_LOG],
    ).fetchall()
    if not found:
        return None, None
    table = f"build.{_quote(found[0][0])}.{WRITE_LOG}"
    checked = [since] if upto is None else [since, upto]  # the log's last write is held
    if upto is None:
        last = con.execute(
            f"SELECT write_id, invocation_id FROM {table} ORDER BY write_id DESC LIMIT 1"
        ).fetchall()
        upto = last[0] if last else None
    if since is None or upto is None:
        return None, upto
    for mark in checked:
        held = con.execute(
            f"SELECT count(*) FROM {table} WHERE write_id = ? AND invocation_id = ?", list(mark)
        ).fetchall()[0][0]
        if not held:
            return None, upto
    rows = con.execute(
        f"SELECT relation_name, list(DISTINCT key_value) FROM {table} "
        "WHERE write_id > ? AND write_id <= ? GROUP BY relation_name",
        [since[0], upto[0]],
    ).fetchall()
    return {name: frozenset(keys) for name, keys in rows}, upto


# publication_log: one row per publication. writes_watermark / writes_invocation: the last
# write-log entry it holds (the next incremental publish takes the writes after it).
LOG_COLUMNS = (
    "publication_id VARCHAR, published_at TIMESTAMPTZ, business_date_min DATE, "
    "business_date_max DATE, run_start_date DATE, run_end_date DATE, row_counts JSON, "
    "mode VARCHAR, writes_watermark BIGINT, writes_invocation VARCHAR"
)


# publication_changes: per publication and mart, what it changed against the publication
# before it: the mart whole, or the rows of these values of its key column (none: unchanged).
# A copy kept elsewhere (the PostgreSQL serving target) applies them to catch up from the
# publication it holds instead of copying every table. More than CHANGES_KEYS_MAX values are
# recorded as whole: a mart updated by client can change a million keys a night, and is then
# cheaper to copy than to list. The rows of the last CHANGES_KEPT publications are kept; a
# copy further behind is loaded whole.
PUBLICATION_CHANGES = "publication_changes"
CHANGES_COLUMNS = (
    "publication_id VARCHAR, mart VARCHAR, whole BOOLEAN, key_column VARCHAR, key_values VARCHAR[]"
)
CHANGES_KEYS_MAX = 10_000
CHANGES_KEPT = 60


def _has_table(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
            "AND schema_name = 'main' AND table_name = ?",
            [catalog, name],
        ).fetchall()[0][0]
    )


def _latest_mark(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[int, str] | None:
    """The write-log mark (write id, dbt invocation) of the latest publication in the
    ``catalog``'s log; None without one (no log, a log of an older layout, a full build)."""
    if not _has_table(con, catalog, PUBLICATION_LOG):
        return None
    columns = {name for name, _ in _columns(con, catalog, "main", PUBLICATION_LOG)}
    if not {"writes_watermark", "writes_invocation"} <= columns:
        return None
    marks = con.execute(
        f"SELECT writes_watermark, writes_invocation FROM {_quote(catalog)}.main."
        f"{PUBLICATION_LOG} ORDER BY published_at DESC LIMIT 1"
    ).fetchall()
    return marks[0] if marks and marks[0][0] is not None else None


def _carry_log(
    con: duckdb.DuckDBPyConnection, previous: Path | None, base: str | None
) -> tuple[int, str] | None:
    """The publication log and the changes of the last CHANGES_KEPT publications in the new
    file, carried forward from the previous publication (already in the file when ``base``
    is a copy of it; older logs gain the newer columns). Returns the write-log mark of the
    publication the file held before (its own log's latest: the previous publication's for
    a copy, the one before for the standby)."""
    catalog = con.execute("SELECT current_database()").fetchall()[0][0]
    held = _latest_mark(con, catalog) if base is not None else None
    source = catalog if base == "copy" else None
    if base != "copy" and previous is not None:
        con.execute(f"ATTACH '{previous}' AS previous (READ_ONLY)")
        source = "previous"
    for table, columns in ((PUBLICATION_LOG, LOG_COLUMNS), (PUBLICATION_CHANGES, CHANGES_COLUMNS)):
        con.execute(f"CREATE TABLE main.{table}_next ({columns})")
        if source is not None and _has_table(con, source, table):
            con.execute(
                f"INSERT INTO main.{table}_next BY NAME SELECT * FROM {_quote(source)}.main.{table}"
            )
    if source == "previous":
        con.execute("DETACH previous")
    for table in (PUBLICATION_LOG, PUBLICATION_CHANGES):
        con.execute(f"DROP TABLE IF EXISTS main.{table}")
        con.execute(f"ALTER TABLE main.{table}_next RENAME TO {table}")
    return held


def _record_changes(
    con: duckdb.DuckDBPyConnection, publication_id: str, changes: dict[str, TableChange]
) -> None:
    """This publication's rows of publication_changes (what each mart changed against the
    publication before it), and only the last CHANGES_KEPT publications' rows kept."""
    rows = []
    for name, change in sorted(changes.items()):
        listed = not change.whole and len(change.keys) <= CHANGES_KEYS_MAX
        rows.append(
            {
                "publication_id": publication_id,
                "mart": name,
                "whole": not listed,
                "key_column": change.key_column,
                "key_values": sorted(change.keys) if listed else None,
            }
        )
    schema = pa.schema(
        [
            ("publication_id", pa.string()),
            ("mart", pa.string()),
            ("whole", pa.bool_()),
            ("key_column", pa.string()),
            ("key_values", pa.list_(pa.string())),
        ]
    )
    con.register("publication_changes_new", pa.Table.from_pylist(rows, schema=schema))
    con.execute(
        f"INSERT INTO main.{PUBLICATION_CHANGES} BY NAME SELECT * FROM publication_changes_new"
    )
    con.unregister("publication_changes_new")
    con.execute(
        f"DELETE FROM main.{PUBLICATION_CHANGES} WHERE publication_id NOT IN (SELECT "
        f"publication_id FROM main.{PUBLICATION_LOG} ORDER BY published_at DESC "
        f"LIMIT {CHANGES_KEPT})"
    )


def _freed_too_much(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the open file holds more freed space than COMPACT_RATIO allows."""
    block, total, free = con.execute(
        "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size()"
    ).fetchall()[0]
    return total > COMPACT_RATIO * (total - free) and free * block > COMPACT_MIN_FREE


def _needs_compaction(path: Path) -> bool:
    """True when the serving file holds more freed space than COMPACT_RATIO allows."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _freed_too_much(con)
    finally:
        con.close()


def _open_in_this_process(path: Path) -> bool:
    """Whether this process holds ``path`` open: DuckDB's file lock keeps other processes'
    readers from a writer, not another connection of the same process. Unknown (no
    /proc/self/fd): assume it does."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return True
    wanted = path.stat()
    for fd in fds.iterdir():
        try:
            held = fd.stat()  # the file the descriptor points to
        except OSError:
            continue
        if (held.st_dev, held.st_ino) == (wanted.st_dev, wanted.st_ino):
            return True
    return False


def _connect(path: Path, memory_limit: str | None, version: str) -> duckdb.DuckDBPyConnection:
    """The new publication's file open for writing, under ``memory_limit`` when one is given;
    a new file is created in storage format ``version``."""
    config = {"storage_compatibility_version": version}
    if memory_limit:
        config["memory_limit"] = memory_limit
    return duckdb.connect(str(path), config=config)


@cache
def _format_tag(version: str) -> str:
    """How DuckDB tags a file created with storage_compatibility_version ``version`` (several
    versions share a format: v1.1.0 writes "v1.0.0+"), learnt from a file created for it."""
    with tempfile.TemporaryDirectory() as folder:
        con = _connect(Path(folder) / "probe.duckdb", None, version)
        try:
            return _file_format(con)
        finally:
            con.close()


def _file_format(con: duckdb.DuckDBPyConnection) -> str:
    """The storage format tag of the file ``con`` has open, e.g. "v1.0.0+"."""
    return con.execute(
        "SELECT tags['storage_version'] FROM duckdb_databases() "
        "WHERE database_name = current_database()"
    ).fetchall()[0][0]


def storage_format(path: Path) -> str:
    """The storage format tag of the DuckDB file at ``path`` (a serving file), e.g.
    "v1.0.0+": DuckDB 1.0 and later open a "v1.0.0+" file, only 1.5 and later "v1.5.0+"."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _file_format(con)
    finally:
        con.close()


def _in_format(con: duckdb.DuckDBPyConnection, version: str, what: str) -> bool:
    """Whether the file ``con`` has open (the ``what``: a publication's base) is in the format
    ``version`` writes; logs why it is passed over when not."""
    found, wanted = _file_format(con), _format_tag(version)
    if found != wanted:
        log.info(
            "serving %s not taken: its storage format is %s and the setting's is %s "
            "(CLIENTMART_SERVING_STORAGE_VERSION=%s)",
            what,
            found,
            wanted,
            version,
        )
    return found == wanted


def _take_standby(
    serving_dir: Path, tmp: Path, memory_limit: str | None, version: str
) -> duckdb.DuckDBPyConnection | None:
    """The standby publication moved to ``tmp`` and open for writing, or None when it cannot
    be taken: missing, open in this process, held by a reader (DuckDB refuses the writer's
    lock), unreadable, mostly freed space, or in another storage format than ``version``
    writes. A standby not taken is removed (a reader that holds it keeps reading it); the
    swap leaves a new one."""
    standby = standby_path(serving_dir)
    if not standby.exists() or _open_in_this_process(standby):
        return None
    os.replace(standby, tmp)
    try:
        con = _connect(tmp, memory_limit, version)
    except duckdb.Error as exc:
        log.info("serving standby not taken (%s): the current publication is copied", exc)
        tmp.unlink(missing_ok=True)
        return None
    if not _in_format(con, version, "standby") or _freed_too_much(con):
        con.close()
        tmp.unlink()
        return None
    return con


def _standby_costs_more(
    serving_dir: Path, previous: Path, build_path: Path, relations: Sequence[MartRelation]
) -> bool:
    """Whether bringing the standby up would cost more than copying ``previous`` (see
    STANDBY_ROW_COST): the rows of the keys that ``previous`` took in (the publication in
    between) and the night does not write again, against the rows ``previous`` holds. False
    when the log cannot tell, or the standby is missing or open in this process (it is not
    taken then anyway)."""
    standby = standby_path(serving_dir)
    if not standby.exists() or _open_in_this_process(standby):
        return False
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(str(build_path))} AS build (READ_ONLY)")
        con.execute(f"ATTACH {_literal(str(previous))} AS previous (READ_ONLY)")
        con.execute(f"ATTACH {_literal(str(standby))} AS standby (READ_ONLY)")
        between, upto = _written_keys(
            con, _latest_mark(con, "standby"), _latest_mark(con, "previous")
        )
        since, _ = _written_keys(con, upto)
        if between is None or since is None:
            return False
        again = 0
        for relation in relations:
            name = f"{relation.schema}.{relation.name}"
            keys = between.get(name, frozenset()) - since.get(name, frozenset())
            if relation.unique_key is None or not keys or "*" in since.get(name, frozenset()):
                continue  # written whole either way, or not at all
            source = f"build.{_quote(relation.schema)}.{_quote(relation.name)}"
            if "*" in keys:
                again += _count(con, source)
                continue
            key_type = dict(_columns(con, "build", relation.schema, relation.name))[
                relation.unique_key
            ]
            where = key_filter(con, _quote(relation.unique_key), key_type, keys)
            again += _count(con, f"{source} WHERE {where}")
        held = con.execute(
            "SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables() "
            "WHERE database_name = 'previous'"
        ).fetchall()[0][0]
    except duckdb.Error as exc:  # an unreadable standby: _take_standby decides
        log.info("serving standby's cost not estimated (%s)", exc)
        return False
    finally:
        con.close()
    if again * STANDBY_ROW_COST <= held:
        return False
    log.info(
        "serving standby not taken: it would write %d rows again that the publication since "
        "it took in (a range, or a small file early in a bank's life); the current "
        "publication, %d rows, is copied instead",
        again,
        held,
    )
    return True


def _open_base(
    serving_dir: Path,
    tmp: Path,
    previous: Path | None,
    incremental: bool,
    memory_limit: str | None,
    build_path: Path,
    relations: Sequence[MartRelation],
    version: str,
) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """The new publication's file at ``tmp``, open for writing, and what it starts from:
    'standby' (the publication before the previous one), 'copy' (of the previous one), or
    None (empty: no previous publication, a full publish, a previous file to compact, or one
    in another storage format than ``version``)."""
    if incremental and previous is not None:
        if not _standby_costs_more(serving_dir, previous, build_path, relations):
            con = _take_standby(serving_dir, tmp, memory_limit, version)
            if con is not None:
                return con, "standby"
        if not _needs_compaction(previous):
            shutil.copyfile(previous, tmp)
            con = _connect(tmp, memory_limit, version)
            if _in_format(con, version, "copy of the current publication"):
                return con, "copy"
            con.close()
            tmp.unlink()
    return _connect(tmp, memory_limit, version), None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    build_path: Path,
    serving_dir: Path,
    relations: Sequence[MartRelation],
    run_dates: tuple[dt.date, dt.date] | None,
    *,
    with_exports: bool = True,
    incremental: bool = True,
    memory_limit: str | None = None,
    storage_version: str = SERVING_STORAGE_VERSION,
) -> Publication:
    """Bring a new serving copy up to the build warehouse's ``relations`` and swap it in.

    ``run_dates`` is the range of business dates the run that publishes has just built; the
    log's ``business_date_min``/``max`` widen the previous publication's range with it, so a
    dashboard can say "as of" the latest business date held. None: a publication of what
    the build already held (`clientmart publish` by hand), which keeps the previous
    publication's range and logs no run dates. ``incremental=False`` writes
    every mart whole (as when there is no previous publication). ``memory_limit`` is
    DuckDB's for the publication (e.g. "2GB"; None: DuckDB's default, 80% of RAM).
    ``storage_version`` is the serving file's storage format (SERVING_STORAGE_VERSION).
    """
    build_path, serving_dir = Path(build_path), Path(serving_dir)
    if not build_path.exists():
        raise PublishError(f"build warehouse {build_path} does not exist: run the pipeline first")
    if not relations:
        raise PublishError("no mart models to publish (no model under a marts/ folder)")
    publication_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    final = serving_path(serving_dir)
    if run_dates is None and not final.exists():
        raise PublishError(
            f"no previous publication in {serving_dir} to take the business dates held "
            "from: give the last business date the build warehouse holds "
            "(clientmart publish --date D)"
        )
    with publish_lock(serving_dir):
        for stale in serving_dir.glob(f"{SERVING_FILE}.tmp-*"):
            # left by a publish that was killed (a file, and DuckDB's spill folder beside
            # it, <file>.tmp); we hold the lock
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        tmp = serving_dir / f"{SERVING_FILE}.tmp-{publication_id}"
        previous = final if final.exists() else None
        con, base = _open_base(
            serving_dir,
            tmp,
            previous,
            incremental,
            memory_limit,
            build_path,
            relations,
            storage_version,
        )
        try:
            con.execute("SET max_vacuum_tasks = 0")  # see COMPACT_MIN_DEAD_ROWS
            since = _carry_log(con, previous, base)
            catalog = con.execute("SELECT current_database()").fetchall()[0][0]
            con.execute(f"ATTACH '{build_path}' AS build (READ_ONLY)")
            missing = _missing_relations(con, relations)
            if missing:
                raise PublishError(
                    "build warehouse lacks mart tables "
                    + ", ".join(missing)
                    + ": the dbt build did not produce them"
                )
            written, watermark = _written_keys(con, since)
            mode = "incremental" if base is not None and written is not None else "full"
            planned = {r.name: _planned_change(con, r, written, catalog) for r in relations}
            changed = _changed_since_previous(con, relations, previous, base, incremental, planned)
            # a mart updated by keys whose table in the file is mostly deleted rows is written
            # whole instead (COMPACT_MIN_DEAD_ROWS); the file's state, so checked once here
            planned = {
                name: TableChange(whole=True, key_column=change.key_column)
                if not change.whole and _dead_rows_too_many(con, catalog, name)
                else change
                for name, change in planned.items()
            }
            # the exports build on the previous publication's files: they take what changed
            # since it, also when this file starts from the one before (the standby). A mart
            # written whole into the file is exported whole: no row count vouches for keys.
            exported = planned
            if base == "standby":
                exported = {
                    name: change if change.whole else changed[name]
                    for name, change in planned.items()
                }
            # the Parquet exports read the build while this connection writes the serving
            # copy (the same rows: each mart of the copy is made equal to the build's)
            sources = {r.name: Source("build", r.schema, r.name) for r in relations}
            with ThreadPoolExecutor(max_workers=1) as pool:
                exporting = (
                    pool.submit(
                        export_marts,
                        con.cursor(),
                        sources,
                        serving_dir,
                        publication_id,
                        exported,
                        reuse=mode == "incremental",
                    )
                    if with_exports
                    else None
                )
                applied = {r.name: _update_relation(con, r, planned[r.name]) for r in relations}
                staged = exporting.result() if exporting is not None else None
            # a mart copied whole after all: its planned keys did not account for the build
            redo = {name for name, change in applied.items() if change != planned[name]}
            if staged is not None:
                export_again(
                    con.cursor(),
                    {name: sources[name] for name in redo},
                    {name: applied[name] if name in redo else exported[name] for name in applied},
                    staged,
                )
            # what a reader of the previous publication takes in (publication_changes): the
            # keys the log vouches for, also where the file wrote a mart whole to compact it
            changes = {name: applied[name] if name in redo else changed[name] for name in applied}
            counts = {r.name: _count(con, f"main.{_quote(r.name)}") for r in relations}
            con.execute("DETACH build")
            keep = {r.name for r in relations} | {PUBLICATION_LOG, PUBLICATION_CHANGES}
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                "AND schema_name = 'main'",
                [catalog],
            ).fetchall():
                if name not in keep:  # a mart no longer in the project
                    con.execute(f"DROP TABLE main.{_quote(name)}")
            held = con.execute(
                f"SELECT min(business_date_min), max(business_date_max) FROM {PUBLICATION_LOG}"
            ).fetchall()[0]
            run_start, run_end = run_dates or (None, None)
            date_min = min((d for d in (held[0], run_start) if d is not None), default=None)
            date_max = max((d for d in (held[1], run_end) if d is not None), default=None)
            if date_max is None:
                raise PublishError(
                    f"the publication log of {final} holds no business date to keep: give "
                    "the last business date the build warehouse holds (clientmart publish "
                    "--date D)"
                )
            published_at = dt.datetime.now(dt.UTC)
            con.execute(
                f"INSERT INTO {PUBLICATION_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    publication_id,
                    published_at,
                    date_min,
                    date_max,
                    run_start,
                    run_end,
                    json.dumps(counts, sort_keys=True),
                    mode,
                    *(watermark or (None, None)),
                ],
            )
            _record_changes(con, publication_id, changes)
            con.execute("CHECKPOINT")
        except BaseException as exc:
            con.close()
            tmp.unlink(missing_ok=True)
            if isinstance(exc, duckdb.OutOfMemoryException):
                limit = memory_limit or "DuckDB's default, 80% of RAM"
                raise PublishError(
                    f"the publication ran out of DuckDB memory under its memory limit {limit} "
                    "(CLIENTMART_PUBLISH_MEMORY_LIMIT): raise it and run the date again "
                    "(CLIENTMART_PUBLISH_MEMORY_LIMIT=4GB clientmart run --date D, so the "
                    "later dates stop waiting for it; docs/runbook.md); the previous "
                    f"publication is still served. DuckDB: {exc}"
                ) from exc
            raise
        con.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        exports_dir = None
        # the file replaced stays as the standby, the next publication's base (the one before
        # it, when not taken as this one's base, is two publications old)
        standby = standby_path(serving_dir)
        standby.unlink(missing_ok=True)
        if previous is not None:
            os.link(final, standby)
        os.replace(tmp, final)
        _fsync_dir(serving_dir)
        if staged is not None:
            exports_dir = swap_exports(serving_dir, staged)
    return Publication(
        publication_id,
        final,
        published_at,
        date_min,
        date_max,
        counts,
        exports_dir,
        mode,
        changes,
        base,
    )


def _missing_relations(
    con: duckdb.DuckDBPyConnection, relations: Sequence[MartRelation]
) -> list[str]:
    present = {
        (schema, name)
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = 'build'"
        ).fetchall()
    }
    return [f"{r.schema}.{r.name}" for r in relations if (r.schema, r.name) not in present]


def latest_publication(serving_dir: Path) -> dict[str, object] | None:
    """The last row of publication_log in the serving copy ("as of"), or None if never published."""
    path = serving_path(serving_dir)
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            f"SELECT publication_id, published_at, business_date_min, business_date_max, "
            f"row_counts FROM {PUBLICATION_LOG} ORDER BY published_at DESC LIMIT 1"
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return None
    pid, published_at, dmin, dmax, counts = rows[0]
    return {
        "publication_id": pid,
        "published_at": published_at,
        "business_date_min": dmin,
        "business_date_max": dmax,
        "row_counts": json.loads(counts),
    }
