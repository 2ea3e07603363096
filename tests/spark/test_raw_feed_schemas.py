"""The Spark target's frozen raw-layer schemas match what ingest writes (ingest/feeds.yml)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

from ingest.spec import load_feeds
from ingest.store import raw_schema

SCRIPT = Path(__file__).resolve().parents[2] / "dbt_project/scripts/build_spark_raw_schemas.py"


def _generator():
    spec = importlib.util.spec_from_file_location("build_spark_raw_schemas", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_committed_macro_matches_feeds_yml() -> None:
    generator = _generator()
    committed = generator.MACRO_PATH.read_text(encoding="utf-8")
    expected = generator.render_macro(generator.feed_schemas())
    assert committed == expected, (
        "ingest/feeds.yml changed: re-run "
        ".venv/bin/python dbt_project/scripts/build_spark_raw_schemas.py"
    )


def test_every_feed_and_column_is_typed() -> None:
    schemas = _generator().feed_schemas()
    feeds = load_feeds()
    assert set(schemas) == set(feeds)
    for name, feed in feeds.items():
        assert [column for column, _ in schemas[name]] == list(raw_schema(feed))
    deposit = dict(schemas["deposit_balances"])
    assert deposit["balance"] == "decimal(24,6)"
    assert deposit["balance_date"] == "date"
    assert deposit["_source_line"] == "bigint"
    assert deposit["_loaded_at"] == "timestamp"


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="no Spark type"):
        _generator().spark_type(pl.List(pl.String))
