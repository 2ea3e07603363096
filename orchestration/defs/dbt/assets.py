"""dbt models, seeds and snapshots as daily-partitioned assets, built by one ``dbt build``.

The business dates of the run become the run window (environment variables read by the dbt
macros ``run_start_date``/``run_end_date``), so incremental models process exactly those
dates; a backfill range is one invocation (single-run policy). dbt sources named after a
landing feed map onto the ingest asset ``raw/<feed>``.
"""

import datetime as dt
import json
import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ingest.spec import load_feeds
from orchestration.check_results import CheckReporter, partitioned_spec
from orchestration.defs.dbt.project import nightly_target_refusal
from orchestration.defs.dbt.seed_state import (
    forget_seeds,
    loaded_by,
    record_seeds,
    seed_nodes,
    seeds_in_place,
)
from orchestration.defs.ingest.assets import raw_key
from orchestration.partitions import BACKFILL_POLICY, partition_dates
from orchestration.resources import ClientmartResource

DBT_ASSETS_NAME = "clientmart_dbt"
# Unit tests check model logic on fixed inputs: they run in CI (`dbt test`), not every night.
NIGHTLY_BUILD = ["build", "--exclude-resource-type", "unit_test"]
# the run window's first and last business date, read by the dbt macros at run time
RUN_WINDOW_ENV = ("CLIENTMART_RUN_START_DATE", "CLIENTMART_RUN_END_DATE")
# Retries of the dbt step, after 5 s and 10 s. A failed build is retried only when
# is_lock_conflict allows it; any other exception of the step (a bug, an OS error) is too.
DBT_LOCK_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def failed_nodes(run_results: Mapping[str, Any]) -> list[str]:
    """'<node>: <status> <message>' for every model, seed, snapshot or test that did not pass."""
    return [
        f"{r['unique_id']}: {r['status']} {(r.get('message') or '').strip()}".strip()
        for r in run_results.get("results", [])
        if r.get("status") in ("error", "fail", "runtime error")
    ]


def results_of_run(run_results: Mapping[str, Any], started: dt.datetime) -> Mapping[str, Any]:
    """``run_results`` if written by the dbt run started at ``started``, else empty: a dbt
    process that dies (killed) leaves the previous run's file in place, whose failures, or
    passes, are not this run's."""
    written = run_results.get("metadata", {}).get("generated_at")
    if written and dt.datetime.fromisoformat(written).astimezone(dt.UTC) >= started:
        return run_results
    return {}


DUCKDB_LOCK_ERROR = "could not set lock on file"


def is_lock_conflict(failed: list[str]) -> bool:
    """Whether a failed build is worth a retry: a node met the warehouse file held by another
    process (DuckDB's 'Could not set lock on file'), which passes once that process ends. A
    failed test, a model error or a killed dbt (no failed node) is not. Only the nodes' errors
    are read, not the step's message, whose log path may itself say "lock" (a home 'blocks'),
    and only DuckDB's phrase counts: a node or an error that merely says "block" does not."""
    return DUCKDB_LOCK_ERROR in "; ".join(failed).lower()


def failure_message(
    start: dt.date, end: dt.date, failed: list[str], returncode: int | None, log: Path
) -> str:
    """Why a dbt build failed: its failed nodes, else how the dbt process ended (a process
    killed by a signal reports no node: on 2026-12-05 a range at 1M clients died so and the
    message said only 'see log')."""
    if failed:
        return f"dbt build for {start}..{end} failed: " + "; ".join(failed)
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        ended = (
            f"the dbt process was killed by {name} before it reported a failed node (SIGKILL "
            "comes from the kernel's out-of-memory killer or an operator; a full disk is an "
            "error in the log instead)"
        )
    else:
        ended = f"dbt exited with code {returncode} without reporting a failed node"
    return f"dbt build for {start}..{end} failed: {ended}; see {log}"


class ClientmartTranslator(DagsterDbtTranslator):
    """Keys: sources of a feed → ``raw/<feed>``; models → their name. Groups: the dbt layer.
    Data tests: checks partitioned as the models they test (orchestration/check_results.py)."""

    def __init__(self, partitions_def: dg.PartitionsDefinition | None = None) -> None:
        super().__init__()
        self._partitions_def = partitions_def

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return partitioned_spec(spec, self._partitions_def) if spec else None

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            name = dbt_resource_props["name"]
            if name in load_feeds():
                return raw_key(name)
            return dg.AssetKey(["raw", name])
        return dg.AssetKey([dbt_resource_props["alias"] or dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        kind = dbt_resource_props["resource_type"]
        if kind == "seed":
            return "rules"
        if kind == "snapshot":
            return "snapshots"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "models"


@contextmanager
def run_window_env(start: dt.date, end: dt.date) -> Iterator[None]:
    """The run window for dbt as environment variables (macros/business_dates.sql), set for
    the dbt invocations made inside and removed after. Not ``--vars``: a var that changes
    every night makes dbt re-parse the whole project every night."""
    names = {RUN_WINDOW_ENV[0]: start.isoformat(), RUN_WINDOW_ENV[1]: end.isoformat()}
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def is_mart(node: Mapping[str, Any]) -> bool:
    """A model under a ``marts/`` folder: what the serving publication copies."""
    return node.get("resource_type") == "model" and "marts" in node.get("fqn", [])[1:-1]


def mart_keys(manifest: Mapping[str, Any]) -> list[dg.AssetKey]:
    translator = ClientmartTranslator()
    return sorted(
        (translator.get_asset_key(n) for n in manifest["nodes"].values() if is_mart(n)),
        key=lambda k: k.to_user_string(),
    )


def build_dbt_assets(
    project: DbtProject, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=DBT_ASSETS_NAME,
        dagster_dbt_translator=ClientmartTranslator(partitions_def),
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        retry_policy=DBT_LOCK_RETRY,
    )
    def clientmart_dbt(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, clientmart: ClientmartResource
    ) -> Iterator[Any]:
        start, end = partition_dates(context)
        settings = clientmart.settings()
        refusal = nightly_target_refusal(settings)  # the daemon's runs; the CLI refuses earlier
        if refusal:
            raise dg.Failure(refusal, allow_retries=False)
        settings.warehouse.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file
        memory = settings.build_memory()  # auto: from the raw layer this run has ingested
        os.environ.update(settings.dbt_env(memory))
        context.log.info(
            f"dbt build for business dates {start} .. {end}, DuckDB memory limit "
            f"{memory.limit} ({memory.reason})"
        )
        seeds = seed_nodes(load_manifest(project))
        # a run of a subset of the assets (the UI) builds what it selected, seeds included
        in_place = None if context.is_subset else seeds_in_place(settings.warehouse, seeds)
        if in_place is None:
            forget_seeds(settings.warehouse)
            leave_out = []
        else:
            context.log.info(
                f"{len(seeds.seeds)} seeds and {len(seeds.tests)} tests on them not re-run: "
                f"unchanged since they were loaded at {in_place.loaded_at:%Y-%m-%d %H:%M:%S}"
            )
            # 'empty': excluding a seed must not exclude the tests that read it and a model
            # (dbt's default 'eager' would); every other node is selected directly
            leave_out = ["--exclude", " ".join(seeds.names), "--indirect-selection", "empty"]
        started = dt.datetime.now(dt.UTC)
        with run_window_env(start, end):
            invocation = dbt.cli(
                [*NIGHTLY_BUILD, *leave_out],
                context=context,
                raise_on_error=False,
                # the manifest's own target folder: dbt re-parses only what changed (partial
                # parse) and the run can never see a project different from the loaded graph
                target_path=Path(project.target_path),
            )
            checks = CheckReporter(context)
            for event in invocation.stream():
                if isinstance(event, dg.AssetCheckResult):
                    yield from checks.per_partition(event)  # a data test of the window
                else:
                    yield event
        if not invocation.is_successful():
            try:
                results = results_of_run(invocation.get_artifact("run_results.json"), started)
            except FileNotFoundError:
                results = {}
            failed = failed_nodes(results)
            message = failure_message(
                start,
                end,
                failed,
                invocation.process.returncode,
                Path(project.target_path) / "dbt.log",
            )
            raise dg.Failure(message, allow_retries=is_lock_conflict(failed))
        if in_place is None and loaded_by(invocation.get_artifact("run_results.json"), seeds):
            record_seeds(settings.warehouse, seeds)

    return clientmart_dbt


def load_manifest(project: DbtProject) -> dict[str, Any]:
    return json.loads(project.manifest_path.read_text(encoding="utf-8"))
