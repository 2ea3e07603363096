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


def stored(
    instance: dg.DagsterInstance, check: dg.AssetCheckKey
) -> dict[str | None, tuple[str, str, str | None]]:
    """Per partition, the newest stored execution of ``check``: its status, its run and the
    run of the materialization it was evaluated against (None when it names none)."""
    found: dict[str | None, tuple[str, str, str | None]] = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(check, 1000):
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        target = getattr(evaluation, "target_materialization_data", None)
        found.setdefault(
            record.partition,
            (record.status.value, record.run_id, target.run_id if target else None),
        )
    return found
