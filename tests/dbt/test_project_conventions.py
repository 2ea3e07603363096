"""Conventions of the dbt project that nothing else would catch (README "How to add a feed").

A feed's staging view in a folder of its own that `dbt_project.yml` does not know has no
`meta.test_window`: its data tests then read every day ever loaded, every night, and no
test fails. Reference data is tested whole on purpose (docs/models.md, "Tests")."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from clientmart.settings import Settings
from orchestration.defs.dbt.project import dbt_project, prepare_manifest

TESTED_WHOLE = ("staging/reference/",)


def test_every_feed_staging_view_declares_its_test_window(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    manifest = json.loads(prepare_manifest(dbt_project(settings), settings).read_text())
    staging = {
        node["original_file_path"]: node["config"].get("meta", {}).get("test_window")
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/staging/")
    }
    assert len(staging) >= 13
    undeclared = sorted(
        path
        for path, window in staging.items()
        if not window and not any(folder in path for folder in TESTED_WHOLE)
    )
    assert undeclared == [], (
        "staging views without meta.test_window (add their folder to dbt_project.yml "
        f"models: clientmart: staging): {undeclared}"
    )


def test_model_tags_are_configs_dbt_reads() -> None:
    """dbt reads a model's tags under ``config:`` only; ``tags:`` beside ``description:``
    was dropped without a word (the RM models' ``rm`` tags, and a ``pii`` tag that said the
    published nine-grid was never published)."""

    misplaced = [
        f"{path.relative_to(Path(__file__).parents[2])}: {model['name']}"
        for path in sorted((Path(__file__).parents[2] / "dbt_project" / "models").rglob("*.yml"))
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", [])
        if "tags" in model
    ]
    assert misplaced == []
