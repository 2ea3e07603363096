"""One night's publish replayed in each serving storage format, alternated, on copies of a home.

The serving file's format is a setting (``CLIENTMART_SERVING_STORAGE_VERSION``, docs/serving.md):
DuckDB 1.0's, which every reader opens, or a newer one that compresses strings more cheaply.
This measures what the choice costs a night's publish. Each trial copies the home's serving
folder, rewrites both of its files (the current publication and the standby) in the format
under test with ``COPY FROM DATABASE``, so that every format starts from unfragmented files,
and publishes the build warehouse into the copy from the standby, as a night does: it writes
the rows the standby lacks (the last two nights' for a home after a nightly run). The
formats alternate (A B B A ...), and it prints per run the wall and CPU seconds and the
file's format tag, then each format's range.

    python bench/serving_format.py <work>/nightly_<stamp> --date 2026-10-15 \\
        --formats v1.0.0 v1.5.0 --trials 2

A home: a benchmark ``--work`` folder's ``nightly_*`` after its last night. The publish
itself decides to copy the current file instead of taking the standby when the build holds
nothing new since it (the cheaper way then); a replay has nothing new, so this tells it to
take the standby, which is the night's work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import clientmart.serving.publish as serving  # noqa: E402
from clientmart.settings import Settings  # noqa: E402


def rewrite(path: Path, version: str) -> None:
    """``path`` written again, whole, in storage format ``version``."""
    fresh = path.with_name(path.name + ".rewrite")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS old (READ_ONLY)")
        con.execute(f"ATTACH '{fresh}' AS new (STORAGE_VERSION '{version}')")
        con.execute("COPY FROM DATABASE old TO new")
    finally:
        con.close()
    fresh.replace(path)


def copy_serving(serving_dir: Path, copy: Path, version: str) -> None:
    """The serving folder at ``copy`` with its files in ``version``; links kept as links (the
    ``exports`` link: a folder in its place would make the publish export every mart whole)."""
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(serving_dir, copy, symlinks=True)
    for name in (serving.SERVING_FILE, serving.SERVING_FILE + serving.STANDBY_SUFFIX):
        if (copy / name).exists():
            rewrite(copy / name, version)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def replay(
    build: Path,
    serving_dir: Path,
    relations: list[serving.MartRelation],
    day: dt.date,
    version: str,
    copy: Path,
    memory_limit: str | None,
) -> dict[str, object]:
    """One publish into a copy of ``serving_dir`` in ``version``: its seconds and base."""
    copy_serving(serving_dir, copy, version)
    # the night's work (see the docstring): a row written again prices at nothing, so the
    # standby is taken; its cost is still estimated, as a night's publish does
    row_cost = serving.STANDBY_ROW_COST
    serving.STANDBY_ROW_COST = 0
    try:
        started, cpu = time.perf_counter(), cpu_seconds()
        result = serving.publish(
            build,
            copy,
            relations,
            (day, day),
            memory_limit=memory_limit,
            storage_version=version,
        )
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    finally:
        serving.STANDBY_ROW_COST = row_cost
    tag = serving.storage_format(result.path)
    shutil.rmtree(copy)
    return {
        "format": version,
        "wall": round(wall, 2),
        "cpu": round(cpu, 2),
        "base": result.base,
        "mode": result.mode,
        "file": tag,
    }


def order(formats: list[str], trials: int) -> list[str]:
    """A B, B A, A B, ...: each format as often first as last."""
    return [f for t in range(trials) for f in (formats if t % 2 == 0 else formats[::-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="a pipeline home after a night")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--formats", nargs="+", default=["v1.0.0", "v1.5.0"])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="where the copies go")
    args = parser.parse_args()
    home: Path = args.home
    manifest = home / "dbt" / "dbt_project" / "target" / "manifest.json"
    relations = serving.mart_relations_from_manifest(manifest)
    work = args.work or home.parent / "serving_format"
    work.mkdir(parents=True, exist_ok=True)
    limit = Settings().publish_memory_limit
    runs = []
    for version in order(args.formats, args.trials):
        run = replay(
            home / "warehouse" / "build.duckdb",
            home / "serving",
            relations,
            args.date,
            version,
            work / "serving",
            limit,
        )
        runs.append(run)
        print(json.dumps(run), flush=True)
    for version in args.formats:
        mine = [r for r in runs if r["format"] == version]
        walls, cpus = [r["wall"] for r in mine], [r["cpu"] for r in mine]
        print(f"{version}: publish {min(walls)}-{max(walls)} s, {min(cpus)}-{max(cpus)} CPU-s")


if __name__ == "__main__":
    main()
