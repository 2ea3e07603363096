"""What a scheduled night pays before and beside its steps: a fresh process's start.

    .venv/bin/python bench/process_start.py SETTINGS_JSON

A night the daemon's schedule or sensor launches (or ``clientmart run``) runs in a new
process. Before its first step that process imports Dagster and dagster-dbt (which imports
dbt-core) and loads the definitions; its ingest step then imports great-expectations. The
benchmark's nights run one after the other in one process (``run_benchmark.py``), so they pay
this once; ``run_benchmark.py`` runs this script in a subprocess and adds the time from its
start to its being ready to a night's, as the scheduler runs it. Prints one JSON line: the
seconds of each part, in the order a run pays them, and the clock time when they are done
(``ready_at``: the parent's start of the process to that point includes the interpreter's
own start; its exit comes after a night's publish and is not counted).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    t0 = time.perf_counter()
    import dagster  # noqa: F401

    t1 = time.perf_counter()
    from clientmart.settings import Settings
    from orchestration.build import build_definitions
    from orchestration.runner import dagster_instance

    t2 = time.perf_counter()
    settings = Settings.model_validate_json(sys.argv[1])
    build_definitions(settings)
    t3 = time.perf_counter()
    dagster_instance(settings)
    t4 = time.perf_counter()
    import great_expectations  # noqa: F401  (expectations.validate imports it on first use)

    t5 = time.perf_counter()
    parts = {
        "import_dagster": t1 - t0,
        "import_pipeline": t2 - t1,
        "load_definitions": t3 - t2,
        "open_instance": t4 - t3,
        "import_great_expectations": t5 - t4,
    }
    # when the process is ready, for the parent's clock: its exit is after the night's publish
    print(
        json.dumps({"parts": {k: round(v, 3) for k, v in parts.items()}, "ready_at": time.time()})
    )


if __name__ == "__main__":
    main()
