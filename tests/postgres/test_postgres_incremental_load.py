"""The PostgreSQL load replays what each publication changed instead of copying every table.

A generated bank through `clientmart run` (the real dbt project and publish) for three
nights. The first load copies every table whole; the next ones delete and copy only the key
values the publications changed (the night's date of the daily fact, the open month of the
month marts, ...), as recorded in the serving copy's `publication_changes`. Whatever the
loader cannot vouch for is loaded whole: a database loaded by an earlier release (no layouts
in its load log), a publication written whole (`clientmart publish --full`), rows that
disagree with the serving copy's count after an update. A publication that compacts the
serving file (writes it whole) still records the night's keys, and they are replayed. Each
time the database must equal one into which the same publication was loaded whole, row for
row and for each institution role.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import psycopg
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import clientmart.cli as cli
import clientmart.serving.postgres as pg_serving
import clientmart.serving.publish as publish_module
from clientmart.generator.bank import generate_bank
from clientmart.serving.exports import TableChange
from clientmart.serving.postgres import load_publication
from clientmart.serving.publish import latest_publication, serving_path

D1, D2, D3 = dt.date(2026, 10, 8), dt.date(2026, 10, 9), dt.date(2026, 10, 10)
BY_KEYS = {  # incremental marts (dbt delete+insert) a night changes by a few key values
    "fct_deposit_balance_daily",
    "mart_client_assets_monthly",
    "mart_client_breakdown",
    "mart_client_tier",
    "ingest_audit",
}
ROLES = ("inst_br01", "inst_sb0101", "inst_unknown")


def content(dsn: str, superuser_dsn: str) -> dict[str, object]:
    """Every table of schema marts: its rows (as text, in order) as the owner reads them, and
    the rows each of ROLES reads through row-level security."""
    out: dict[str, object] = {}
    with psycopg.connect(dsn) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            query = sql.SQL("SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)), count(*) "
                            "FROM {} AS t").format(sql.Identifier("marts", table))  # fmt: skip
            out[table] = conn.execute(query).fetchall()[0]
    with psycopg.connect(superuser_dsn) as conn:
        for role in ROLES:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            for table in tables:
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", table))
                out[f"{role}:{table}"] = conn.execute(query).fetchall()[0][0]
            conn.execute("RESET ROLE")
    return out


def last_load(dsn: str) -> tuple[str, list[str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT publication_id, updated_by_keys FROM loader.load_log "
            "ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall()[0]


def test_later_loads_replay_the_changed_keys_and_equal_a_whole_load(
    new_serving_database, settings_for, postgres_server, tmp_path: Path, monkeypatch
) -> None:
    incremental = new_serving_database("incremental-chain")

    def superuser(dsn: str) -> str:
        return postgres_server.superuser_dsn(conninfo_to_dict(dsn)["dbname"])

    landing, home = tmp_path / "landing", tmp_path / "home"
    generate_bank(landing, clients=150, start=D1, end=D3, seed=5)
    args = ["--home", str(home), "--landing", str(landing)]
    monkeypatch.setenv("CLIENTMART_POSTGRES_DSN", incremental)
    runner = CliRunner()

    def night(day: dt.date) -> None:
        done = runner.invoke(cli.main, ["run", "--date", day.isoformat(), *args])
        assert done.exit_code == 0, done.output

    def equals_a_whole_load() -> None:
        reference = new_serving_database("incremental-reference")  # made afresh each time
        held = latest_publication(home / "serving")
        assert held is not None
        load_publication(
            settings_for(reference), serving_path(home / "serving"), str(held["publication_id"])
        )
        assert last_load(reference)[1] == []  # a database loaded for the first time: whole
        held_whole = content(reference, superuser(reference))
        assert content(incremental, superuser(incremental)) == held_whole

    night(D1)
    assert last_load(incremental)[1] == []  # the first load copies every table
    # D2's publication compacts the serving file (writes it whole, mode "full"): against the
    # publication before, only the night's keys changed, and PostgreSQL still replays them
    needs_compaction = publish_module._needs_compaction
    monkeypatch.setattr(publish_module, "_needs_compaction", lambda _path: True)
    night(D2)
    monkeypatch.setattr(publish_module, "_needs_compaction", needs_compaction)
    with duckdb.connect(str(serving_path(home / "serving")), read_only=True) as con:
        modes = con.execute("SELECT mode FROM publication_log ORDER BY published_at").fetchall()
    assert modes == [("full",), ("full",)]  # the first publication, and D2's compaction
    published, by_keys = last_load(incremental)
    assert published == latest_publication(home / "serving")["publication_id"]
    assert set(by_keys) >= BY_KEYS
    assert not {"publication_log", "dim_date", "dim_institution"} & set(by_keys)  # tables
    equals_a_whole_load()
    with psycopg.connect(incremental) as conn:  # the daily fact's key is indexed
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'marts' "
            "AND tablename = 'fct_deposit_balance_daily'"
        ).fetchall()
    assert any("(balance_date)" in d for (d,) in indexes), indexes

    # loads that fall short of the serving copy's count are undone and loaded whole: here
    # the publication's changes of the daily fact lose a key value
    real_changes = pg_serving._changes_since

    def a_key_lost(*a, **k):
        changes = real_changes(*a, **k)
        fact = changes["fct_deposit_balance_daily"]
        kept = frozenset(sorted(fact.keys)[:-1])
        return {**changes, "fct_deposit_balance_daily": TableChange(False, kept, fact.key_column)}

    monkeypatch.setattr(pg_serving, "_changes_since", a_key_lost)
    night(D3)
    monkeypatch.setattr(pg_serving, "_changes_since", real_changes)
    by_keys = set(last_load(incremental)[1])
    assert "fct_deposit_balance_daily" not in by_keys and "mart_client_tier" in by_keys
    equals_a_whole_load()

    # the same publication loaded again writes nothing
    held = latest_publication(home / "serving")
    again = load_publication(
        settings_for(incremental), serving_path(home / "serving"), str(held["publication_id"])
    )
    assert sum(again.rows_written.values()) == 0 and set(again.tables) == set(again.updated_by_keys)

    # a load log of an earlier release (no layouts), then a publication written whole: both
    # are loaded whole
    with psycopg.connect(incremental) as conn:
        conn.execute("UPDATE loader.load_log SET layouts = NULL")
    monkeypatch.setenv("CLIENTMART_POSTGRES_DSN", incremental)
    by_hand = runner.invoke(cli.main, ["load-postgres", "--home", str(home)])
    assert by_hand.exit_code == 0, by_hand.output
    assert last_load(incremental)[1] == []
    full = runner.invoke(cli.main, ["publish", "--full", "--home", str(home)])
    assert full.exit_code == 0, full.output
    assert last_load(incremental)[1] == []
    equals_a_whole_load()
