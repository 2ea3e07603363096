"""Dagster's SQLite event log, with one connection pool per database file instead of a new
SQLAlchemy engine for every read and write.

Dagster's ``SqliteEventLogStorage`` (the default of a one-machine instance) builds an engine,
opens a SQLite connection, runs one statement, commits, closes and disposes, for every event.
A night stores about 750 events (each dbt model's materialization, each dbt test's planned and
evaluated check, the steps' events), asset events in two files (the run's and the index). At
100k clients that took 8.0 s of a 28 s night, 5.1 s of it CPU on the cores DuckDB is using:
SQLAlchemy compiled each statement again for each new engine (its statement cache lives in the
engine), and SQLite checkpointed its write-ahead log each time the last connection to a file
closed. Kept per file, the engine keeps its cache and the connection stays open: 3.1 s, 1.8 s of
it CPU (docs/benchmark.md, "Dagster's event log without an engine per event").

Everything else is Dagster's: the files, their schema and migrations, the locking (one
statement at a time per process, under the storage's lock; SQLite's own locks between
processes, with the write-ahead log Dagster turns on), the watchers the UI uses. The pools are
bounded (the index and the most recently used runs), dropped in a forked child, and closed
before ``wipe`` deletes files and on ``dispose``.

Configured in dagster.yaml (``event_log_storage``); the files stay where Dagster's default
keeps them, ``$DAGSTER_HOME/history/runs/``, so an existing instance home is read as it is.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Run files kept open besides the index: the run being executed, and a few the UI reads.
OPEN_RUN_FILES = 4


def event_logs_directory(dagster_home: str) -> str:
    """Where Dagster's default instance keeps the event log files (``history/runs``)."""
    return os.path.join(dagster_home, "history", "runs", "")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that keeps one engine (a pool of one open connection) per file."""

    def __init__(self, dagster_home: str, inst_data: ConfigurableClassData | None = None):
        self._dagster_home = dagster_home
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._has_check_table = False
        super().__init__(event_logs_directory(dagster_home), inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _own_engines(self) -> OrderedDict[str, Engine]:
        """The engines this process opened. A forked child must not use its parent's
        connections (SQLAlchemy's rule): it starts with none, without closing the parent's,
        which would close them for the parent too. Called under _db_lock."""
        if self._engines_pid != os.getpid():
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        return self._engines

    def _engine(self, shard: str) -> Engine:
        """The file's engine, created on first use; the least recently used run file's engine
        is closed when more than OPEN_RUN_FILES run files are open. Called under _db_lock."""
        engines = self._own_engines()
        engine = engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                # creating a file's tables inspects it on a second connection (Dagster's
                # _initdb); connections beyond the one kept are closed when returned
                max_overflow=2,
                # the connection is used by one thread at a time (under _db_lock), not always
                # the thread that opened it
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            engines[shard] = engine
            runs = [name for name in engines if name != INDEX_SHARD_NAME]
            for name in runs[: max(0, len(runs) - OPEN_RUN_FILES)]:
                engines.pop(name).dispose()
        else:
            engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    @property
    def supports_asset_checks(self) -> bool:
        """Whether the index holds Dagster's asset-check table. Dagster inspects the schema
        again at every check event (1.4 ms each, about 7,000 events in a month as one range);
        once the table is there it stays, until ``wipe``."""
        if not self._has_check_table:
            self._has_check_table = bool(super().supports_asset_checks)
        return self._has_check_table

    def _close_engines(self) -> None:
        with self._db_lock:
            engines = self._own_engines()
            for engine in engines.values():
                engine.dispose()
            engines.clear()

    def wipe(self) -> None:
        self._close_engines()
        super().wipe()
        self._has_check_table = False  # the files are gone: ask again

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()
