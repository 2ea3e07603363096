"""The history point names the dbt nodes that grew most between its two nights."""

from __future__ import annotations

import importlib
import sys

from clientmart.settings import PROJECT_ROOT


def _run_benchmark():
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    try:
        return importlib.import_module("run_benchmark")
    finally:
        sys.path.remove(str(PROJECT_ROOT / "bench"))


def test_grew_most_ranks_nodes_by_growth_and_counts_a_missing_node_as_zero() -> None:
    grew_most = _run_benchmark().grew_most
    after_1 = {"dbt_nodes": {"seconds": {"flat": 5.0, "grows": 1.0, "gone": 2.0}}}
    after_6 = {"dbt_nodes": {"seconds": {"flat": 5.1, "grows": 4.0, "new": 1.5}}}

    assert grew_most(after_1, after_6, top=3) == {
        "grows": [1.0, 4.0],
        "new": [0.0, 1.5],
        "flat": [5.0, 5.1],
    }
    assert list(grew_most(after_1, after_6)) == ["grows", "new", "flat", "gone"]
    assert grew_most({}, {}) == {}
