"""The dbt resource knows its dbt's version without running ``dbt --version`` each run.

dagster-dbt runs ``dbt --version`` once per resource, and the resource is made per run: about
2.9 s of a night on this machine, most of it dbt asking PyPI for its latest release (a night
that needs the package index to answer). The dbt beside this Python is this environment's
dbt-core, whose version is known in-process.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import dagster_dbt.core.resource as dbt_resource
import dbt.version
from dagster_dbt import DbtCliResource
from packaging import version

from clientmart.settings import Settings
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
