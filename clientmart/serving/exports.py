"""Parquet exports of every mart, for tools that read files rather than DuckDB.

Layout under the serving folder::

    exports -> exports.d/<publication id>        (a symbolic link, swapped atomically)
    exports.d/<publication id>/<mart>/month=YYYY-MM/data_<key>.parquet   (dated marts)
    exports.d/<publication id>/<mart>/<mart>.parquet                     (other marts)

The month column is the mart's incremental key when it is a date (``balance_date`` of the
daily fact, ``month_start``...), else ``month_start`` or ``month``. Inside a month folder
there is one file per value of that column (``data_2026-10-03.parquet``: a day of the daily
fact; ``data_2026-10-01.parquet``: a month of a monthly mart), so a night writes its own
day's file and links the month's other days, instead of writing the month-to-date again.

A publication is staged in ``exports.tmp-<id>``, renamed into ``exports.d/`` when complete,
and the ``exports`` link is replaced in one ``os.replace``: a reader resolving ``exports``
gets a whole publication, old or new. The previous publication stays on disk (a reader may
still be walking it); older ones are removed.

The publication writes them from the build warehouse while it updates the serving file
(``Source``: the table to read), so the two overlap on the machine's cores.

Incremental: given what changed in each mart since the previous publication, a month
partition the change did not touch (and a mart that did not change) is a hard link to the
previous publication's file, so only the touched months are written again. Files are never
modified in place, so a reader of the previous publication is not disturbed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

EXPORTS_LINK = "exports"
EXPORTS_STORE = "exports.d"
MONTH_COLUMNS = ("month_start", "month")


@dataclass(frozen=True)
class TableChange:
    """What a publication changed in one mart: all of it, or the rows of ``keys`` (values
    of ``key_column`` as text; none: the mart is unchanged)."""

    whole: bool
    keys: frozenset[str] = field(default_factory=frozenset)
    key_column: str | None = None


WHOLE = TableChange(whole=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Source:
    """Where an export reads a mart: a table of a DuckDB catalog (the build warehouse,
    attached, or the serving copy)."""

    catalog: str
    schema: str
    name: str

    @property
    def relation(self) -> str:
        return ".".join(_quote(part) for part in (self.catalog, self.schema, self.name))


def export_marts(
    con: duckdb.DuckDBPyConnection,
    sources: Mapping[str, Source],
    serving_dir: Path,
    publication_id: str,
    changes: Mapping[str, TableChange] | None = None,
    *,
    reuse: bool = False,
) -> Path:
    """Write every mart of ``sources`` (mart name -> table) as Parquet into a staging folder;
    return it. ``changes`` says what changed in each mart (default: all of it) and names its
    key; with ``reuse``, what did not change is linked from the current publication's
    exports. ``con`` may be a cursor of a connection busy with something else."""
    staged = Path(serving_dir) / f"exports.tmp-{publication_id}"
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    link = Path(serving_dir) / EXPORTS_LINK
    previous = link.resolve() if reuse and link.is_symlink() else None
    for table in sorted(sources):
        change = (changes or {}).get(table, WHOLE)
        before = previous / table if previous is not None else None
        _export_table(con, sources[table], staged / table, change, before)
    return staged


def export_again(
    con: duckdb.DuckDBPyConnection,
    sources: Mapping[str, Source],
    changes: Mapping[str, TableChange],
    staged: Path,
) -> None:
    """Write the marts of ``sources`` into ``staged`` again as ``changes`` say (their first
    export took planned changes that turned out to be incomplete)."""
    for table in sorted(sources):
        shutil.rmtree(staged / table, ignore_errors=True)
        _export_table(con, sources[table], staged / table, changes[table])


def _month_column(con: duckdb.DuckDBPyConnection, source: Source, key: str | None) -> str | None:
    columns = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ?",
            [source.catalog, source.schema, source.name],
        ).fetchall()
    )
    for name in (key, *MONTH_COLUMNS):
        if name is not None and columns.get(name) == "DATE":
            return name
    return None


def _link_tree(source: Path, target: Path, skip: set[str] = frozenset()) -> None:
    """Hard-link every file of ``source`` into ``target`` (same layout), but folders in skip."""
    for entry in source.iterdir():
        if entry.name in skip:
            continue
        if entry.is_dir():
            (target / entry.name).mkdir()
            _link_tree(entry, target / entry.name)
        else:
            os.link(entry, target / entry.name)


def _export_table(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    folder: Path,
    change: TableChange = WHOLE,
    before: Path | None = None,
) -> None:
    folder.mkdir(parents=True)
    month = _month_column(con, source, change.key_column)
    rows = con.execute(f"SELECT count(*) FROM {source.relation}").fetchall()[0][0]
    if month is None or rows == 0 or _has_null(con, source, month):
        if not change.whole and not change.keys and before is not None and before.is_dir():
            _link_tree(before, folder)  # unchanged
            return
        con.execute(
            f"COPY {source.relation} TO '{folder / (source.name + '.parquet')}' (FORMAT parquet)"
        )
        return
    if not change.whole and (not change.keys or month == change.key_column):
        previous_files = _dated_files(before)
        if previous_files is not None:
            touched = set(change.keys)
            for value, path in previous_files:
                if value not in touched:
                    (folder / path.parent.name).mkdir(exist_ok=True)
                    os.link(path, folder / path.parent.name / path.name)
            if touched:
                _copy_dated(con, source, folder, month, sorted(touched))
            return
    _copy_dated(con, source, folder, month, None)


def _dated_files(before: Path | None) -> list[tuple[str, Path]] | None:
    """The previous publication's files of a dated mart with the value each holds, or None
    when there is none or it has another layout (then the mart is written whole)."""
    if before is None or not before.is_dir():
        return None
    files: list[tuple[str, Path]] = []
    for part in before.iterdir():
        if not (part.is_dir() and part.name.startswith("month=")):
            return None
        for path in part.iterdir():
            matched = _DATED_FILE.fullmatch(path.name)
            if matched is None:
                return None
            files.append((matched.group(1), path))
    return files


# data_<value>.parquet, and data_<value>_<n>.parquet when DuckDB wrote a value in several
# files (a large COPY closes and reopens partition files past partitioned_write_max_open_files)
_DATED_FILE = re.compile(r"data_(\d{4}-\d{2}-\d{2})(?:_\d+)?\.parquet")


def _copy_dated(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    folder: Path,
    column: str,
    values: list[str] | None,
) -> None:
    """Write the rows of ``source`` (those whose ``column`` is in ``values``; None: all) as
    ``folder/month=YYYY-MM/data_<value>.parquet`` (plus ``data_<value>_<n>.parquet`` where
    DuckDB split a value over several files), in one COPY.

    The COPY partitions by the date column itself and keeps it in the files (a DATE's hive
    folder is ``<column>=YYYY-MM-DD``), then the files move to the month layout: no text
    column is computed per row for the partitioning (at 1M clients a night's day of the
    daily fact exports about a quarter faster; docs/benchmark.md, "A bank the project did
    not generate, at 1M, on today's code")."""
    quoted = _quote(column)
    selected = (
        ""
        if values is None
        else f" WHERE {quoted} IN (" + ", ".join(f"DATE '{v}'" for v in values) + ")"
    )
    staging = folder / ".copy"
    con.execute(
        f"COPY (SELECT * FROM {source.relation}{selected}) TO '{staging}' "
        f"(FORMAT parquet, PARTITION_BY ({quoted}), WRITE_PARTITION_COLUMNS true, "
        "FILENAME_PATTERN 'data_{i}')"
    )
    # <column>=YYYY-MM-DD/data_<i>.parquet -> month=YYYY-MM/data_YYYY-MM-DD.parquet
    for value_dir in sorted(staging.iterdir()):
        value = value_dir.name.split("=", 1)[1]
        target = folder / f"month={value[:7]}"
        target.mkdir(exist_ok=True)
        for n, written in enumerate(sorted(value_dir.iterdir())):
            name = f"data_{value}.parquet" if n == 0 else f"data_{value}_{n}.parquet"
            os.replace(written, target / name)
    shutil.rmtree(staging)


def _has_null(con: duckdb.DuckDBPyConnection, source: Source, column: str) -> bool:
    query = f"SELECT count(*) FROM {source.relation} WHERE {_quote(column)} IS NULL"
    return con.execute(query).fetchall()[0][0] > 0


def swap_exports(serving_dir: Path, staged: Path) -> Path:
    """Move a staged export into place and point the ``exports`` link at it atomically."""
    serving_dir = Path(serving_dir)
    store = serving_dir / EXPORTS_STORE
    store.mkdir(exist_ok=True)
    publication_id = staged.name.removeprefix("exports.tmp-")
    target = store / publication_id
    os.replace(staged, target)
    link = serving_dir / EXPORTS_LINK
    previous = os.readlink(link) if link.is_symlink() else None
    tmp_link = serving_dir / f"{EXPORTS_LINK}.link-{publication_id}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path(EXPORTS_STORE) / publication_id, target_is_directory=True)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # an exports folder from an older layout
    os.replace(tmp_link, link)
    keep = {publication_id, Path(previous).name if previous else None}
    for old in store.iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in serving_dir.glob("exports.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return link
