"""Asset check results stored per partition (business date or month) of the run.

Why: Dagster 1.13 records a check of a partitioned asset as "planned" once per partition a
run covers, but stores an ``AssetCheckResult`` without a partition whenever the check's spec
has none or the step covers a range (a backfill). The planned rows then stay "planned" in
the UI for good, and a range with one bad date marks no date. So every check of a
partitioned step is declared with the step's partitions (``partitioned_spec``) and reported
through a ``CheckReporter`` made for the step: the check's output (what downstream steps wait
on) and one evaluation per partition of the run, each against that partition's
materialization.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

# not exported at dagster's top level in 1.13; what AssetCheckResult itself fills in
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as TargetMaterialization,
)

from orchestration.chosen_apis import chosen

PREVIEW_WARNING = "Specifying a partitions_def on an AssetCheckSpec"


@dataclass(frozen=True)
class Verdict:
    """What a check found for one partition."""

    passed: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None


def partitioned_spec(
    spec: dg.AssetCheckSpec, partitions_def: dg.PartitionsDefinition | None
) -> dg.AssetCheckSpec:
    """``spec`` with the partitions of the asset it checks.

    A preview feature of Dagster 1.13, taken on purpose: its warning is silenced here only,
    and tests/orchestration checks what the instance stores, so a change of behaviour in a
    Dagster upgrade fails the tests, not the UI."""
    if partitions_def is None or spec.partitions_def is not None:
        return spec
    with chosen(dg.PreviewWarning, PREVIEW_WARNING):
        return dg.AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=spec.description,
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
            partitions_def=partitions_def,
        )


class CheckReporter:
    """Reports the checks of one step attempt per partition of its run. It remembers each
    asset's materializations once all are found: a model has several data tests, which would
    each look them up again (122 checks on 78 assets a night)."""

    def __init__(self, context: dg.AssetExecutionContext) -> None:
        self._context = context
        self._targets: dict[dg.AssetKey, dict[str, TargetMaterialization]] = {}

    def _targets_of(
        self, asset_key: dg.AssetKey, partitions: list[str]
    ) -> dict[str, TargetMaterialization]:
        """This run's materialization of each of ``partitions`` of ``asset_key``."""
        known = self._targets.get(asset_key, {})
        if all(p in known for p in partitions):
            return known
        run_id = self._context.run.run_id
        records = self._context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=partitions),
            limit=len(partitions),
        ).records  # newest first
        found: dict[str, TargetMaterialization] = {}
        for record in records:
            entry = record.event_log_entry
            if entry.run_id == run_id and record.partition_key not in found:
                found[record.partition_key] = TargetMaterialization(
                    run_id=run_id, storage_id=record.storage_id, timestamp=record.timestamp
                )
        if all(p in found for p in partitions):
            self._targets[asset_key] = found
        return found

    def evaluations(
        self,
        check_key: dg.AssetCheckKey,
        verdicts: Mapping[str, Verdict],
        severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    ) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
        """The check's output and one evaluation per partition key of ``verdicts``. A failed
        blocking check of ERROR severity still fails the step once it has yielded all. A
        check left out of the run's selection has no output; its evaluations are stored all
        the same, as Dagster does with an ``AssetCheckResult`` of such a check."""
        context = self._context
        spec = context.assets_def.get_spec_for_check_key(check_key)
        if check_key in context.selected_asset_check_keys:
            output = context.assets_def.get_output_name_for_asset_check_key(check_key)
            yield dg.Output(None, output_name=output)
        targets = self._targets_of(check_key.asset_key, list(verdicts))
        for partition, verdict in verdicts.items():
            yield dg.AssetCheckEvaluation(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=verdict.passed,
                metadata=verdict.metadata,
                target_materialization_data=targets.get(partition),
                severity=severity,
                description=verdict.description,
                blocking=spec.blocking,
                partition=partition,
            )

    def per_partition(
        self, result: dg.AssetCheckResult
    ) -> Iterator[dg.Output | dg.AssetCheckEvaluation | dg.AssetCheckResult]:
        """One result over the whole run (a dbt test of the run's window) as the same verdict
        for each partition of the run. A result Dagster would not store per partition as it
        is (a check not selected, or a run without partitions) is passed on unchanged."""
        context = self._context
        partitioned = context.has_partition_key or context.has_partition_key_range
        if result.asset_key is None or result.check_name is None or not partitioned:
            yield result  # Dagster resolves a result that names no check from the specs
            return
        asset_key = dg.AssetKey.from_coercible(result.asset_key)
        check_key = dg.AssetCheckKey(asset_key, result.check_name)
        if check_key not in context.selected_asset_check_keys:
            yield result
            return
        verdict = Verdict(result.passed, result.metadata, result.description)
        verdicts = {partition: verdict for partition in context.partition_keys}
        yield from self.evaluations(check_key, verdicts, result.severity)
