"""What dagster-dbt's resource no longer does before each dbt command.

- It knows its dbt's version without running ``dbt --version``. dagster-dbt runs it once per
  resource, and the resource is made per run: about 2.9 s of a night on this machine, most of
  it dbt asking PyPI for its latest release (a night that needs the package index to answer).
  The dbt beside this Python is this environment's dbt-core, whose version is known
  in-process.
- It builds no dbt adapter in Dagster's process. dagster-dbt builds one before it starts dbt
  (the project's profile, dbt's and dbt-duckdb's macros parsed), for ``fetch_row_counts`` and
  ``fetch_column_metadata``, which clientmart does not call: 0.6 s on an idle machine, before
  the dbt process starts, on every dbt command.
"""

from __future__ import annotations

import functools
import inspect
import subprocess
from pathlib import Path

import dagster_dbt.core.resource as dbt_resource
import dbt.adapters.factory
import dbt.version
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from packaging import version

from clientmart.settings import PROJECT_ROOT, Settings
from orchestration.defs.dbt.project import dbt_cli, dbt_executable, dbt_project


def _no_subprocess(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - as check_output
    raise AssertionError(f"ran {args[0]!r}")


def test_the_environments_own_dbt_is_not_asked_for_its_version(tmp_path: Path, monkeypatch):
    cli = dbt_cli(dbt_project(Settings(home=tmp_path)), Settings(home=tmp_path))
    assert cli.dbt_executable == dbt_executable()
    monkeypatch.setattr(dbt_resource, "check_output", _no_subprocess)
    assert cli._cli_version == version.parse(dbt.version.__version__)
    assert isinstance(cli, DbtCliResource)


def test_another_dbt_is_still_asked(tmp_path: Path, monkeypatch):
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\necho 'Core:\n  - installed: 9.8.7'\n")
    other.chmod(0o755)
    cli = dbt_cli(dbt_project(Settings(home=tmp_path)), Settings(home=tmp_path))
    cli = cli.model_copy(update={"dbt_executable": str(other)})
    asked: list[str] = []

    def check_output(args, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        asked.append(args[0])
        return subprocess.check_output(args, *a, **k)

    monkeypatch.setattr(dbt_resource, "check_output", check_output)
    assert cli._cli_version == version.parse("9.8.7")
    assert asked == [str(other)]


def test_dagster_dbt_still_caches_the_version_under_that_name():
    # the override replaces dagster-dbt's private cached property: when a dagster-dbt release
    # renames it, this fails instead of the saving silently disappearing
    assert isinstance(DbtCliResource.__dict__.get("_cli_version"), functools.cached_property)


def test_no_dbt_adapter_is_built_in_dagsters_process(tmp_path: Path, monkeypatch):
    settings = Settings(home=tmp_path)
    cli = dbt_cli(dbt_project(settings), settings)
    # dagster-dbt catches any error of the adapter's set-up and logs it, so a failing
    # register_adapter would pass unnoticed: record the calls instead
    registered: list[object] = []
    monkeypatch.setattr(
        dbt.adapters.factory, "register_adapter", lambda *a, **k: registered.append(a)
    )
    launched: dict[str, object] = {}

    def run(cls, **kwargs):  # noqa: ANN001, ANN003, ANN202 - as DbtCliInvocation.run
        launched.update(kwargs)
        return "launched"

    monkeypatch.setattr(DbtCliInvocation, "run", classmethod(run))
    assert cli.cli(["build"], target_path=tmp_path / "target") == "launched"
    assert launched["adapter"] is None
    assert registered == []


def test_dagster_dbt_still_builds_its_adapter_under_that_name():
    # the override replaces a private method of dagster-dbt: when a release renames it, this
    # fails instead of the saving silently disappearing
    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)


def test_no_code_of_the_project_asks_for_what_the_adapter_would_fetch():
    # without the adapter, dagster-dbt's fetch_row_counts and fetch_column_metadata return no
    # metadata and say nothing: whoever needs them must give the resource its adapter back
    callers = [
        f"{path.relative_to(PROJECT_ROOT)}: {name}"
        for folder in ("orchestration", "clientmart", "ingest", "bench")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        for name in ("fetch_row_counts", "fetch_column_metadata")
        if f".{name}(" in path.read_text(encoding="utf-8")
    ]
    assert callers == [], (
        f"{callers}: these need the dbt adapter that ClientmartDbtCliResource."
        "_initialize_dbt_core_adapter leaves out (orchestration/defs/dbt/project.py)"
    )
