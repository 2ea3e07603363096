"""The dbt project as Dagster sees it, with its manifest prepared on load.

Why prepare here: ``@dbt_assets`` needs ``manifest.json`` when the definitions load, and a
fresh clone has none. We parse into a target folder under the data home (not the project's
own ``target/``, which engineers' ad-hoc dbt runs share) whenever the manifest is missing or
older than any file of the project.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import dbt.version
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from clientmart.settings import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
NIGHTLY_TARGET = "duckdb"  # the job builds, checks and publishes the DuckDB build warehouse
_WATCHED = ("models", "seeds", "macros", "snapshots", "tests", "analyses")
_WATCHED_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "profiles.yml")


def dbt_project(settings: Settings, project_dir: Path | None = None) -> DbtProject:
    project_dir = Path(project_dir or DBT_PROJECT_DIR)
    return DbtProject(
        project_dir=project_dir,
        profiles_dir=project_dir,
        target=settings.dbt_target,
        target_path=settings.home / "dbt" / project_dir.name / "target",
    )


def nightly_target_refusal(settings: Settings) -> str | None:
    """Why the nightly job cannot run on the configured dbt target, or None when it can.

    The job's seed state, publication and PostgreSQL load read the DuckDB build warehouse;
    on another target they would fail late (publish: "build warehouse lacks mart tables")
    after Spark built everything. The Spark target is for dbt by hand and the parity test."""
    if settings.dbt_target == NIGHTLY_TARGET:
        return None
    return (
        f"the nightly job builds and publishes the DuckDB warehouse, and CLIENTMART_DBT_TARGET "
        f"is '{settings.dbt_target}': the Spark target is for dbt by hand (clientmart dbt "
        "build ...) and the parity test; unset CLIENTMART_DBT_TARGET to run the job "
        "(docs/scale-out.md)"
    )


def dbt_executable() -> str:
    """The dbt next to this Python (the project's virtualenv), else whatever is on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


class ClientmartDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, told its dbt's version and spared a dbt adapter of its own.

    dagster-dbt runs ``dbt --version`` once per resource to learn which engine it drives, and
    the resource is made for every run: 2.9 s of each night on the benchmark machine, most of
    it dbt asking PyPI for its latest release, so a night also waited on the package index.
    The dbt beside this Python is the dbt-core installed here, whose version is known
    in-process; any other executable is still asked. (It overrides dagster-dbt's private
    cached property ``_cli_version``; tests/orchestration/test_dbt_resource.py fails when a
    dagster-dbt release renames it.)
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).with_name("dbt"):
            return version.parse(dbt.version.__version__)
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No dbt adapter in Dagster's process: dbt's own process has the one that builds.

        dagster-dbt builds one before it starts each dbt command (the profile read, dbt's and
        dbt-duckdb's macros parsed) for ``fetch_row_counts`` and ``fetch_column_metadata``,
        which clientmart does not call: 0.6 s of each night before dbt starts (more among a
        busy machine's processes). Without it those two return no metadata, without a word, so
        a test fails when the project's code calls them; another fails when a dagster-dbt
        release renames this method (both in tests/orchestration/test_dbt_resource.py).
        """
        return None


def dbt_cli(project: DbtProject, settings: Settings) -> DbtCliResource:
    return ClientmartDbtCliResource(
        project_dir=project, target=settings.dbt_target, dbt_executable=dbt_executable()
    )


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _WATCHED_FILES:
        path = project_dir / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    for folder in _WATCHED:
        for path in (project_dir / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    return manifest.stat().st_mtime < _newest_source_mtime(Path(project.project_dir))


def prepare_manifest(project: DbtProject, settings: Settings) -> Path:
    """Run ``dbt deps``/``dbt parse`` when the manifest is missing or stale; return its path."""
    os.environ.update(settings.dbt_env())  # profiles.yml and sources read these
    if manifest_is_stale(project):
        cli = dbt_cli(project, settings)
        project_dir = Path(project.project_dir)
        if any((project_dir / name).exists() for name in ("packages.yml", "dependencies.yml")):
            cli.cli(["deps", "--quiet"], target_path=project.target_path).wait()
        cli.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return Path(project.manifest_path)
