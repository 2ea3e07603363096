"""What the Dagster instance stores of each asset check, per partition (what the UI shows)."""

from __future__ import annotations

import dagster as dg


def check_records(
    instance: dg.DagsterInstance, defs: dg.Definitions
) -> dict[tuple[str, str | None], list[tuple[str, str]]]:
    """Per (check, partition): (status, run id) of each stored execution, newest first."""
    stored: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for key in defs.resolve_asset_graph().asset_check_keys:
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=1000)
        for record in history:
            stored.setdefault((name, record.partition), []).append(
                (record.status.value, record.run_id)
            )
    return stored


def targets_of(
    instance: dg.DagsterInstance, check: dg.AssetCheckKey, run_id: str
) -> dict[str | None, str | None]:
    """Per partition, the run id of the materialization each evaluation of ``run_id`` was
    made against (None when it names none)."""
    found: dict[str | None, str | None] = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(check, 1000):
        if record.run_id == run_id and record.event is not None:
            evaluation = record.event.dagster_event.event_specific_data
            target = evaluation.target_materialization_data
            found[record.partition] = target.run_id if target else None
    return found
