"""The resources of every asset, built in one place from the one settings object."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtProject

from clientmart.settings import Settings
from orchestration.defs.dbt.project import dbt_cli


class ClientmartResource(dg.ConfigurableResource):
    """The pipeline's paths and options (a serialisable mirror of ``Settings``)."""

    home: str
    landing_root: str
    raw_root: str
    quarantine_root: str
    warehouse_path: str
    serving_dir: str
    alerts_dir: str
    pseudonym_key_file: str
    alert_webhook_url: str | None = None
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientmartResource:
        return cls(
            home=str(settings.home),
            landing_root=str(settings.landing),
            raw_root=str(settings.raw),
            quarantine_root=str(settings.quarantine),
            warehouse_path=str(settings.warehouse),
            serving_dir=str(settings.serving),
            alerts_dir=str(settings.alerts),
            pseudonym_key_file=str(settings.key_file),
            alert_webhook_url=settings.alert_webhook_url,
            timezone=settings.timezone,
        )

    def settings(self) -> Settings:
        return Settings(
            home=Path(self.home),
            landing_root=Path(self.landing_root),
            raw_root=Path(self.raw_root),
            quarantine_root=Path(self.quarantine_root),
            warehouse_path=Path(self.warehouse_path),
            serving_dir=Path(self.serving_dir),
            alerts_dir=Path(self.alerts_dir),
            pseudonym_key_file=Path(self.pseudonym_key_file),
            alert_webhook_url=self.alert_webhook_url,
            timezone=self.timezone,
        )


def build_resources(settings: Settings, dbt_project: DbtProject) -> dict[str, object]:
    """``clientmart`` (paths, options) and ``dbt`` (the CLI on the project and target)."""
    return {
        "clientmart": ClientmartResource.from_settings(settings),
        "dbt": dbt_cli(dbt_project, settings),
    }
