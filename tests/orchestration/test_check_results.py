"""orchestration/check_results.py on a small partitioned asset: each partition of a run gets
its own stored check result (no row left "planned"), a failed blocking check still fails the
step, and an asset run without its check still stores what it found."""

from collections.abc import Iterator

import dagster as dg
import pytest
from check_records import stored

from orchestration.check_results import CheckReporter, Verdict, partitioned_spec

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01")
CHECK = dg.AssetCheckKey(dg.AssetKey("balances"), "plausible")
RANGE = {
    "dagster/asset_partition_range_start": "2026-10-01",
    "dagster/asset_partition_range_end": "2026-10-03",
}


def _assets(bad: set[str], whole_run: bool) -> list[dg.AssetsDefinition]:
    spec = partitioned_spec(dg.AssetCheckSpec("plausible", asset="balances", blocking=True), DAYS)

    @dg.multi_asset(
        specs=[dg.AssetSpec("balances")],
        check_specs=[spec],
        partitions_def=DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
    )
    def balances(context: dg.AssetExecutionContext) -> Iterator:
        yield dg.MaterializeResult(asset_key="balances")
        checks = CheckReporter(context)
        if whole_run:  # one result for the run, as a dbt test of the run's window gives
            result = dg.AssetCheckResult(
                asset_key="balances", check_name="plausible", passed=not bad
            )
            yield from checks.per_partition(result)
        else:
            verdicts = {
                key: Verdict(key not in bad, {"day": key}, f"{key} bad" if key in bad else None)
                for key in context.partition_keys
            }
            yield from checks.evaluations(CHECK, verdicts)

    @dg.asset(deps=["balances"], partitions_def=DAYS, backfill_policy=balances.backfill_policy)
    def marts() -> None:
        return None

    return [balances, marts]


def _run(
    instance: dg.DagsterInstance, assets: list[dg.AssetsDefinition], selection=None, **kwargs
) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("j", selection=selection, partitions_def=DAYS)
    defs = dg.Definitions(assets=assets, jobs=[job])
    return defs.resolve_job_def("j").execute_in_process(
        instance=instance, raise_on_error=False, **kwargs
    )


def test_a_range_stores_each_dates_verdict_and_a_failed_date_fails_the_step():
    with dg.instance_for_test() as instance:
        result = _run(instance, _assets({"2026-10-02"}, whole_run=False), tags=RANGE)
        assert not result.success
        run = result.run_id
        assert stored(instance, CHECK) == {
            "2026-10-01": ("SUCCEEDED", run, run),
            "2026-10-02": ("FAILED", run, run),
            "2026-10-03": ("SUCCEEDED", run, run),
        }
        # blocking: the step failed after storing every date, the marts did not run
        assert not instance.get_materialized_partitions(dg.AssetKey("marts"))
        (failed,) = [e for e in result.get_asset_check_evaluations() if not e.passed]
        assert (failed.partition, failed.description, failed.metadata["day"].value) == (
            "2026-10-02",
            "2026-10-02 bad",
            "2026-10-02",
        )


@pytest.mark.parametrize("whole_run", [False, True])
def test_a_night_and_a_range_leave_no_check_planned(whole_run: bool):
    with dg.instance_for_test() as instance:
        night = _run(instance, _assets(set(), whole_run), partition_key="2026-10-05")
        backfill = _run(instance, _assets(set(), whole_run), tags=RANGE)
        assert night.success and backfill.success
        runs = {"2026-10-05": night.run_id}
        runs.update(dict.fromkeys(["2026-10-01", "2026-10-02", "2026-10-03"], backfill.run_id))
        assert stored(instance, CHECK) == {
            day: ("SUCCEEDED", run, run) for day, run in runs.items()
        }
        assert instance.get_materialized_partitions(dg.AssetKey("marts")) == set(runs)


def test_an_asset_run_without_its_check_still_stores_the_verdicts():
    """A run of the asset alone (the UI's 'without checks') has no output for the check;
    what the step found is stored all the same, as Dagster does with a check result."""
    with dg.instance_for_test() as instance:
        selection = dg.AssetSelection.assets("balances").without_checks()
        result = _run(
            instance, _assets(set(), False), selection=selection, partition_key="2026-10-05"
        )
        assert result.success
        assert stored(instance, CHECK) == {
            "2026-10-05": ("SUCCEEDED", result.run_id, result.run_id)
        }
