"""The serving publication: marts copied from the build warehouse into the BI copy.

It runs only after every mart of the run materialised and every blocking check passed (it
depends on all of them), so a date whose checks fail never publishes and the copy BI reads
stays the previous one.
"""

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from clientmart.serving.publish import PublishError, mart_relations_from_manifest, publish
from orchestration.chosen_apis import chosen
from orchestration.partitions import BACKFILL_POLICY, partition_dates, single_run_backfills
from orchestration.resources import ClientmartResource

SERVING_KEY = dg.AssetKey("serving_publication")
POSTGRES_KEY = dg.AssetKey("serving_postgres")
# The swap can meet a file held by a reader on other platforms, the build file a late writer.
PUBLISH_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)
# Dagster 1.12+ calls the freshness checks' sensor superseded by FreshnessPolicy, which is
# not partition-aware yet (build_freshness_sensor says why)
SUPERSEDED = "Function `build_sensor_for_freshness_checks`"


def build_serving_assets(
    partitions_def: dg.PartitionsDefinition,
    mart_keys: Sequence[dg.AssetKey],
    manifest_path: Path,
) -> dg.AssetsDefinition:
    with single_run_backfills():
        as_asset = dg.asset(
            key=SERVING_KEY,
            deps=list(mart_keys),
            group_name="serving",
            partitions_def=partitions_def,
            backfill_policy=BACKFILL_POLICY,
            retry_policy=PUBLISH_RETRY,
            kinds={"duckdb", "parquet"},
            description="Read-only DuckDB copy of every mart for BI (serving/clientmart.duckdb, "
            "with publication_log) and Parquet exports by month, swapped in atomically.",
        )

    @as_asset
    def serving_publication(
        context: dg.AssetExecutionContext, clientmart: ClientmartResource
    ) -> dg.MaterializeResult:
        settings = clientmart.settings()
        relations = mart_relations_from_manifest(manifest_path)
        try:
            result = publish(
                settings.warehouse,
                settings.serving,
                relations,
                partition_dates(context),
                memory_limit=settings.publish_memory_limit,
                storage_version=settings.serving_storage_version,
            )
        except PublishError as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc
        context.log.info(
            f"published {result.publication_id} ({result.mode}, from "
            f"{result.base or 'an empty file'}): {len(result.row_counts)} marts, business "
            f"dates {result.business_date_min}..{result.business_date_max}"
        )
        return dg.MaterializeResult(
            metadata={
                "publication_id": result.publication_id,
                "path": dg.MetadataValue.path(str(result.path)),
                "business_date_max": result.business_date_max.isoformat(),
                "mode": result.mode,
                "base": result.base or "empty",
                "row_counts": dg.MetadataValue.json(result.row_counts),
            }
        )

    return serving_publication


def build_postgres_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The serving copy's publication loaded into PostgreSQL (docs/serving.md), when
    CLIENTMART_POSTGRES_DSN is set; its own job runs it after each successful run
    (``build_postgres_job``). A failed load changes nothing in PostgreSQL."""
    with single_run_backfills():
        as_asset = dg.asset(
            key=POSTGRES_KEY,
            deps=[SERVING_KEY],
            group_name="serving",
            partitions_def=partitions_def,
            backfill_policy=BACKFILL_POLICY,
            retry_policy=PUBLISH_RETRY,  # a load is one transaction: trying again is safe
            kinds={"postgres"},
            description="The serving copy's publication loaded into PostgreSQL in one "
            "transaction, a role per institution and row-level security (docs/serving.md).",
        )

    @as_asset
    def serving_postgres(
        context: dg.AssetExecutionContext, clientmart: ClientmartResource
    ) -> dg.MaterializeResult:
        from clientmart.serving.postgres import PostgresLoadError, load_served_publication

        try:
            result = load_served_publication(clientmart.settings())
        except PostgresLoadError as exc:
            raise dg.Failure(f"PostgreSQL serving target: {exc}") from exc
        context.log.info(
            f"loaded {result.publication_id} into PostgreSQL: {len(result.tables)} tables "
            f"({len(result.updated_by_keys)} updated by their changed keys), "
            f"{sum(result.rows_written.values())} rows written, {len(result.roles)} "
            f"institution roles ({len(result.roles_created)} new) in {result.seconds:.1f} s"
        )
        return dg.MaterializeResult(
            metadata={
                "publication_id": result.publication_id,
                "row_counts": dg.MetadataValue.json(result.tables),
                "rows_written": dg.MetadataValue.json(result.rows_written),
                "updated_by_keys": list(result.updated_by_keys),
                "roles_created": list(result.roles_created),
                "tables_dropped": list(result.tables_dropped),
                "seconds": round(result.seconds, 2),
            }
        )

    return serving_postgres


def build_freshness_sensor(checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """The sensor that evaluates the freshness checks (orchestration/defs/serving/
    freshness.py), running by default (Dagster's default: stopped).

    Why these checks and not the newer ``FreshnessPolicy`` (which Dagster 1.12+ marks as
    superseding this sensor): a policy judges an asset by the time of its last
    materialization, whatever the partition, so a backfill of an old month would make a mart
    look fresh while last night's date is missing; the checks ask exactly "is the previous
    business date's partition materialized by the deadline" (dagster-io/dagster discussion
    #34023: the policy evaluator is not partition-aware yet)."""
    with chosen(dg.SupersessionWarning, SUPERSEDED):
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=list(checks),
            name="mart_freshness",
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
