"""The same night under two checkouts of the project, on fresh copies of one home, interleaved.

On a shared machine seconds from different hours do not compare (docs/benchmark.md: the same
night took 75-113 s within an hour). To measure a change, this runs one date again and again,
each time on a fresh copy of a pipeline home taken before that date, alternating the
checkouts (say main and a worktree holding the change), each run in a process of its own with
that checkout first on ``sys.path``. Per run it prints the wall seconds of the run
(``orchestration.runner.execute``; loading the definitions is not timed), the CPU seconds of
the process tree, dbt's ``elapsed_time``, its node and data-test counts, whether the
night's dbt parsed the whole project ("full") or partially, and the seconds of the run's
three steps (ingest, dbt, publish), and the ``execution_time`` of each dbt node named with
``--node`` (a model's time inside the night, where the night's spread hides a change to one
model); then each checkout's mean.

    python bench/compare_checkouts.py --home H --landing L --key K --date 2026-10-16 \\
        --checkout A=/work/main --checkout B=/tmp/wt --order ABBAABBA

Each run uses the Python of the checkout's own virtual environment (``<checkout>/.venv``, as
``make venv`` creates it) when it has one, else the Python running this script: a change of
pinned dependencies (say, another DuckDB) or of the interpreter (``make venv
PYTHON=/usr/bin/python3.11`` in the worktree) is compared by giving the worktree its own
``.venv``. Each run reports the DuckDB version and the Python (version and installation) it
ran on.

A home: a benchmark ``--work`` folder's ``nightly_*`` holds one after its last night; for a
date before that, load a home up to the day before (``pipeline_home`` and
``orchestration.runner.backfill``) and keep a copy that keeps symbolic links (``cp -a``, or
``copy_home`` here): the serving folder's ``exports`` is one, and a plain folder in its place
makes the night's publish export every mart whole.

Each run removes the copy's dbt manifest before it loads the definitions, so that the load parses
the checkout's own project, untimed. Without that, a checkout whose files are older than the
copied manifest would not parse at load, and its timed night would pay a full parse instead:
the copy's warehouse path changes dbt's profile, which defeats partial parsing once (about
4-5 s; docs/benchmark.md, "A model's keys inside its column rules").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

FIGURES = ("wall", "cpu", "dbt_elapsed", "nodes", "tests", "ingest", "dbt_step", "publish")


def _cpu_seconds() -> float:
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(usage.ru_utime + usage.ru_stime for usage in used)


def run_one(
    root: Path, home: Path, landing: Path, key: Path, date: dt.date, nodes: Sequence[str] = ()
) -> dict[str, float]:
    """One night in ``home`` with the code of the checkout at ``root``; ``nodes``: dbt node
    names whose ``execution_time`` to report as ``node:<name>``."""
    sys.path[:0] = [str(root), str(root / "bench")]
    from run_benchmark import DBT_STEP, INGEST_STEP, PUBLISH_STEP, interpreter, isolated_settings

    import orchestration
    from orchestration.build import build_definitions
    from orchestration.defs.dbt.project import dbt_project
    from orchestration.runner import dagster_instance, execute

    if not Path(orchestration.__file__).resolve().is_relative_to(root):
        raise SystemExit(f"orchestration came from {orchestration.__file__}, not {root}")
    import duckdb

    settings = isolated_settings(home, landing, key)
    target = Path(dbt_project(settings).target_path)
    (target / "manifest.json").unlink(missing_ok=True)  # parsed again at load, untimed
    defs, instance = build_definitions(settings), dagster_instance(settings)
    since = dt.datetime.now(dt.UTC).isoformat()
    cpu, began = _cpu_seconds(), time.perf_counter()
    outcome = execute(settings, defs, instance, date, date)
    wall, cpu = time.perf_counter() - began, _cpu_seconds() - cpu
    if not outcome.success:
        raise SystemExit(f"the night {date} failed in {home}: {outcome.error}")
    results = json.loads((target / "run_results.json").read_text())
    ran = results["results"]
    figure_of = {INGEST_STEP: "ingest", DBT_STEP: "dbt_step", PUBLISH_STEP: "publish"}
    steps = {
        figure_of[stat.step_key]: round(stat.end_time - stat.start_time, 2)
        for stat in instance.get_run_step_stats(outcome.run_id)
        if stat.step_key in figure_of
    }
    return {
        "wall": round(wall, 2),
        "cpu": round(cpu, 1),
        "dbt_elapsed": round(results["elapsed_time"], 2),
        "nodes": len(ran),
        "tests": sum(node["unique_id"].startswith("test.") for node in ran),
        "parse": night_parse(target, since),
        "duckdb": duckdb.__version__,
        "python": interpreter(),
        **{figure: steps.get(figure, 0.0) for figure in figure_of.values()},
        **node_times(ran, nodes),
    }


def node_times(ran: list[dict], names: Sequence[str]) -> dict[str, float]:
    """``node:<name>``: the seconds dbt ran each named node (model, test, ...) in the night."""
    times = {node["unique_id"].rsplit(".", 1)[-1]: node["execution_time"] for node in ran}
    missing = [name for name in names if name not in times]
    if missing:
        raise SystemExit(f"no dbt node named {', '.join(missing)} ran in the night")
    return {f"node:{name}": round(times[name], 2) for name in names}


def night_parse(target: Path, since: str) -> str:
    """ "full" when a dbt command after ``since`` (UTC, ISO) parsed the whole project (its JSON
    log says why it could not parse partially), else "partial"."""
    for log in sorted(target.glob("dbt.log*")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"UnableToPartialParse"' not in line:
                continue
            stamp = json.loads(line)["info"]["ts"].replace("Z", "+00:00")
            if dt.datetime.fromisoformat(stamp) >= dt.datetime.fromisoformat(since):
                return "full"
    return "partial"


def copy_home(home: Path, copy: Path) -> None:
    """A fresh copy of ``home`` at ``copy``, symbolic links kept as links: the serving folder's
    ``exports`` is a link to the current publication's exports, and a copy that followed it
    would hold a plain folder instead, so the night's publish would export every mart whole
    (about 20 s more at 1M clients) instead of linking the days it did not touch."""
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(home, copy, symlinks=True)


def checkout_python(root: Path) -> str:
    """The Python a checkout's runs use: its own ``.venv``'s when it has one."""
    own = root / ".venv" / "bin" / "python"
    return str(own) if own.is_file() else sys.executable


def parse_checkouts(specs: list[str]) -> dict[str, Path]:
    checkouts = {}
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise SystemExit(f"--checkout {spec!r}: expected LABEL=PATH")
        if not (Path(path) / "orchestration").is_dir():
            raise SystemExit(f"--checkout {spec!r}: {path} holds no orchestration/ package")
        checkouts[label] = Path(path).resolve()
    return checkouts


def summarise(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Each checkout's mean of every figure (and node time), in the order the checkouts
    first ran."""
    labels = list(dict.fromkeys(run["label"] for run in runs))
    figures = [*FIGURES, *sorted({key for run in runs for key in run if key.startswith("node:")})]
    return {
        label: {
            figure: round(statistics.mean(run[figure] for run in runs if run["label"] == label), 2)
            for figure in figures
        }
        for label in labels
    }


def compare(args: argparse.Namespace) -> list[dict]:
    checkouts = parse_checkouts(args.checkout)
    unknown = sorted(set(args.order) - set(checkouts))
    if unknown:
        raise SystemExit(f"--order names checkouts not given with --checkout: {unknown}")
    copy = args.copy or args.home.with_name(args.home.name + "_compare")
    runs = []
    for label in args.order:
        copy_home(args.home, copy)
        root = checkouts[label]
        env = dict(os.environ, PYTHONPATH=str(root))
        command = [checkout_python(root), str(Path(__file__).resolve()), "--one", str(root)]
        command += ["--home", str(copy), "--landing", str(args.landing), "--key", str(args.key)]
        command += ["--date", args.date.isoformat()]
        command += [arg for name in args.node for arg in ("--node", name)]
        done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
        if done.returncode:
            sys.stderr.write(done.stderr[-5000:])
            raise SystemExit(f"run {len(runs) + 1} ({label}, {root}) failed")
        run = {"label": label, **json.loads(done.stdout.strip().splitlines()[-1])}
        runs.append(run)
        print("  ".join(f"{k} {v}" for k, v in run.items()), flush=True)
    shutil.rmtree(copy, ignore_errors=True)
    means = summarise(runs)
    for label, figures in means.items():
        shown = "  ".join(f"{k} {v}" for k, v in figures.items())
        print(f"mean {label} ({checkouts[label]}): {shown}")
    if args.out:
        args.out.write_text(json.dumps({"runs": runs, "means": means}, indent=1))
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="A pipeline home before --date.")
    parser.add_argument("--landing", type=Path, required=True, help="The bank's delivery folder.")
    parser.add_argument("--key", type=Path, required=True, help="The home's pseudonym key file.")
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--checkout", action="append", default=[], help="LABEL=PATH, repeated.")
    parser.add_argument("--order", default="ABBA", help="Labels in the order to run them.")
    parser.add_argument("--copy", type=Path, help="Where to copy the home (default beside it).")
    parser.add_argument("--out", type=Path, help="Also write the runs and means as JSON here.")
    parser.add_argument(
        "--node", action="append", default=[], help="A dbt node whose time to report, repeated."
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a checkout: one run
    args = parser.parse_args(argv)
    if args.one:
        run = run_one(args.one, args.home, args.landing, args.key, args.date, args.node)
        print(json.dumps(run))
    else:
        compare(args)


if __name__ == "__main__":
    main()
