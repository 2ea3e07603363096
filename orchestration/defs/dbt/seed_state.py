"""Seeds are loaded when they change, not every night.

The project's seeds (tier rules, call-list rules, calendars, ...) and the data tests that read
only them are a third of the nodes of a nightly ``dbt build`` (22 seeds and 94 tests), and
they give the same result every night until someone edits a seed or its tests. So the build
warehouse remembers what it last loaded: after a build that loaded the seeds and passed their
tests, the runner records a fingerprint of the seeds' definitions (dbt's checksum of each CSV,
its config and relation) and of the tests that read only seeds, in ``SEED_STATE_TABLE``. A
later run whose manifest gives the same fingerprint, on a warehouse that still holds every
seed table, leaves those seeds and tests out of its build; any change (a seed edited, added,
removed, re-configured, a test on a seed added or changed), a fresh warehouse or a missing
seed table loads them all again. Tests that read a seed and a model still run every night.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

SEED_STATE_TABLE = "clientmart_seed_state"


@dataclass(frozen=True)
class SeedNodes:
    """The seeds of a manifest and the data tests that read nothing but seeds."""

    seeds: tuple[str, ...]  # node names (dbt selectors)
    relations: tuple[tuple[str, str], ...]  # (schema, table) of each seed in the warehouse
    tests: tuple[str, ...]
    fingerprint: str
    unique_ids: frozenset[str] = frozenset()

    @property
    def names(self) -> list[str]:
        return [*self.seeds, *self.tests]


def _seed_definition(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": node["unique_id"],
        "checksum": node["checksum"],
        "config": node.get("config", {}),
        "relation": [node.get("database"), node.get("schema"), node.get("alias")],
    }


def _test_definition(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": node["unique_id"],
        "code": node.get("raw_code"),
        "test": node.get("test_metadata"),
        "config": node.get("config", {}),
        "parents": node["depends_on"]["nodes"],
    }


def seed_nodes(manifest: Mapping[str, Any]) -> SeedNodes:
    nodes = manifest["nodes"]
    seeds = sorted(
        (n for n in nodes.values() if n["resource_type"] == "seed"), key=lambda n: n["unique_id"]
    )
    seed_ids = {n["unique_id"] for n in seeds}
    tests = sorted(
        (
            n
            for n in nodes.values()
            if n["resource_type"] == "test"
            and n["depends_on"]["nodes"]
            and set(n["depends_on"]["nodes"]) <= seed_ids
        ),
        key=lambda n: n["unique_id"],
    )
    definition = {
        "seeds": [_seed_definition(n) for n in seeds],
        "tests": [_test_definition(n) for n in tests],
    }
    digest = hashlib.sha256(
        json.dumps(definition, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    return SeedNodes(
        seeds=tuple(n["name"] for n in seeds),
        relations=tuple((n["schema"], n.get("alias") or n["name"]) for n in seeds),
        tests=tuple(n["name"] for n in tests),
        fingerprint=digest,
        unique_ids=frozenset(n["unique_id"] for n in (*seeds, *tests)),
    )


@dataclass(frozen=True)
class RecordedSeeds:
    fingerprint: str
    loaded_at: dt.datetime


def seeds_in_place(warehouse: Path, nodes: SeedNodes) -> RecordedSeeds | None:
    """What the warehouse recorded, if it matches ``nodes`` and every seed table exists."""
    if not nodes.seeds or not Path(warehouse).exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = set(
            con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        )
        if ("main", SEED_STATE_TABLE) not in tables:
            return None
        row = con.execute(
            f"select fingerprint, loaded_at from main.{SEED_STATE_TABLE}"  # noqa: S608 - constant
        ).fetchone()
    if row is None or row[0] != nodes.fingerprint:
        return None
    if not set(nodes.relations) <= tables:
        return None
    return RecordedSeeds(row[0], row[1])


def loaded_by(run_results: Mapping[str, Any], nodes: SeedNodes) -> bool:
    """Whether the run of ``run_results`` loaded every seed and passed every test on them
    (a run of a subset of the assets may not have)."""
    status = {r["unique_id"]: r["status"] for r in run_results["results"]}
    return all(
        status.get(uid) == ("success" if uid.startswith("seed.") else "pass")
        for uid in nodes.unique_ids
    )


def record_seeds(warehouse: Path, nodes: SeedNodes) -> None:
    """Remember that the warehouse holds ``nodes``' seeds, loaded and tested just now."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"create or replace table main.{SEED_STATE_TABLE} as "  # noqa: S608 - constant
            "select ? as fingerprint, current_timestamp as loaded_at",
            [nodes.fingerprint],
        )


def forget_seeds(warehouse: Path) -> None:
    """Drop the record (before a build that loads seeds): a build that fails midway must not
    leave a record that vouches for seeds it replaced only in part."""
    if not Path(warehouse).exists():
        return
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"drop table if exists main.{SEED_STATE_TABLE}")
