"""Publish the marts from the build warehouse into the serving copy that BI tools read.

Why a copy: DuckDB allows one writer or many readers, never both. If dashboards opened the
build warehouse, a nightly run would wait for them (or they for it). Instead the pipeline
writes a complete new serving file aside and swaps it in with one ``os.replace``: a reader
that already has the old file open keeps reading the old publication, a reader that opens
after the swap sees the new one, and nobody ever sees half of each. A publish that dies
midway leaves only a stray temporary file; the previous publication stays in place.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from clientmart.serving.exports import export_marts, swap_exports

SERVING_FILE = "clientmart.duckdb"
PUBLICATION_LOG = "publication_log"
RESTRICTED_TAGS = {"pii", "restricted"}


@dataclass(frozen=True)
class MartRelation:
    """A mart table in the build warehouse (its dbt schema and relation name)."""

    schema: str
    name: str


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


class PublishError(RuntimeError):
    """The build warehouse does not hold what the publication needs (not transient)."""


def serving_path(serving_dir: Path) -> Path:
    """The file BI tools open (read-only)."""
    return Path(serving_dir) / SERVING_FILE


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
        relations.append(MartRelation(node["schema"], node.get("alias") or node["name"]))
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


def _copy_relation(con: duckdb.DuckDBPyConnection, relation: MartRelation) -> int:
    con.execute(
        f"CREATE TABLE main.{_quote(relation.name)} AS "
        f"SELECT * FROM build.{_quote(relation.schema)}.{_quote(relation.name)}"
    )
    return con.execute(f"SELECT count(*) FROM main.{_quote(relation.name)}").fetchall()[0][0]


def _previous_log(con: duckdb.DuckDBPyConnection, current: Path) -> None:
    """Carry the publication history forward from the current serving copy, if any."""
    con.execute(
        f"CREATE TABLE main.{PUBLICATION_LOG} (publication_id VARCHAR, published_at TIMESTAMPTZ,"
        " business_date_min DATE, business_date_max DATE, run_start_date DATE,"
        " run_end_date DATE, row_counts JSON)"
    )
    if not current.exists():
        return
    con.execute(f"ATTACH '{current}' AS previous (READ_ONLY)")
    try:
        has_log = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = 'previous' AND table_name = ?",
            [PUBLICATION_LOG],
        ).fetchall()[0][0]
        if has_log:
            con.execute(
                f"INSERT INTO main.{PUBLICATION_LOG} SELECT * FROM previous.main.{PUBLICATION_LOG}"
            )
    finally:
        con.execute("DETACH previous")


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
    run_dates: tuple[dt.date, dt.date],
    *,
    with_exports: bool = True,
) -> Publication:
    """Copy ``relations`` from the build warehouse into a new serving copy and swap it in.

    ``run_dates`` is the range of business dates the run that publishes has just built; the
    log's ``business_date_min``/``max`` widen the previous publication's range with it, so a
    dashboard can say "as of" the latest business date held.
    """
    build_path, serving_dir = Path(build_path), Path(serving_dir)
    if not build_path.exists():
        raise PublishError(f"build warehouse {build_path} does not exist: run the pipeline first")
    if not relations:
        raise PublishError("no mart models to publish (no model under a marts/ folder)")
    publication_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    final = serving_path(serving_dir)
    with publish_lock(serving_dir):
        for stale in serving_dir.glob(f"{SERVING_FILE}.tmp-*"):
            stale.unlink()  # left by a publish that was killed; we hold the lock
        tmp = serving_dir / f"{SERVING_FILE}.tmp-{publication_id}"
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"ATTACH '{build_path}' AS build (READ_ONLY)")
            missing = _missing_relations(con, relations)
            if missing:
                raise PublishError(
                    "build warehouse lacks mart tables "
                    + ", ".join(missing)
                    + ": the dbt build did not produce them"
                )
            counts = {r.name: _copy_relation(con, r) for r in relations}
            con.execute("DETACH build")
            _previous_log(con, final)
            held = con.execute(
                f"SELECT min(business_date_min), max(business_date_max) FROM {PUBLICATION_LOG}"
            ).fetchall()[0]
            date_min = min(d for d in (held[0], run_dates[0]) if d is not None)
            date_max = max(d for d in (held[1], run_dates[1]) if d is not None)
            published_at = dt.datetime.now(dt.UTC)
            con.execute(
                f"INSERT INTO {PUBLICATION_LOG} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    publication_id,
                    published_at,
                    date_min,
                    date_max,
                    run_dates[0],
                    run_dates[1],
                    json.dumps(counts, sort_keys=True),
                ],
            )
            con.execute("CHECKPOINT")
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            raise
        con.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        exports_dir = None
        if with_exports:
            staged = export_marts(tmp, serving_dir, publication_id)
        os.replace(tmp, final)
        _fsync_dir(serving_dir)
        if with_exports:
            exports_dir = swap_exports(serving_dir, staged)
    return Publication(publication_id, final, published_at, date_min, date_max, counts, exports_dir)


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
