"""The resources of every asset, built in one place from the one settings object."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtProject

from clientmart.settings import Settings
from orchestration.defs.dbt.project import dbt_cli


class ClientmartResource(dg.ConfigurableResource):
    """The pipeline's settings, serialised whole (every ``Settings`` field, so a setting
    added there reaches the assets without a second list of fields to keep in step)."""

    settings_json: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientmartResource:
        return cls(settings_json=settings.model_dump_json())

    def settings(self) -> Settings:
        return Settings.model_validate_json(self.settings_json)


def build_resources(settings: Settings, dbt_project: DbtProject) -> dict[str, object]:
    """``clientmart`` (paths, options) and ``dbt`` (the CLI on the project and target)."""
    return {
        "clientmart": ClientmartResource.from_settings(settings),
        "dbt": dbt_cli(dbt_project, settings),
    }
