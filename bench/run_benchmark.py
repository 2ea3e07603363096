"""The nightly benchmark: a generated bank at scale through the real pipeline, against a floor.

    .venv/bin/python bench/run_benchmark.py [--clients 1000000] [--days 31] [--out FILE]

1. Generates a bank (``generate_bank``; reused when ``--work`` already holds it) from
   ``--start`` for ``--days`` days: at 1M clients about 2.5M deposit balances a day, 0.6M
   transactions, 0.3M holdings, 10k orders, some files GBK/GB18030.
2. Nightly: one Dagster run per date (``orchestration.runner.execute``, as ``clientmart run``),
   timed per stage. Stages inside the ingest step are timed by wrapping ``read_delivery``
   (read and decode), ``split_records`` + ``validate_batch`` (validate) and
   ``store.write_atomic`` with ``ParquetSink.write``/``commit`` (raw write); dbt build and
   publish are the Dagster steps' durations from the run's step stats; orchestration is the
   run's wall time minus its steps. The nights share this process; a scheduled night runs in
   a fresh one, whose start (``bench/process_start.py``: Dagster, dbt-core, the definitions,
   great-expectations) is measured apart and added to a night's time end to end.
3. The floor (``bench/floor.py``, no framework) on the same files for each date, in a
   subprocess; the pipeline's time for a date is reported as a ratio to it.
4. A plain ``polars.read_csv`` (``read_excel`` for .xlsx) of the last date's files: the read
   stage's throughput as a share of it.
5. Backfill: the same dates as one range (``orchestration.runner.backfill``) in a fresh home,
   primed as the nightly home when ``--prime-from`` is given (the prime timed apart).
6. History (``--history-months``, 0 to skip): a bank of ``--history-clients`` from the month of
   ``--history-start`` (default: the latest whose last night has happened; ``--start`` with
   ``--history-only``), built by one
   backfill up to two days before day ``--history-day`` of month 2 and of month N+1, then the
   day before run nightly (the first night after a bulk backfill, recorded as ``warm_up``:
   it also pays the backfill's after-effects), then day ``--history-day`` nightly, as in a
   history built night after night; those two nightly times are compared (cost must follow
   the day, not history).

Peak memory is the RSS of the whole process tree (this process, dbt, the floor), sampled from
/proc every 0.2 s (psutil is not needed). Prints a table and the targets of issue 10, each
met or missed and by how much (``targets``); writes JSON to ``--out``.
Not part of the test suite's pass/fail (design.md, Testing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import operator
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

import polars as pl  # noqa: E402

from clientmart.settings import Settings  # noqa: E402
from orchestration.partitions import dates_between  # noqa: E402

STAGES = (
    "read_decode",
    "validate",
    "raw_write",
    "ingest_other",
    "dbt_build",
    "publish",
    "orchestration",
)
INGEST_STEP, DBT_STEP, PUBLISH_STEP = "raw_feeds", "clientmart_dbt", "serving_publication"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


# --- memory: RSS of the process tree, sampled -------------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids.extend(int(k) for k in fh.read().split())
    except OSError:
        pass
    return kids


def _tree_pids(root: int) -> list[int]:
    """``root`` and every descendant alive now."""
    pids, todo, seen = [], [root], set()
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            pids.append(pid)
            todo.extend(_children(pid))
    return pids


def _sum_proc(pids: list[int], name: str, parse: Callable[[str], float]) -> float:
    """The sum of ``parse(/proc/<pid>/<name>)`` over ``pids`` (one that ended is skipped)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/{name}") as fh:
                total += parse(fh.read())
        except OSError:
            continue
    return total


def _rss_bytes(statm: str) -> int:
    return int(statm.split()[1]) * PAGE


def _cpu_seconds(stat: str) -> float:
    """User and system CPU of a process with the children it has reaped (cutime, cstime): a
    dbt process that ends inside a window still counts, once its parent has waited for it."""
    fields = stat.rsplit(")", 1)[1].split()  # the fields after the command's name
    return sum(int(f) for f in fields[11:15]) / TICK  # utime stime cutime cstime


class MemorySampler:
    """A thread that samples the tree's RSS and CPU time; ``peak(t0, t1)`` is the max RSS
    inside a window, ``cores(t0, t1)`` the cores the tree kept busy in it on average."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.cpu: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        pids, now = _tree_pids(os.getpid()), time.time()
        self.samples.append((now, int(_sum_proc(pids, "statm", _rss_bytes))))
        self.cpu.append((now, _sum_proc(pids, "stat", _cpu_seconds)))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, t0: float, t1: float) -> int:
        inside = [rss for t, rss in list(self.samples) if t0 <= t <= t1]
        return max(inside, default=0)

    def cores(self, t0: float, t1: float) -> float | None:
        """CPU seconds of the tree between the first and last sample inside the window, per
        second (2.0: both cores of this machine busy throughout); None under two samples."""
        inside = [(t, cpu) for t, cpu in list(self.cpu) if t0 <= t <= t1]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
            return None
        return round((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]), 2)


# --- stage timing ------------------------------------------------------------------------


@dataclass
class Interval:
    stage: str
    start: float
    end: float
    rows: int = 0
    bytes: int = 0


@dataclass
class Recorder:
    """Intervals of the instrumented calls (wall clock, so they line up with step stats)."""

    sampler: MemorySampler
    intervals: list[Interval] = field(default_factory=list)

    def wrap(self, stage: str, fn: Callable, measure: Callable[..., tuple[int, int]]) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.time()
            self.sampler.sample()  # so that even a short call has a sample inside its window
            result = fn(*args, **kwargs)
            self.sampler.sample()
            end = time.time()
            rows, size = measure(result, *args, **kwargs)
            self.intervals.append(Interval(stage, start, end, rows, size))
            return result

        return timed

    def wrap_parts(self, stage: str, fn: Callable) -> Callable:
        """Like ``wrap`` for a generator of read parts: only the time inside ``next`` counts
        (the consumer's work between parts belongs to other stages); the file's bytes are
        counted once, with its first part."""

        def timed(path: Path, *args: Any, **kwargs: Any) -> Iterator[Any]:
            parts = fn(path, *args, **kwargs)
            size = Path(path).stat().st_size
            while True:
                start = time.time()
                self.sampler.sample()
                part = next(parts, None)
                self.sampler.sample()
                end = time.time()
                if part is None:
                    return
                self.intervals.append(Interval(stage, start, end, part.frame.height, size))
                size = 0
                yield part

        return timed


def _split_measure(result: Any, read: Any, *_a: Any, **_k: Any) -> tuple[int, int]:
    return read.frame.height, int(read.frame.estimated_size())


def _validate_measure(_result: Any, _feed: Any, frame: Any, *_a: Any, **_k: Any) -> tuple[int, int]:
    return 0, 0  # rows are counted once, by split_records


def _write_measure(_result: Any, frame: Any, target: Path, *_a: Any, **_k: Any) -> tuple[int, int]:
    return frame.height, Path(target).stat().st_size


def _sink_measure(_result: Any, _sink: Any, frame: Any, *_a: Any, **_k: Any) -> tuple[int, int]:
    return frame.height, int(frame.estimated_size())


def _commit_measure(_result: Any, _sink: Any, *_a: Any, **_k: Any) -> tuple[int, int]:
    return 0, 0  # rows and bytes are counted once, by the writes


def _publish_measure(result: Any, *_a: Any, **_k: Any) -> tuple[int, int]:
    return sum(result.row_counts.values()), Path(result.path).stat().st_size


@contextmanager
def instrumented(recorder: Recorder) -> Iterator[None]:
    """Wrap the ingest and publish entry points the Dagster steps call, restore them after."""
    import ingest.pipeline as pipeline
    import ingest.store as store
    import orchestration.defs.serving.assets as serving

    patches = [
        (pipeline, "split_records", "validate", _split_measure),
        (pipeline, "validate_batch", "validate", _validate_measure),
        # the small files of a feed and date share one suite run (docs/ingest.md)
        (pipeline, "validate_frames", "validate", _validate_measure),
        (store, "write_atomic", "raw_write", _write_measure),
        (store.ParquetSink, "write", "raw_write", _sink_measure),
        (store.ParquetSink, "commit", "raw_write", _commit_measure),
        (serving, "publish", "publish_call", _publish_measure),
    ]
    originals = [(mod, name, getattr(mod, name)) for mod, name, _s, _m in patches]
    originals.append((pipeline, "read_delivery_parts", pipeline.read_delivery_parts))
    for mod, name, stage, measure in patches:
        setattr(mod, name, recorder.wrap(stage, getattr(mod, name), measure))
    pipeline.read_delivery_parts = recorder.wrap_parts("read_decode", pipeline.read_delivery_parts)
    try:
        yield
    finally:
        for mod, name, original in originals:
            setattr(mod, name, original)


# --- one Dagster run, broken into stages ---------------------------------------------------


def _stage(seconds: float, rows: int, size: int, peak: int) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 3),
        "rows": rows,
        "mb": round(size / 1e6, 1),
        "rows_per_s": round(rows / seconds) if seconds > 0 else None,
        "mb_per_s": round(size / 1e6 / seconds, 1) if seconds > 0 else None,
        "peak_rss_mb": round(peak / 2**20),
    }


def _node_name(unique_id: str) -> str:
    """A node's name from its unique id (``test.clientmart.<name>.<hash>``: the name)."""
    return unique_id.split(".")[2]


def dbt_node_seconds(settings: Settings, top: int = 12) -> dict[str, Any]:
    """Where the dbt build's time went: seconds per resource type, the slowest nodes and
    every node's seconds (from the run's run_results.json), so that a history comparison
    shows which models and tests grow."""
    from orchestration.defs.dbt.project import dbt_project

    path = Path(dbt_project(settings).target_path) / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    by_type: dict[str, float] = {}
    for r in results:
        kind = r["unique_id"].split(".")[0]
        by_type[kind] = round(by_type.get(kind, 0.0) + r.get("execution_time", 0.0), 1)
    slowest = sorted(results, key=lambda r: r.get("execution_time", 0.0), reverse=True)[:top]
    return {
        "nodes": len(results),
        "seconds_by_type": by_type,
        "slowest": {_node_name(r["unique_id"]): round(r["execution_time"], 2) for r in slowest},
        "seconds": {_node_name(r["unique_id"]): round(r["execution_time"], 2) for r in results},
    }


def grew_most(before: dict[str, Any], after: dict[str, Any], top: int = 15) -> dict[str, list]:
    """The dbt nodes whose seconds grew most from one night to another: name -> [before,
    after]; a node of only one night counts as 0 in the other."""
    b = before.get("dbt_nodes", {}).get("seconds", {})
    a = after.get("dbt_nodes", {}).get("seconds", {})
    names = sorted(b.keys() | a.keys(), key=lambda n: a.get(n, 0.0) - b.get(n, 0.0), reverse=True)
    return {n: [b.get(n, 0.0), a.get(n, 0.0)] for n in names[:top]}


def measured_run(
    settings: Settings,
    defs: Any,
    instance: Any,
    start: dt.date,
    end: dt.date,
    sampler: MemorySampler,
) -> dict[str, Any]:
    """Execute the job for start..end and return per-stage seconds, rows, MB, peak RSS."""
    import dagster as dg

    from orchestration.defs.pipeline.jobs import MONTH_JOB_NAME
    from orchestration.runner import execute

    recorder = Recorder(sampler)
    with instrumented(recorder):
        t0 = time.time()
        outcome = execute(settings, defs, instance, start, end)
        t1 = time.time()
    if not outcome.success:
        raise SystemExit(f"pipeline run {start}..{end} failed: {outcome.error}")
    steps = {s.step_key: s for s in instance.get_run_step_stats(outcome.run_id)}
    spans = {k: (s.start_time or t0, s.end_time or t1) for k, s in steps.items()}
    # a month run of the monthly feeds (RM targets) the date needed first counts as ingest
    month_spans = [
        (s.start_time or t0, s.end_time or t1)
        for run in instance.get_runs(
            dg.RunsFilter(
                job_name=MONTH_JOB_NAME, created_after=dt.datetime.fromtimestamp(t0, dt.UTC)
            )
        )
        for s in instance.get_run_step_stats(run.run_id)
    ]

    def sum_of(stage: str) -> tuple[float, int, int, int]:
        chosen = [i for i in recorder.intervals if i.stage == stage]
        secs = sum(i.end - i.start for i in chosen)
        peak = max((sampler.peak(i.start, i.end) for i in chosen), default=0)
        return secs, sum(i.rows for i in chosen), sum(i.bytes for i in chosen), peak

    stages: dict[str, dict[str, Any]] = {}
    read = sum_of("read_decode")
    stages["read_decode"] = _stage(*read)
    validate = sum_of("validate")
    stages["validate"] = _stage(*validate)
    write = sum_of("raw_write")
    stages["raw_write"] = _stage(*write)
    ingest_span = spans.get(INGEST_STEP, (t0, t0))
    ingest_s = ingest_span[1] - ingest_span[0] + sum(e - s for s, e in month_spans)
    stages["ingest_other"] = _stage(
        ingest_s - read[0] - validate[0] - write[0], read[1], read[2], sampler.peak(*ingest_span)
    )
    dbt_span = spans.get(DBT_STEP, (t0, t0))
    stages["dbt_build"] = _stage(
        dbt_span[1] - dbt_span[0], write[1], write[2], sampler.peak(*dbt_span)
    )
    stages["dbt_build"]["cores"] = sampler.cores(*dbt_span)
    pub_span = spans.get(PUBLISH_STEP, (t0, t0))
    pub = [i for i in recorder.intervals if i.stage == "publish_call"]
    stages["publish"] = _stage(
        pub_span[1] - pub_span[0],
        sum(i.rows for i in pub),
        sum(i.bytes for i in pub),
        sampler.peak(*pub_span),
    )
    stages["publish"]["cores"] = sampler.cores(*pub_span)
    in_steps = sum(e - s for s, e in [*spans.values(), *month_spans])
    stages["orchestration"] = _stage(t1 - t0 - in_steps, 0, 0, sampler.peak(t0, t1))
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "run_id": outcome.run_id,
        "seconds": round(t1 - t0, 3),
        "dbt_nodes": dbt_node_seconds(settings),
        # the dbt step's DuckDB memory limit (auto: from the date's deposit balances)
        "build_memory_limit": settings.build_memory().limit,
        "input_rows": read[1],
        "input_mb": round(read[2] / 1e6, 1),
        "peak_rss_mb": round(sampler.peak(t0, t1) / 2**20),
        "cores": sampler.cores(t0, t1),
        "stages": stages,
    }


def measured_ingest(settings: Settings, date: dt.date, sampler: MemorySampler) -> dict[str, Any]:
    """``ingest_date`` called directly (no Dagster, no dbt): the ingest stages alone."""
    from ingest.pipeline import ingest_date

    recorder = Recorder(sampler)
    with instrumented(recorder):
        t0 = time.time()
        result = ingest_date(settings, date)
        t1 = time.time()
    if not result.ok:
        raise SystemExit(f"ingest of {date} not ok: {result}")
    stages = {}
    spent = 0.0
    for stage in ("read_decode", "validate", "raw_write"):
        chosen = [i for i in recorder.intervals if i.stage == stage]
        secs = sum(i.end - i.start for i in chosen)
        spent += secs
        size = sum(i.bytes for i in chosen)
        rows = sum(i.rows for i in chosen)
        peak = max((sampler.peak(i.start, i.end) for i in chosen), default=0)
        stages[stage] = _stage(secs, rows, size, peak)
    read = stages["read_decode"]
    stages["ingest_other"] = _stage(t1 - t0 - spent, read["rows"], 0, sampler.peak(t0, t1))
    return {
        "start": date.isoformat(),
        "end": date.isoformat(),
        "seconds": round(t1 - t0, 3),
        "input_rows": read["rows"],
        "input_mb": read["mb"],
        "peak_rss_mb": round(sampler.peak(t0, t1) / 2**20),
        "stages": stages,
    }


def pipeline_home(root: Path, name: str, landing: Path) -> tuple[Settings, Any, Any]:
    from orchestration.build import build_definitions
    from orchestration.runner import dagster_instance

    settings = isolated_settings(root / name, landing, root / "pseudonym.key")
    return settings, build_definitions(settings), dagster_instance(settings)


def isolated_settings(home: Path, landing: Path, key: Path) -> Settings:
    """Every path under ``home``, set explicitly: loading a pipeline exports CLIENTMART_* for
    dbt (``Settings.dbt_env``), and a later ``Settings()`` would otherwise pick those up and
    share the previous home's raw layer and warehouse."""
    return Settings(
        home=home,
        landing_root=landing,
        raw_root=home / "raw",
        quarantine_root=home / "quarantine",
        warehouse_path=home / "warehouse" / "build.duckdb",
        serving_dir=home / "serving",
        dagster_home=home / "dagster",
        alerts_dir=home / "alerts",
        pseudonym_key_file=key,
        first_business_date=FIRST_BUSINESS_DATE,
    )


def tuned_settings() -> dict[str, Any]:
    """The settings from the environment that change how fast a night runs (the CLIENTMART_*
    variables the benchmark's homes inherit), so a report says what it measured."""
    settings = Settings()
    return {
        name: getattr(settings, name)
        for name in (
            "warehouse_memory_limit",
            "publish_memory_limit",
            "serving_storage_version",
            "ingest_chunk_mb",
        )
    }


# --- floor and plain read ------------------------------------------------------------------


def script_json(script: str, *args: str) -> dict[str, Any]:
    """Run ``bench/<script>`` in a fresh interpreter; the JSON of its last line of output."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def floor_json(landing: Path, date: dt.date, work: Path) -> dict[str, Any]:
    """bench/floor.py for ``date`` in a process of its own: its JSON line."""
    return script_json(
        "floor.py", "--landing", str(landing), "--date", date.isoformat(), "--work", str(work)
    )


def run_floor(landing: Path, date: dt.date, work: Path, sampler: MemorySampler) -> dict[str, Any]:
    t0 = time.time()
    result = floor_json(landing, date, work)
    result["tree_peak_rss_mb"] = round(sampler.peak(t0, time.time()) / 2**20)
    return result


def prime_floor(landing: Path, first: dt.date, last: dt.date, work: Path) -> dict[str, Any]:
    """Run the floor over the prime dates first..last, untimed as a floor, so that the first
    measured date carries the month-to-date state as its night does (a floor without it
    starts the month at that date and does less work)."""
    t0 = time.time()
    for day in dates_between(first, last):
        floor_json(landing, day, work)
    return {"seconds": round(time.time() - t0, 1)}


def process_start(settings: Settings, repeat: int = 3) -> dict[str, Any]:
    """A scheduled night's process start (``process_start.py`` in a fresh interpreter): for
    each of ``repeat`` subprocesses the seconds from starting it to its being ready, their
    median, and the parts of the median one. The nights here run in this one process and do
    not pay it."""
    runs = []
    for _ in range(repeat):
        t0 = time.time()
        child = script_json("process_start.py", settings.model_dump_json())
        runs.append({"seconds": round(child["ready_at"] - t0, 3), "parts": child["parts"]})
    median = sorted(runs, key=operator.itemgetter("seconds"))[len(runs) // 2]
    return {
        "seconds": median["seconds"],
        "runs": [r["seconds"] for r in runs],
        "parts": median["parts"],
    }


def plain_read(landing: Path, date: dt.date) -> dict[str, Any]:
    """``polars.read_csv`` of every delivered file of the date (encoding given, not detected)."""
    sys.path.insert(0, str(BENCH))
    from floor import is_utf8

    files = sorted(
        p
        for p in landing.glob(f"*/{date:%Y%m%d}/*")
        if p.suffix != ".ok" and p.with_name(p.name + ".ok").exists()
    )
    seconds, rows, size = 0.0, 0, 0
    for path in files:
        if path.suffix.lower() == ".xlsx":
            t = time.perf_counter()
            frame = pl.read_excel(path, infer_schema_length=0)
        else:
            with path.open("rb") as fh:
                head = fh.readline()
            sep = "|" if head.count(b"|") > head.count(b",") else ","
            encoding = "utf8" if is_utf8(path) else "gb18030"
            t = time.perf_counter()
            if encoding == "utf8":
                frame = pl.read_csv(path, separator=sep, infer_schema=False)
            else:
                frame = pl.read_csv(path, separator=sep, infer_schema=False, encoding=encoding)
        seconds += time.perf_counter() - t
        rows += frame.height
        size += path.stat().st_size
    return {
        "files": len(files),
        "seconds": round(seconds, 3),
        "rows": rows,
        "mb": round(size / 1e6, 1),
        "mb_per_s": round(size / 1e6 / seconds, 1) if seconds else None,
        "rows_per_s": round(rows / seconds) if seconds else None,
    }


# --- the whole benchmark -------------------------------------------------------------------


def bank_record(wanted: dict[str, Any], seconds: float, summary: Any) -> dict[str, Any]:
    """What the JSON keeps of a generated bank: its parameters, generation time and size."""
    return {
        "bank": wanted,
        "generate_seconds": round(seconds, 1),
        "accounts": summary.accounts,
        "records": summary.records,
        "files": summary.files,
    }


def bank_dates(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    """The dates the generated bank must hold: the measured ones, and before them the
    priming range's (``--prime-from``), which reads the same landing folder."""
    end = args.start + dt.timedelta(days=args.days - 1)
    return (min(args.start, args.prime_from) if args.prime_from else args.start), end


#: the first measured night unless ``--start`` says otherwise
DEFAULT_START = dt.date(2026, 10, 1)

#: the first business date of the benchmark's homes (``isolated_settings``)
FIRST_BUSINESS_DATE = "2020-01-01"


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after (before, when negative) ``month``'s."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def history_calendar(start: dt.date, months: int, day: int) -> tuple[dt.date, dt.date, dt.date]:
    """The history point's first date (the first of ``start``'s month) and its two measured
    nights: day ``day`` of the month after it (after 1 month) and of the month ``months``
    after it (after ``months`` months)."""
    first = start.replace(day=1)
    return first, add_months(first, 1).replace(day=day), add_months(first, months).replace(day=day)


def default_history_start(last: dt.date, months: int, day: int) -> dt.date:
    """The latest history whose last night (day ``day`` of its last month) is not after
    ``last``, the last business date the pipeline runs now."""
    last_month = last.replace(day=1) if last.day >= day else add_months(last.replace(day=1), -1)
    return add_months(last_month, -months)


def check_dates(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse, before anything is generated, nights or a history whose dates are not
    partitions of the job (the runner's rule, ``check_business_dates``): a run stopped on the
    first such date after hours (on 2026-12-06 the default history of ``make bench`` ran to
    2027-04-10)."""
    from orchestration.runner import BusinessDateError, check_business_dates

    if (args.history_only or args.history_months > 0) and args.history_months < 2:
        raise SystemExit(
            "--history-months: at least 2 (one month is the point compared with), or 0 for "
            "no history point. Nothing was generated."
        )
    runs = []
    if not args.history_only:
        runs.append(("--start/--days", *bank_dates(args)))
    if args.history_only or args.history_months > 0:
        first, _, probe_n = history_calendar(
            args.history_start, args.history_months, args.history_day
        )
        runs.append(("--history-start/--history-months/--history-day", first, probe_n))
    for flags, start, end in runs:
        try:
            check_business_dates(settings, start, end)
        except BusinessDateError as exc:
            raise SystemExit(f"{flags}: {exc} Nothing was generated.") from exc


def resolve_history_start(args: argparse.Namespace, start_given: bool, last: dt.date) -> dt.date:
    """``--history-start``; else ``--start`` when only the history runs (the commands of
    docs/benchmark.md); else the latest history that has happened by ``last``."""
    if args.history_start is not None:
        return args.history_start
    if args.history_only and start_given:
        return args.start
    return default_history_start(last, args.history_months, args.history_day)


def ensure_bank(landing: Path, clients: int, start: dt.date, end: dt.date, seed: int) -> dict:
    """Generate the bank unless this exact one is already there (generation is not timed)."""
    from clientmart.generator.bank import generate_bank

    marker = landing / "_generator" / "bench.json"  # written when generation finished
    wanted = {"clients": clients, "start": start.isoformat(), "end": end.isoformat(), "seed": seed}
    if marker.exists():
        done = json.loads(marker.read_text())
        bank = done["bank"]
        same = (bank["clients"], bank["seed"]) == (clients, seed)
        if same and bank["start"] <= wanted["start"] and bank["end"] >= wanted["end"]:
            return done
    t = time.perf_counter()
    summary = generate_bank(
        landing,
        clients=clients,
        start=start,
        end=end,
        seed=seed,
        progress=lambda m: print(f"  generate: {m}", flush=True),
        replace=True,  # another bank of this work folder: its files would mix with this one's
    )
    info = bank_record(wanted, time.perf_counter() - t, summary)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info))
    return info


#: The feeds holding nearly all of a bank's bytes (at 1M clients 7.1 of a month's 7.3 GB).
BULK_FEEDS = ("deposit_balances", "deposit_transactions", "wealth_holdings")


def month_chunks(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """start..end cut at month ends: the ranges a long backfill runs, one month at a time."""
    chunks = []
    while start <= end:
        month_end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last = min(end, month_end - dt.timedelta(days=1))
        chunks.append((start, last))
        start = last + dt.timedelta(days=1)
    return chunks


# Disk a run takes at 1M clients, measured on 2026-12-05 (docs/benchmark.md, "Disk"): a
# month of delivered files; a month of history in a pipeline home (raw layer, build
# warehouse, two serving publications and their Parquet exports), of which the raw layer;
# what a month's range spills. On 2026-12-07 (section "Three million clients"): what a home
# holds after its first dates whatever their number (1M after 15 dates 5.2 GB, 3M after 4
# dates 6.2 GB), and what a night, or a range of a few days, spills under the default
# memory limit (4.5 GB at 3M).
LANDING_GB_PER_MONTH_1M = 7.5
HOME_GB_PER_MONTH_1M = 8.5
HOME_BASE_GB_1M = 1.0
RAW_GB_PER_MONTH_1M = 1.5
SPILL_GB_1M = 10.0
NIGHT_SPILL_GB_1M = 1.5
DAYS_PER_MONTH = 30.4


def disk_needed_gb(args: argparse.Namespace) -> float:
    """What the run will hold on ``--work`` at its fullest, from the figures above scaled by
    clients and months: twice (12-03, 12-05) a 1M history run filled the disk after hours.
    A run of a few dates counts what they hold, not a month's (a 3M run of 4 dates was
    refused for 58 GB and held about 14)."""
    need, spill = 0.0, 0.0
    if not args.history_only:
        scale = args.clients / 1e6
        ranged = 0 if args.skip_backfill else args.days  # the measured dates as one range
        months = args.days / DAYS_PER_MONTH
        if args.prime_from:
            primed = (args.start - args.prime_from).days
            months += primed / DAYS_PER_MONTH
            ranged = max(ranged, primed)
        if not args.landing:
            need += scale * LANDING_GB_PER_MONTH_1M * months
        if args.ingest_only:  # the ingest's raw layer and the floor's
            return round(need + scale * RAW_GB_PER_MONTH_1M * months * 2, 1)
        homes = 1 + (not args.skip_backfill)
        need += scale * (HOME_BASE_GB_1M + HOME_GB_PER_MONTH_1M * months) * homes
        need += scale * RAW_GB_PER_MONTH_1M * months  # the floor's raw layer
        range_spill = SPILL_GB_1M * min(ranged / DAYS_PER_MONTH, 1.0)
        spill = scale * max(NIGHT_SPILL_GB_1M, range_spill)
    if args.history_only or args.history_months > 0:
        scale = args.history_clients / 1e6
        months = args.history_months + args.history_day / DAYS_PER_MONTH
        landing = months if not args.history_prune_landing else 1.0
        need += scale * (HOME_GB_PER_MONTH_1M * months + LANDING_GB_PER_MONTH_1M * landing)
        spill = max(spill, scale * SPILL_GB_1M)  # the history's month ranges
    return round(need + spill, 1)


def check_disk(args: argparse.Namespace) -> None:
    """Refuse a run whose estimate does not fit the free space of ``--work``."""
    args.work.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.work).free / 1e9
    need = disk_needed_gb(args)
    print(f"disk: about {need:.0f} GB needed at {args.work}, {free:.0f} GB free", flush=True)
    if need > free and not args.ignore_disk:
        raise SystemExit(
            f"not enough disk at {args.work}: this run needs about {need:.0f} GB "
            f"({run_parts(args)}) and {free:.0f} GB are free. Point --work at a larger disk, "
            "pass fewer --days, --history-clients or --history-months, or --ignore-disk to "
            "run anyway."
        )


def run_parts(args: argparse.Namespace) -> str:
    """What the run holds on disk, in words: the nights' part and the history's, each only
    when the run has it."""
    parts = []
    if not args.history_only:
        bank = "the delivered bank" if args.landing else f"{args.clients:,} clients"
        only = ", ingest only" if args.ingest_only else ""
        parts.append(f"{bank} for {args.days} days{only}")
    if args.history_only or (args.history_months > 0 and not args.ingest_only):
        history = f"{args.history_clients:,} clients x {args.history_months} months"
        parts.append(f"a history of {history}")
    return "; ".join(parts)


def prune_landing(landing: Path, start: dt.date, end: dt.date) -> int:
    """Remove the bulk feeds' delivery folders of start..end, once ingested; bytes freed.

    The raw layer keeps every record (a bank archives what it has delivered); the small feeds
    stay, since a later date looks up reference deliveries and a month's monthly files."""
    freed, day = 0, start
    while day <= end:
        for feed in BULK_FEEDS:
            folder = landing / feed / f"{day:%Y%m%d}"
            if folder.is_dir():
                freed += sum(f.stat().st_size for f in folder.iterdir())
                shutil.rmtree(folder)
        day += dt.timedelta(days=1)
    return freed


def history_point(
    args: argparse.Namespace,
    sampler: MemorySampler,
    keep: Callable[[dict[str, Any]], None] = lambda partial: None,
) -> dict[str, Any]:
    """Nightly time of day ``--history-day`` after 1 month and after N months of history.

    The bank is ingested while it is generated (``generate_bank(on_day=...)``): when the
    generator has written the last date of a range, that range is backfilled, and with
    ``--history-prune-landing`` its bulk files are removed, so that six months at 1M clients
    (about 45 GB of files) fit the disk. The history is backfilled one month at a time.
    ``keep`` gets what is measured so far after every range and night, so that a run that
    fails late (on 2026-12-05 a July range died after 90 minutes) keeps its nights."""
    from clientmart.generator.bank import generate_bank
    from orchestration.runner import backfill

    if args.history_months < 2:
        raise SystemExit("--history-months: at least 2 (one month is the point compared with)")
    first, probe_1, probe_n = history_calendar(
        args.history_start, args.history_months, args.history_day
    )
    day = dt.timedelta(days=1)
    landing = args.work / f"landing_history_{args.history_clients}"
    if landing.exists():  # a bank ingested while written may be pruned: write it again
        shutil.rmtree(landing)
    home = f"history_{args.history_clients}_{args.history_months}m"
    settings, defs, instance = pipeline_home(args.work, home, landing)
    bulk_seconds: list[list[dict[str, Any]]] = [[], []]
    result: dict[str, Any] = {"pruned_bytes": 0}

    def bulk(start: dt.date, end: dt.date, which: int) -> None:
        for lo, hi in month_chunks(start, end):
            t = time.perf_counter()
            outcomes = backfill(settings, defs, instance, lo, hi)
            if not all(o.success for o in outcomes):
                raise SystemExit(f"history backfill {lo}..{hi} failed: {outcomes[-1].error}")
            seconds = round(time.perf_counter() - t, 1)
            bulk_seconds[which].append(
                {"start": lo.isoformat(), "end": hi.isoformat(), "seconds": seconds}
            )
            print(f"  history backfill {lo}..{hi}: {seconds:.1f}s", flush=True)
            keep({**result, "bulk_backfill_chunks": bulk_seconds})
            if args.history_prune_landing:
                result["pruned_bytes"] += prune_landing(landing, lo, hi)

    def nights(probe: dt.date, label: str) -> None:
        # The first night after a bulk backfill pays one-off after-effects of the bulk (on
        # 2026-12-01, 07-10 straight after a 150-date range took 101 s, and 79 s when run
        # again); a steady history is built night after night, so the night after it counts.
        for key, date in (("warm_up_" + label, probe - day), (label, probe)):
            result[key] = measured_run(settings, defs, instance, date, date, sampler)
            print(f"  history {key} {date}: {result[key]['seconds']:.1f}s", flush=True)
            keep({**result, "bulk_backfill_chunks": bulk_seconds})
        if args.history_prune_landing:
            result["pruned_bytes"] += prune_landing(landing, probe - day, probe)

    last_n = args.history_months
    steps: dict[dt.date, Callable[[], None]] = {
        probe_1: lambda: (bulk(first, probe_1 - 2 * day, 0), nights(probe_1, "after_1_month")),
        probe_n: lambda: nights(probe_n, f"after_{last_n}_months"),
    }
    # the months between, each backfilled as soon as it is written
    for lo, hi in month_chunks(probe_1 + day, probe_n - 2 * day):
        steps[hi] = lambda lo=lo, hi=hi: bulk(lo, hi, 1)
    spent = [0.0]

    def on_day(date: dt.date) -> None:
        if date in steps:
            t = time.perf_counter()
            steps[date]()
            spent[0] += time.perf_counter() - t

    print(
        f"history: {args.history_clients:,} clients, {first}..{probe_n}, measured nights "
        f"{probe_1} and {probe_n} in {landing}",
        flush=True,
    )
    t = time.perf_counter()
    summary = generate_bank(
        landing,
        clients=args.history_clients,
        start=first,
        end=probe_n,
        seed=args.seed,
        progress=lambda m: print(f"  generate: {m}", flush=True),
        on_day=on_day,
    )
    wanted = {
        "clients": args.history_clients,
        "start": first.isoformat(),
        "end": probe_n.isoformat(),
        "seed": args.seed,
    }
    bank = bank_record(wanted, time.perf_counter() - t - spent[0], summary)
    after_1, after_n = result["after_1_month"], result[f"after_{last_n}_months"]
    warm_1, warm_n = result["warm_up_after_1_month"], result[f"warm_up_after_{last_n}_months"]
    return {
        "clients": args.history_clients,
        "bank": bank,
        "bulk_backfill_seconds": [round(sum(c["seconds"] for c in b), 1) for b in bulk_seconds],
        "bulk_backfill_chunks": bulk_seconds,
        "landing_pruned_gb": round(result["pruned_bytes"] / 1e9, 1),
        "warm_up": {"after_1_month": warm_1, f"after_{last_n}_months": warm_n},
        "after_1_month": after_1,
        f"after_{last_n}_months": after_n,
        "ratio": round(after_n["seconds"] / after_1["seconds"], 3),
        "grew_most": grew_most(after_1, after_n),
        "warm_up_ratio": round(warm_n["seconds"] / warm_1["seconds"], 3),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def interpreter() -> str:
    """The Python a run ran on: its version and the installation a virtual environment was
    made from (``sys.base_prefix``). Two builds of one version differ: this machine's pyenv
    3.11.7 (no profile-guided optimisation, libpython shared) ran a 1M night 3-6 s
    slower than Debian's python3.11 (docs/benchmark.md, "The interpreter")."""
    return f"{platform.python_version()} ({sys.base_prefix})"


def default_out(args: argparse.Namespace) -> Path:
    """bench/results/benchmark-<bank>[-ingest|-history].json: a run of another mode or bank
    does not overwrite the generated bank's full run."""
    if args.history_only:
        bank = f"{args.history_clients}"
    else:
        bank = args.landing.resolve().name if args.landing else f"{args.clients}"
    mode = "-history" if args.history_only else "-ingest" if args.ingest_only else ""
    return BENCH / "results" / f"benchmark-{bank}{mode}.json"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=None,
        help="First measured night (default 2026-10-01); with --history-only, the history's "
        "first month unless --history-start is given.",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON result (default bench/results/benchmark-<bank>[-ingest|-history].json: "
        "<bank> is the clients, or the --landing folder's name).",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "clientmart-bench",
        help="Folder for the bank and the pipeline homes.",
    )
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--history-months", type=int, default=6)
    parser.add_argument(
        "--history-clients",
        type=int,
        default=None,
        help="Clients of the history bank (default --clients).",
    )
    parser.add_argument("--history-day", type=int, default=10)
    parser.add_argument(
        "--history-start",
        type=dt.date.fromisoformat,
        default=None,
        help="First month of the history bank (default: the latest whose last night, day "
        "--history-day of its last month, has happened).",
    )
    parser.add_argument(
        "--history-prune-landing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Remove the history bank's bulk files once backfilled (disk: ~7 GB a month at 1M).",
    )
    parser.add_argument(
        "--ignore-disk",
        action="store_true",
        help="Run even when the disk estimate (disk_needed_gb) exceeds the free space.",
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="Ingest stages only (ingest_date called directly, no dbt/publish) against the floor.",
    )
    parser.add_argument(
        "--history-only", action="store_true", help="Only the history point (step 6)."
    )
    parser.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="Run on this delivery folder as it is (a bank the project did not generate, e.g. "
        "`python -m clientmart.realdata.berka`) instead of generating one.",
    )
    parser.add_argument(
        "--prime-from",
        type=dt.date.fromisoformat,
        default=None,
        help="First load the dates from this one to the day before --start as one range in "
        "the nightly home (timed apart), so that the measured nights have that history.",
    )
    args = parser.parse_args()
    args.history_clients = args.history_clients or args.clients
    start_given = args.start is not None
    args.start = args.start or DEFAULT_START
    from orchestration.partitions import business_date_bounds

    homes = Settings(first_business_date=FIRST_BUSINESS_DATE)  # the homes' partitions
    args.history_start = resolve_history_start(args, start_given, business_date_bounds(homes)[1])
    check_dates(args, homes)
    check_disk(args)
    out = args.out or default_out(args)
    end = args.start + dt.timedelta(days=args.days - 1)
    dates = [args.start + dt.timedelta(days=i) for i in range(args.days)]
    landing = args.landing or args.work / f"landing_{args.clients}"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    report: dict[str, Any] = {
        "started_utc": stamp,
        "machine": {
            "cpus": os.cpu_count(),
            "python": interpreter(),
            "load_before": load_average(),
        },
        "clients": None if args.landing else args.clients,
        "dates": [args.start.isoformat(), end.isoformat()],
        "settings": tuned_settings(),
    }
    print("  settings: " + ", ".join(f"{k}={v}" for k, v in report["settings"].items()))
    print(f"  python: {report['machine']['python']}")
    if args.history_only:
        first, _, probe_n = history_calendar(
            args.history_start, args.history_months, args.history_day
        )
        report["clients"] = args.history_clients
        report["dates"] = [first.isoformat(), probe_n.isoformat()]
        with MemorySampler() as sampler:
            report["history"] = history_point(
                args, sampler, keep=lambda part: save(out, {**report, "history": part})
            )
        report["machine"]["load_after"] = load_average()
        history = summarise_history(report["history"])
        report["summary"] = {"history": history, "targets": history_target(report)}
        save(out, report)
        print("\n".join(history_lines(history)))
        print("\n".join(targets_lines(report)))
        print(f"written {out}")
        return
    if args.landing:
        report["bank"] = {"landing": str(args.landing), "generated": False}
    print(f"bank: {bank_name(report)}, {args.start}..{end} in {landing}", flush=True)
    if not args.landing:
        first, last = bank_dates(args)
        report["bank"] = ensure_bank(landing, args.clients, first, last, args.seed)
    if args.ingest_only:
        report["mode"] = "ingest_only"
        report["plain_read"] = plain_read(landing, dates[-1])
        report["ingest"], report["floor"] = [], []
        with MemorySampler() as sampler:
            settings = isolated_settings(
                args.work / f"ingest_{stamp}", landing, args.work / "pseudonym.key"
            )
            if args.prime_from:  # the measured dates' references (clients, products, ...)
                before = args.start - dt.timedelta(days=1)
                primed = [
                    measured_ingest(settings, day, sampler)
                    for day in dates_between(args.prime_from, before)
                ]
                report["prime"] = {"seconds": round(sum(r["seconds"] for r in primed), 1)}
                print(f"  prime {args.prime_from}..{before}: {report['prime']['seconds']:.1f}s")
                report["floor_prime"] = prime_floor(
                    landing, args.prime_from, before, args.work / f"floor_{stamp}"
                )
            for date in dates:
                run = measured_ingest(settings, date, sampler)
                report["ingest"].append(run)
                fl = run_floor(landing, date, args.work / f"floor_{stamp}", sampler)
                report["floor"].append(fl)
                save(out, report)
                print(
                    f"  ingest {date}: {run['seconds']:.1f}s (floor read+write "
                    f"{fl['read_decode_s'] + fl['raw_write_s']:.1f}s, floor total "
                    f"{fl['total_s']:.1f}s), peak {run['peak_rss_mb']:,} MB",
                    flush=True,
                )
        report["machine"]["load_after"] = load_average()
        save(out, report)
        print(json.dumps({k: v["stages"] for k, v in [("last", report["ingest"][-1])]}, indent=1))
        return
    report["plain_read"] = plain_read(landing, dates[-1])
    nightly: list[dict[str, Any]] = []
    floor: list[dict[str, Any]] = []
    report["nightly"], report["floor"] = nightly, floor
    with MemorySampler() as sampler:
        settings, defs, instance = pipeline_home(args.work, f"nightly_{stamp}", landing)
        report["process_start"] = process_start(settings)
        print(
            f"  a scheduled night's process start: {report['process_start']['seconds']:.1f}s "
            f"(runs {report['process_start']['runs']})",
            flush=True,
        )
        # in this process the first night would pay it alone; now every night pays the same
        import great_expectations  # noqa: F401

        if args.prime_from:
            before = args.start - dt.timedelta(days=1)
            report["prime"] = measured_run(
                settings, defs, instance, args.prime_from, before, sampler
            )
            report["floor_prime"] = prime_floor(
                landing, args.prime_from, before, args.work / f"floor_{stamp}"
            )
            save(out, report)
            print(
                f"  prime {args.prime_from}..{before}: {report['prime']['seconds']:.1f}s "
                f"(the floor's: {report['floor_prime']['seconds']:.1f}s)",
                flush=True,
            )
        for date in dates:
            run = measured_run(settings, defs, instance, date, date, sampler)
            nightly.append(run)
            fl = run_floor(landing, date, args.work / f"floor_{stamp}", sampler)
            floor.append(fl)
            save(out, report)
            print(
                f"  nightly {date}: {run['seconds']:.1f}s (floor {fl['total_s']:.1f}s), "
                f"peak {run['peak_rss_mb']:,} MB, load {load_average()}",
                flush=True,
            )
        if not args.skip_backfill:
            b_settings, b_defs, b_instance = pipeline_home(args.work, f"backfill_{stamp}", landing)
            if args.prime_from:  # the range starts from the history the nights had
                before = args.start - dt.timedelta(days=1)
                report["backfill_prime"] = measured_run(
                    b_settings, b_defs, b_instance, args.prime_from, before, sampler
                )
                print(
                    f"  range's prime {args.prime_from}..{before}: "
                    f"{report['backfill_prime']['seconds']:.1f}s",
                    flush=True,
                )
            report["backfill"] = measured_run(
                b_settings, b_defs, b_instance, args.start, end, sampler
            )
            save(out, report)
            print(
                f"  backfill {args.start}..{end}: {report['backfill']['seconds']:.1f}s", flush=True
            )
        if args.history_months > 0:
            report["history"] = history_point(
                args, sampler, keep=lambda part: save(out, {**report, "history": part})
            )
    report["machine"]["load_after"] = load_average()
    save(out, report)
    report["summary"] = summarise(report)
    save(out, report)
    print(table(report))
    print(f"written {out}")


def save(out: Path, report: dict[str, Any]) -> None:
    """Written after every step, so a long run that fails late keeps what it measured."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


def _median(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    return known[len(known) // 2] if known else None


#: how a figure is held against its target's limit
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Target:
    """One target of issue 10: ``key`` in the summary's ``targets``; ``figure op limit`` is
    met; ``not_run`` names what a run leaves out when it skips this target (empty: always
    measured)."""

    key: str
    label: str
    op: str
    limit: float
    unit: str
    not_run: str = ""

    def verdict(self, value: float, measured: str) -> dict[str, Any]:
        met = COMPARE[self.op](value, self.limit)
        result: dict[str, Any] = {"limit": self.limit, "value": value, "met": met}
        if not met:
            result["missed_by"] = round(abs(value - self.limit), 3)
        return {**result, "measured": measured}

    def line(self, verdict: dict[str, Any]) -> str:
        figure = f"{verdict['value']:g}{self.unit}"
        outcome = "met" if verdict["met"] else f"missed by {verdict['missed_by']:g}{self.unit}"
        return (
            f"  {self.label} {self.op} {self.limit:g}{self.unit}: {figure}, {outcome} "
            f"({verdict['measured']})"
        )


#: issue 10's targets, set for 1M clients on this machine (2 cores, 24 GiB)
TARGETS = (
    Target("night_seconds", "one night end to end", "<=", 45.0, " s"),
    Target("night_to_floor", "a night against its floor", "<=", 2.0, "x"),
    Target("peak_rss_mb", "peak memory", "<", 6144, " MB"),
    Target("read_share", "read throughput, share of a plain polars.read_csv", ">=", 0.5, ""),
    Target(
        "backfill_to_nightly_sum",
        "dates as one range against their nights",
        "<=",
        0.5,
        "x",
        not_run="month as one range (--skip-backfill)",
    ),
    Target(
        "history_ratio",
        "a night after N months of history against after 1 (the issue: N = 6)",
        "<=",
        1.2,
        "x",
        not_run="history point (--history-months 0)",
    ),
)


def start_seconds(report: dict[str, Any]) -> float:
    """A scheduled night's process start, 0 for a report from before it was measured."""
    return report.get("process_start", {}).get("seconds", 0.0)


def targets(report: dict[str, Any], summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target the run measured: its figure, whether it is met, and by how much it is
    missed. A night is judged by the worst of the run's nights: end to end as the scheduler
    runs it, with the start of the process it gets (``process_start``); against the floor,
    its run alone (the floor's figure leaves out its interpreter's start too), each against
    its own date's floor. The floor of the run's first date is left out when there are
    others: it starts without the day before's month-to-date state, so it does less than a
    night's work. A target the run did not measure is left out."""
    nights = report["nightly"]
    # the floor of each night's date, run right after it (main)
    paired = list(zip(nights, (f["total_s"] for f in report["floor"]), strict=True))
    floored = paired[1:] or paired
    worst = max(nights, key=lambda r: r["seconds"])
    to_floor, its_floor = max(floored, key=lambda pair: pair[0]["seconds"] / pair[1])

    def which(night: dict[str, Any], among: int, what: str) -> str:
        if among == 1:
            return f"the night of {night['start']}"
        return f"worst of {among} {what}: {night['start']}"

    start = start_seconds(report)
    started = f", in its run {worst['seconds']:g} s + process start {start:g} s" if start else ""
    values: dict[str, tuple[float, str]] = {
        "night_seconds": (
            round(worst["seconds"] + start, 2),
            which(worst, len(nights), "nights") + started,
        ),
        "night_to_floor": (
            round(to_floor["seconds"] / its_floor, 2),
            which(to_floor, len(floored), "nights after the first"),
        ),
        "peak_rss_mb": (
            summary["peak_rss_mb"],
            "peak RSS of the process tree in the nightly runs"
            + (" and the range" if "backfill" in report else ""),
        ),
        "read_share": (
            summary["read_share_of_plain_polars"],
            f"the files of {nights[-1]['start']}",
        ),
    }
    if "backfill_to_nightly_sum" in summary:
        values["backfill_to_nightly_sum"] = (
            summary["backfill_to_nightly_sum"],
            f"{len(nights)} dates as one range",
        )
    if "history" in report:
        values["history_ratio"] = _history_value(report["history"])
    return {t.key: t.verdict(*values[t.key]) for t in TARGETS if t.key in values}


def _history_value(history: dict[str, Any]) -> tuple[float, str]:
    months = max(
        int(key.split("_")[1])
        for key in history
        if key.startswith("after_") and key.endswith("_months")
    )
    return (
        history["ratio"],
        f"a night after {months} months of history against after 1, {history['clients']:,} clients",
    )


def history_target(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The history point's target alone (a ``--history-only`` run)."""
    (target,) = (t for t in TARGETS if t.key == "history_ratio")
    return {target.key: target.verdict(*_history_value(report["history"]))}


def targets_lines(report: dict[str, Any]) -> list[str]:
    summary = report["summary"]
    verdicts = summary.get("targets", {})
    cpus = summary.get("cpus", os.cpu_count())
    lines = [
        f"targets of issue 10 (set for 1M clients on 2 cores; this run: {bank_name(report)}, "
        f"{cpus} cores):"
    ]
    lines += [t.line(verdicts[t.key]) for t in TARGETS if t.key in verdicts]
    missing = [t.not_run for t in TARGETS if t.not_run and t.key not in verdicts]
    if missing and "nightly" in report:  # a --history-only run measures its point alone
        lines.append("  not run: " + ", ".join(missing))
    return lines


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of issue 10's targets, for the last date (the most month-to-date history),
    and each target's verdict (``targets``: the worst night, see ``targets``)."""
    last, fl = report["nightly"][-1], report["floor"][-1]
    stages = last["stages"]
    summary: dict[str, Any] = {
        "date": last["start"],
        "nightly_seconds": last["seconds"],
        "floor_seconds": fl["total_s"],
        "ratio_to_floor": round(last["seconds"] / fl["total_s"], 2),
        "ratio_to_floor_per_stage": {
            "read_decode": round(stages["read_decode"]["seconds"] / fl["read_decode_s"], 2),
            "raw_write": round(stages["raw_write"]["seconds"] / max(fl["raw_write_s"], 1e-3), 2),
            "dbt_build_vs_floor_accumulate_aggregate": round(
                stages["dbt_build"]["seconds"] / (fl["accumulate_s"] + fl["aggregate_s"]), 2
            ),
        },
        "peak_rss_mb": max(r["peak_rss_mb"] for r in report["nightly"]),
        "build_memory_limit": last.get("build_memory_limit"),
        "floor_peak_rss_mb": max(f["peak_rss_mb"] for f in report["floor"]),
        "read_share_of_plain_polars": round(
            stages["read_decode"]["mb_per_s"] / report["plain_read"]["mb_per_s"], 2
        ),
        "nightly_median_seconds": _median([r["seconds"] for r in report["nightly"]]),
        # a night as the scheduler runs it, in a process of its own (process_start)
        "process_start_seconds": start_seconds(report),
        "nightly_as_scheduled_seconds": round(last["seconds"] + start_seconds(report), 3),
        # cores the pipeline kept busy in its dbt step (median over the nights; the machine's
        # count is the most): near it, only less work makes a night shorter, not a schedule
        "dbt_build_cores_median": _median(
            [r["stages"]["dbt_build"].get("cores") for r in report["nightly"]]
        ),
        "cpus": os.cpu_count(),
        # issue 9: publishing must not cost more than building (same date, same run)
        "publish_to_dbt_build": round(
            stages["publish"]["seconds"] / stages["dbt_build"]["seconds"], 3
        ),
    }
    if "backfill" in report:
        total = sum(r["seconds"] for r in report["nightly"])
        summary["nightly_sum_seconds"] = round(total, 1)
        summary["backfill_seconds"] = report["backfill"]["seconds"]
        summary["backfill_to_nightly_sum"] = round(report["backfill"]["seconds"] / total, 3)
        summary["peak_rss_mb"] = max(summary["peak_rss_mb"], report["backfill"]["peak_rss_mb"])
    if "history" in report:
        summary["history"] = summarise_history(report["history"])
    summary["targets"] = targets(report, summary)
    return summary


def summarise_history(history: dict[str, Any]) -> dict[str, Any]:
    runs = [v for k, v in history.items() if k.startswith("after_")]
    return {
        "clients": history["clients"],
        "bulk_backfill_seconds": history["bulk_backfill_seconds"],
        "nightly_seconds": {r["start"]: r["seconds"] for r in runs},
        "dbt_build_seconds": {r["start"]: r["stages"]["dbt_build"]["seconds"] for r in runs},
        "publish_to_dbt_build": {
            r["start"]: round(
                r["stages"]["publish"]["seconds"] / r["stages"]["dbt_build"]["seconds"], 3
            )
            for r in runs
        },
        "dbt_model_seconds": {
            r["start"]: r.get("dbt_nodes", {}).get("seconds_by_type", {}).get("model") for r in runs
        },
        "warm_up_nightly_seconds": {
            r["start"]: r["seconds"] for r in history.get("warm_up", {}).values()
        },
        "ratio": history["ratio"],
        "warm_up_ratio": history.get("warm_up_ratio"),
        "grew_most": history.get("grew_most", {}),
    }


def history_lines(history: dict[str, Any], top: int = 5) -> list[str]:
    """The summarised history (``summarise_history``) as a reader takes it in: one row per
    measured night, the ratio of the last to the first, and the dbt nodes that grew most."""
    backfills = ", ".join(f"{s:.1f}" for s in history["bulk_backfill_seconds"])
    lines = [
        f"history: {history['clients']:,} clients, bulk backfills {backfills} s",
        f"  {'night':<12}{'seconds':>9}{'dbt build':>11}{'models':>8}{'publish/dbt':>13}",
    ]
    for night, seconds in history["nightly_seconds"].items():
        models = history["dbt_model_seconds"].get(night)
        lines.append(
            f"  {night:<12}{seconds:>9.2f}{history['dbt_build_seconds'][night]:>11.2f}"
            f"{models if models is not None else '-':>8}"
            f"{history['publish_to_dbt_build'][night]:>13.3f}"
        )
    warm_up = ", ".join(f"{n} {s:.2f} s" for n, s in history["warm_up_nightly_seconds"].items())
    if warm_up:
        lines.append(f"  warm-up nights (the first after each bulk): {warm_up}")
    ratio = f"  last night / first: {history['ratio']}"
    if history.get("warm_up_ratio") is not None:
        ratio += f" (warm-up nights: {history['warm_up_ratio']})"
    lines.append(ratio)
    grew = list(history.get("grew_most", {}).items())[:top]
    if grew:
        lines.append(
            "  dbt nodes that grew most, seconds first -> last: "
            + ", ".join(f"{name} {a:.2f} -> {b:.2f}" for name, (a, b) in grew)
        )
    return lines


def bank_name(report: dict[str, Any]) -> str:
    if report["clients"] is None:
        return f"the bank delivered in {report['bank']['landing']}"
    return f"{report['clients']:,} clients"


def table(report: dict[str, Any]) -> str:
    last = report["nightly"][-1]
    lines = [
        f"clientmart benchmark: {bank_name(report)}, nightly {last['start']} "
        f"({last['input_rows']:,} rows, {last['input_mb']} MB delivered)",
        f"{'stage':<14}{'seconds':>9}{'rows/s':>12}{'MB/s':>8}{'peak MB':>9}{'cores':>7}",
    ]

    def cores(value: float | None) -> str:
        return f"{value:>7.2f}" if value is not None else ""

    for name in STAGES:
        s = last["stages"][name]
        rate = (
            f"{s['rows_per_s']:>12,}{s['mb_per_s']:>8.1f}"
            if s["rows_per_s"] or s["mb_per_s"]
            else f"{'-':>12}{'-':>8}"  # orchestration: no rows of its own
        )
        lines.append(
            f"{name:<14}{s['seconds']:>9.2f}{rate}{s['peak_rss_mb']:>9,}{cores(s.get('cores'))}"
        )
    lines.append(
        f"{'total':<14}{last['seconds']:>9.2f}{'':>20}{last['peak_rss_mb']:>9,}"
        f"{cores(last.get('cores'))}"
    )
    lines.append("")
    for key, value in report["summary"].items():
        if key == "history":
            lines += history_lines(value)
        elif key != "targets":
            lines.append(f"{key}: {value}")
    lines += ["", *targets_lines(report)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
