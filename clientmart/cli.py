"""The ``clientmart`` console script.

Each command is a thin shell over a library function so that the same work runs from the
CLI, from Dagster and from tests. Heavy imports (Dagster, dbt) happen inside the commands to
keep ``clientmart --help`` fast.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from pydantic import ValidationError

from clientmart.settings import Settings

T = TypeVar("T")


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or YYYYMMDD")


def _settings(landing: Path | None, home: Path | None, warehouse: Path | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if home is not None:
        overrides["home"] = home
    if landing is not None:
        overrides["landing_root"] = landing
    if warehouse is not None:
        overrides["warehouse_path"] = warehouse
    try:
        return Settings(**overrides)  # validated, so relative folders become absolute
    except ValidationError as exc:
        raise click.ClickException(
            "invalid settings: "
            + "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        ) from None


landing_option = click.option(
    "--landing",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing root (default: $CLIENTMART_LANDING_ROOT or <home>/landing).",
)
home_option = click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Base folder for everything the pipeline writes (default: $CLIENTMART_HOME or the "
    "repository's data/).",
)


@click.group()
@click.version_option(package_name="clientmart")
def main() -> None:
    """clientmart: nightly client data warehouse for a bank."""


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing root to write (default: the configured landing root).",
)
@click.option("--clients", type=int, default=2000, show_default=True, help="Number of clients.")
@click.option(
    "--start", callback=_date, default="2026-10-01", show_default=True, help="First business date."
)
@click.option(
    "--end",
    callback=_date,
    default="2026-10-31",
    show_default=True,
    help="Last business date (inclusive).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option(
    "--dirty-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of extra bad records (kinds: docs/generator.md).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Remove another bank the generator wrote in the landing root first (a folder holds "
    "one bank; deliveries it did not write are never touched).",
)
@home_option
def generate(
    out: Path | None,
    clients: int,
    start: dt.date,
    end: dt.date,
    seed: int,
    dirty_rate: float,
    replace: bool,
    home: Path | None,
) -> None:
    """Generate a deterministic sample bank as landing files with control files."""
    from clientmart.generator.bank import BankMixError, generate_bank

    target = out or _settings(None, home).landing
    try:
        summary = generate_bank(
            target,
            clients=clients,
            start=start,
            end=end,
            seed=seed,
            dirty_rate=dirty_rate,
            progress=click.echo,
            replace=replace,
        )
    except BankMixError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary.describe())


# --- orchestration: run / backfill / publish / ui (owner: orchestration) -------------------

warehouse_option = click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    default=None,
    help="Build warehouse DuckDB file (default: $CLIENTMART_WAREHOUSE_PATH or "
    "<home>/warehouse/build.duckdb).",
)
allow_past_option = click.option(
    "--allow-past",
    "allow_past",
    multiple=True,
    callback=lambda ctx, param, values: [_date(ctx, param, v) for v in values],
    help="Run even though this earlier date failed (repeatable). Normally later dates wait.",
)


def _date_range(
    date: dt.date | None, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    if date is not None and (start or end):
        raise click.UsageError("give either --date or --from/--to, not both")
    if date is not None:
        return date, date
    if start is None or end is None:
        raise click.UsageError("give --date D, or --from D1 --to D2")
    if end < start:
        raise click.UsageError(f"--to {end} is before --from {start}")
    return start, end


def _load_pipeline(settings: Settings):  # noqa: ANN202 (Dagster types imported lazily)
    from orchestration.build import build_definitions
    from orchestration.defs.dbt.project import nightly_target_refusal
    from orchestration.runner import dagster_instance

    refusal = nightly_target_refusal(settings)
    if refusal:
        raise click.ClickException(refusal)

    click.echo(f"loading pipeline (landing {settings.landing}, warehouse {settings.warehouse})")
    return build_definitions(settings), dagster_instance(settings)


def _unless_refused(call: Callable[[], T]) -> T:
    """Run ``call``; a run refused before it ran (a warehouse kept busy by a daemon run, a date
    outside the job's partitions) becomes a clean CLI error."""
    from orchestration.runner import RunRefusedError

    try:
        return call()
    except RunRefusedError as exc:
        raise click.ClickException(str(exc)) from exc


def _finish(outcomes: list, settings: Settings) -> None:
    failed = next((o for o in outcomes if not o.success), None)
    if failed is not None:
        what = (
            f"{failed.start} failed"
            if failed.start == failed.end
            else f"the range {failed.start}..{failed.end} failed as one run: none of its dates "
            "was built"
        )
        raise click.ClickException(
            f"{what}; later dates were not run. Alerts: {settings.alerts}. See "
            "docs/runbook.md (re-run a date, a refused file, repair a quarantined record)."
        )
    unloaded = [o for o in outcomes if o.postgres_error]
    if unloaded:  # the dates are built and published; only PostgreSQL lags
        raise click.ClickException(
            f"the PostgreSQL load failed after {len(unloaded)} run(s), last: "
            f"{unloaded[-1].postgres_error}. The dates are built and BI's DuckDB copy is "
            f"published; PostgreSQL keeps an older publication. Alerts: {settings.alerts}. "
            "Once the server answers: clientmart load-postgres (docs/runbook.md)."
        )
    click.echo(f"done: {len(outcomes)} run(s); serving copy in {settings.serving}")


@main.command()
@click.option("--date", "date", callback=_date, default=None, help="One business date.")
@click.option("--from", "start", callback=_date, default=None, help="First business date.")
@click.option("--to", "end", callback=_date, default=None, help="Last business date (inclusive).")
@allow_past_option
@landing_option
@home_option
@warehouse_option
def run(
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    allow_past: list[dt.date],
    landing: Path | None,
    home: Path | None,
    warehouse: Path | None,
) -> None:
    """Run the Dagster job for a date (or each date of a range, one run per date, in order).

    Ingests the landing files, builds and tests the dbt models, and publishes the serving
    copy. Runs appear in `clientmart ui` (same Dagster instance).
    """
    from orchestration.runner import run_dates

    first, last = _date_range(date, start, end)
    settings = _settings(landing, home, warehouse)
    defs, instance = _load_pipeline(settings)
    _finish(
        _unless_refused(
            lambda: run_dates(settings, defs, instance, first, last, allow_past, click.echo)
        ),
        settings,
    )


@main.command()
@click.option("--from", "start", callback=_date, required=True, help="First business date.")
@click.option("--to", "end", callback=_date, required=True, help="Last business date.")
@click.option(
    "--chunk-days",
    type=int,
    default=None,
    help="Split the range into runs of this many days (default: one run).",
)
@allow_past_option
@landing_option
@home_option
@warehouse_option
def backfill(
    start: dt.date,
    end: dt.date,
    chunk_days: int | None,
    allow_past: list[dt.date],
    landing: Path | None,
    home: Path | None,
    warehouse: Path | None,
) -> None:
    """Backfill a range of business dates as one run (ingest in date order, one dbt build).

    Idempotent: re-running a range gives the same marts; month figures equal a day-by-day
    history. The UI's "Materialize" on a partition range does the same.
    """
    from orchestration.runner import backfill as run_backfill

    first, last = _date_range(None, start, end)
    settings = _settings(landing, home, warehouse)
    defs, instance = _load_pipeline(settings)
    outcomes = _unless_refused(
        lambda: run_backfill(
            settings, defs, instance, first, last, allow_past, chunk_days, click.echo
        )
    )
    _finish(outcomes, settings)


@main.command()
@click.option(
    "--date",
    "date",
    callback=_date,
    default=None,
    help="Business date the build warehouse was last built for, when it holds a date no "
    "publication did (publication log, what BI shows as 'data as of'). Default: the business "
    "dates of the previous publication.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Write every mart whole instead of the changes since the last publication "
    "(after repairing the build warehouse by hand).",
)
@home_option
@warehouse_option
def publish(date: dt.date | None, full: bool, home: Path | None, warehouse: Path | None) -> None:
    """Publish the marts of the build warehouse to the serving copy (normally the job does it)."""
    from clientmart.serving.publish import PublishError, mart_relations_from_manifest
    from clientmart.serving.publish import publish as do_publish
    from orchestration.defs.dbt.project import dbt_project, prepare_manifest

    settings = _settings(None, home, warehouse)
    manifest = prepare_manifest(dbt_project(settings), settings)
    try:
        result = do_publish(
            settings.warehouse,
            settings.serving,
            mart_relations_from_manifest(manifest),
            (date, date) if date else None,
            incremental=not full,
            memory_limit=settings.publish_memory_limit,
            storage_version=settings.serving_storage_version,
        )
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"published {result.publication_id} ({result.mode}, from {result.base or 'an empty file'}) "
        f"to {result.path}, business dates {result.business_date_min}.."
        f"{result.business_date_max}: "
        + ", ".join(f"{k}={v}" for k, v in result.row_counts.items())
    )
    if settings.postgres_dsn:  # as the job does after its publication
        _load_postgres(settings)


def _load_postgres(settings: Settings) -> None:
    """The PostgreSQL load job for the publication the serving copy holds."""
    from clientmart.serving.publish import latest_publication
    from orchestration.runner import load_postgres

    latest = latest_publication(settings.serving)
    if latest is None:
        raise click.ClickException(f"no publication in {settings.serving} to load: publish first")
    defs, instance = _load_pipeline(settings)
    outcome = load_postgres(settings, defs, instance, latest["business_date_max"])  # type: ignore[arg-type]
    if not outcome.success:
        raise click.ClickException(
            f"PostgreSQL load run {outcome.run_id[:8]} failed: {outcome.error}. Alerts: "
            f"{settings.alerts}. BI's DuckDB copy is published; PostgreSQL keeps its previous "
            "publication (docs/runbook.md)."
        )
    click.echo(f"loaded {latest['publication_id']} into PostgreSQL (run {outcome.run_id[:8]})")


@main.command("load-postgres")
@home_option
def load_postgres(home: Path | None) -> None:
    """Load the serving copy's publication into PostgreSQL (CLIENTMART_POSTGRES_DSN), as the
    job does after each publication: after a failed load, once the server is fixed."""
    settings = _settings(None, home)
    if not settings.postgres_dsn:
        raise click.ClickException(
            "the PostgreSQL serving target is off: set CLIENTMART_POSTGRES_DSN to the loader's "
            "connection string (docs/serving.md)"
        )
    _load_postgres(settings)


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@home_option
@warehouse_option
@click.argument("dbt_args", nargs=-1, required=True, type=click.UNPROCESSED)
def dbt(home: Path | None, warehouse: Path | None, dbt_args: tuple[str, ...]) -> None:
    """Run dbt by hand on the pipeline's warehouse: clientmart dbt build --full-refresh
    --select int_client_history+ (the runbook's repairs after a deploy).

    dbt gets the project and profiles folders, the target (CLIENTMART_DBT_TARGET) and the
    environment the pipeline gives it (raw layer, warehouse, the pseudonymous key, memory
    limit); its own options (--select, --vars, ...) pass through. It first waits for runs
    writing the warehouse, as `clientmart run` does, and holds it while dbt runs (not for
    parse, deps, clean and docs serve, which do not open it); the exit code is dbt's. Then
    `clientmart publish` serves what it rebuilt.
    """
    import os
    import subprocess

    from orchestration.defs.dbt.project import DBT_PROJECT_DIR, dbt_executable
    from orchestration.runner import dagster_instance, wait_for_other_writers, warehouse_lock

    settings = _settings(None, home, warehouse)
    args = list(dbt_args)
    for flags, value in (
        (("--project-dir",), DBT_PROJECT_DIR),
        (("--profiles-dir",), DBT_PROJECT_DIR),
        (("--target", "-t"), settings.dbt_target),
    ):
        if not any(a in flags or a.startswith(f"{flags[0]}=") for a in args):
            args += [flags[0], str(value)]
    command = [dbt_executable(), *args]
    env = {**os.environ, **settings.dbt_env()}
    words = [a for a in dbt_args if not a.startswith("-")][:2]
    if words[:1] in (["parse"], ["deps"], ["clean"]) or words == ["docs", "serve"]:
        sys.exit(subprocess.run(command, env=env, check=False).returncode)  # no warehouse
    if not settings.warehouse.exists():
        click.echo(
            f"warning: no build warehouse at {settings.warehouse}: dbt starts an empty one "
            "(`docs generate` then writes an empty catalog); for a built bank give its home "
            "(--home data/demo after `make demo`)",
            err=True,
        )
    with warehouse_lock(settings):
        instance = dagster_instance(settings)
        _unless_refused(lambda: wait_for_other_writers(settings, instance, click.echo))
        done = subprocess.run(command, env=env, check=False)
    sys.exit(done.returncode)


@main.command()
@click.option("--port", type=int, default=3000, show_default=True, help="Webserver port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Webserver host.")
@landing_option
@home_option
def ui(port: int, host: str, landing: Path | None, home: Path | None) -> None:
    """Open the Dagster UI (and daemon: sensor, schedule) on the same instance and data.

    Ctrl-C, SIGTERM or SIGHUP stop the webserver, the daemon and the code server with it.
    """
    import os
    import sys

    from clientmart.supervise import run_until_stopped
    from orchestration.runner import prepare_instance_home

    settings = _settings(landing, home)
    dagster_home = prepare_instance_home(settings)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "CLIENTMART_HOME": str(settings.home),
        "CLIENTMART_LANDING_ROOT": str(settings.landing),
    }
    click.echo(f"Dagster UI on http://{host}:{port} (instance {dagster_home}); Ctrl-C to stop")
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]
    raise SystemExit(run_until_stopped(command, env))


@main.command()
@home_option
def conform(home: Path | None) -> None:
    """Give every raw, quarantine and audit file the columns of this release's contract.

    dbt reads each table as one glob that takes its columns from the table's schema file, so
    a column a release adds must be in every older file (as nulls). The first ingest after
    the deploy does this too; run it beforehand so that night is not the one that pays.
    """
    from ingest.pipeline import ensure_schemas

    conformed = ensure_schemas(_settings(None, home))
    rewritten = {folder: n for folder, n in conformed.items() if n}
    for folder, n in rewritten.items():
        click.echo(f"{folder}: {n} file(s) given the new columns")
    click.echo(
        f"conformed: {len(conformed)} table(s) opened file by file, "
        f"{sum(rewritten.values())} file(s) rewritten; any other table was conformed already"
    )


@main.command()
@home_option
def summary(home: Path | None) -> None:
    """Print clients and assets per branch and tier counts from the published marts."""
    from clientmart.summary import summarise

    try:
        click.echo(summarise(_settings(None, home).serving))
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
