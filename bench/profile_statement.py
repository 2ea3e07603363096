"""Profile one statement as DuckDB runs it on a warehouse: its heaviest operators.

    .venv/bin/python bench/profile_statement.py WAREHOUSE SQL_FILE [--top 25] \
        [--threads 2] [--memory-limit 3GB]

SQL_FILE holds a SELECT, typically a model's compiled SQL for one night: ``dbt compile
--select <model>`` with ``CLIENTMART_RUN_START_DATE``/``END_DATE`` set, then
``target/compiled/clientmart/models/.../<model>.sql``. The warehouse must hold the state
before that night (a copy of the file taken before it ran): a month state compiled against
the state after it plans a recompute instead of an append. The compiled SQL names the
warehouse's catalog after its file (``build``), so profile the file under that name.

The warehouse is opened read-only, and the statement runs as ``CREATE TEMP TABLE ... AS``,
so its result is materialized as in a build, and the file is left as it was. It prints the
statement's seconds, its rows and CPU time, and the operators by time, each with the rows
it emitted. A scan that emits far more rows than the night has is work done in vain: that
is how a month state's reading of its whole month to date was found (docs/benchmark.md,
"A night read its month to date in vain").
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

#: extra_info keys worth printing beside an operator
SHOWN = ("Table", "Function", "Join Type", "Conditions", "Groups", "Aggregates", "Filters")


@dataclass(frozen=True)
class Operator:
    seconds: float
    depth: int
    name: str
    rows: int
    info: dict[str, str]


@dataclass(frozen=True)
class Profile:
    seconds: float
    rows: int
    cpu_seconds: float
    operators: list[Operator]

    def heaviest(self, top: int) -> list[Operator]:
        return sorted(self.operators, key=lambda op: -op.seconds)[:top]


def _walk(node: dict, depth: int = 0) -> Iterator[Operator]:
    """The operators of DuckDB 2's JSON profile below ``node`` (each with its ``name``,
    ``timing`` and the rows it emitted, ``intermediate_rows``)."""
    extra = node.get("extra_info") or {}
    yield Operator(
        seconds=float(node.get("timing", 0.0)),
        depth=depth,
        name=(node.get("name") or node.get("type") or "").strip(),
        rows=int(node.get("intermediate_rows", 0)),
        info={k: str(extra[k]) for k in SHOWN if k in extra},
    )
    for child in node.get("children", []):
        yield from _walk(child, depth + 1)


def profile(warehouse: Path, sql: str, *, threads: int = 2, memory_limit: str = "3GB") -> Profile:
    """Run ``sql`` (a SELECT) on ``warehouse``, read-only, under DuckDB's JSON profiler."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "profile.json"
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            con.execute(f"SET threads = {int(threads)}")
            con.execute(f"SET memory_limit = '{memory_limit}'")
            con.execute("PRAGMA enable_profiling = 'json'")
            con.execute(f"PRAGMA profiling_output = '{output}'")
            started = time.perf_counter()
            con.execute(f"CREATE TEMP TABLE profiled_result AS {sql.strip().rstrip(';')}")
            seconds = time.perf_counter() - started
            con.execute("PRAGMA disable_profiling")
            rows = con.execute("SELECT count(*) FROM profiled_result").fetchall()[0][0]
        finally:
            con.close()
        tree = json.loads(output.read_text())
    return Profile(
        seconds=seconds,
        rows=rows,
        # DuckDB 2: the query's totals under "query", its plan's roots under "operator"
        cpu_seconds=float(tree["query"].get("cpu_time", 0.0)),
        operators=[op for root in tree["operator"] for op in _walk(root)],
    )


def report(result: Profile, top: int) -> str:
    lines = [
        f"statement: {result.seconds:.2f} s, {result.rows:,} rows, "
        f"{result.cpu_seconds:.2f} s of operator CPU time",
        f"{'seconds':>8}  {'depth':>5}  {'operator':<26} {'rows':>12}  details",
    ]
    for op in result.heaviest(top):
        details = "; ".join(f"{k}: {v[:100]}" for k, v in op.info.items())
        lines.append(f"{op.seconds:8.3f}  {op.depth:5d}  {op.name:<26} {op.rows:12,d}  {details}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("sql_file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB")
    args = parser.parse_args(argv)
    result = profile(
        args.warehouse,
        args.sql_file.read_text(),
        threads=args.threads,
        memory_limit=args.memory_limit,
    )
    print(report(result, args.top))


if __name__ == "__main__":
    main()
