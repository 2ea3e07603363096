"""The pseudonymisation key reaches DuckDB as a function, not as text in the SQL.

dbt-duckdb calls this plugin (profiles.yml, ``plugins``) on the connection it opens, before
any model runs: ``clientmart_pseudonym_key()`` returns the key from the environment
(``DBT_CLIENTMART_PSEUDONYM_KEY``, set by ``Settings.dbt_env``). Macro ``pseudonymise``
hashes with it, so the key is in no compiled SQL, ``manifest.json``, ``run_results.json``,
dbt log or view definition: a literal there let anyone who reads ``target/`` (which ``dbt
docs serve`` serves over HTTP) recompute a published ``id_number_key`` from an ID number.
DuckDB folds the call to a constant when it plans a query, so hashing costs what it did.
A view that hashes reads the key when queried: opened without this plugin (the DuckDB CLI
on the build warehouse), it fails with "Scalar Function ... does not exist".
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection, sqltypes

FUNCTION = "clientmart_pseudonym_key"
ENV = "DBT_CLIENTMART_PSEUDONYM_KEY"


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        key = os.environ.get(ENV, "")
        if not key:
            raise RuntimeError(f"{ENV} is not set: the pseudonymisation key is required")
        conn.create_function(FUNCTION, lambda: key, [], sqltypes.VARCHAR, side_effects=False)
