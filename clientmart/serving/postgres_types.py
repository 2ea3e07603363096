"""How a DuckDB column of the serving copy becomes a PostgreSQL column.

The load streams each mart as CSV written by DuckDB into PostgreSQL's ``COPY``. Both sides
must agree on the text of every value, so each column gets a PostgreSQL type that keeps its
meaning exactly (DECIMAL stays ``numeric(p,s)``: money is never turned into floats) and, where
DuckDB's CSV text is not what PostgreSQL reads, a select expression that writes a form it
does (nested values as JSON, blobs as ``\\x`` hex).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIMPLE = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "UHUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIME": "time",
    "TIME WITH TIME ZONE": "timetz",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
    "BLOB": "bytea",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_NESTED = re.compile(r"(\[\d*\]$)|^(STRUCT|MAP|UNION)\(")
_ENUM = re.compile(r"^ENUM\(")


class UnsupportedColumnType(ValueError):
    """A serving column has a DuckDB type with no exact PostgreSQL counterpart here."""


@dataclass(frozen=True)
class ColumnMapping:
    """One column: its name, its PostgreSQL type and the DuckDB expression that exports it."""

    name: str
    duckdb_type: str
    postgres_type: str
    export_sql: str


def quote_duckdb(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def map_column(table: str, name: str, duckdb_type: str) -> ColumnMapping:
    """The PostgreSQL column for one DuckDB column; raises for types we cannot carry exactly."""
    ident = quote_duckdb(name)
    upper = duckdb_type.upper()
    if upper in _SIMPLE:
        pg_type = _SIMPLE[upper]
        if upper == "BLOB":
            return ColumnMapping(name, duckdb_type, pg_type, f"'\\x' || hex({ident}) AS {ident}")
        return ColumnMapping(name, duckdb_type, pg_type, ident)
    decimal = _DECIMAL.match(upper)
    if decimal:
        precision, scale = decimal.groups()
        return ColumnMapping(name, duckdb_type, f"numeric({precision},{scale})", ident)
    if _ENUM.match(upper):
        return ColumnMapping(name, duckdb_type, "text", f"CAST({ident} AS VARCHAR) AS {ident}")
    if _NESTED.search(upper):
        return ColumnMapping(
            name, duckdb_type, "jsonb", f"CAST(to_json({ident}) AS VARCHAR) AS {ident}"
        )
    raise UnsupportedColumnType(
        f"table {table}, column {name}: DuckDB type {duckdb_type} has no exact PostgreSQL "
        "type in clientmart.serving.postgres_types; cast it in the mart (dbt) or add a mapping"
    )
