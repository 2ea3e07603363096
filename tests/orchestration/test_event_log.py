"""The instance's event log (orchestration/event_log.py): Dagster's SQLite event log in its
default place, with a pool per file. Runs are real in-process Dagster runs of a small asset."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public API

from orchestration.event_log import OPEN_RUN_FILES, PooledSqliteEventLogStorage
from orchestration.runner import DAGSTER_YAML


@dg.asset
def balance() -> int:
    return 1


def _home(path: Path, monkeypatch: pytest.MonkeyPatch, yaml: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if yaml:
        shutil.copyfile(DAGSTER_YAML, path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return path


def _materialize(assets: list, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """``dg.materialize`` under ``instance``'s defs-state storage, as orchestration.runner's
    ``execute`` runs: a Dagster instance made and dropped inside an earlier materialize can
    leave its storage in the context variable, and once it is collected the next materialize
    fails with "Attempted to resolve undefined DagsterInstance weakref" (seen under
    pytest-xdist, after a test that builds the definitions twice)."""
    with set_defs_state_storage(instance.defs_state_storage):
        return dg.materialize(assets, instance=instance)


def _materializations(instance: dg.DagsterInstance) -> list[str]:
    records = instance.fetch_materializations(dg.AssetKey("balance"), limit=100).records
    return sorted(record.run_id for record in records)


def test_the_instance_keeps_its_event_log_where_dagster_does_and_reads_an_older_home(
    tmp_path, monkeypatch
):
    # a home written by Dagster's default storage (no dagster.yaml), as before this class
    home = _home(tmp_path / "dagster", monkeypatch, yaml=False)
    with dg.DagsterInstance.from_config(str(home)) as default:
        older = _materialize([balance], default).run_id

    shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        newer = _materialize([balance], instance).run_id
        assert _materializations(instance) == sorted([older, newer])
        assert (home / "history" / "runs" / f"{newer}.db").exists()
        assert (home / "history" / "runs" / "index.db").exists()
        events = instance.all_logs(newer, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert len(events) == 1

    # and the default storage reads what the pooled one wrote (same files, same schema)
    (home / "dagster.yaml").unlink()
    with dg.DagsterInstance.from_config(str(home)) as default:
        assert _materializations(default) == sorted([older, newer])


@dg.asset
def logging_balance() -> int:
    logging.getLogger("clientmart.serving.publish").info("serving standby not taken: a test")
    logging.getLogger("clientmart.serving.publish").debug("below the level")
    logging.getLogger("some_library").warning("not the project's")
    return 1


def test_the_projects_python_loggers_write_into_the_run_log(tmp_path, monkeypatch):
    """dagster.yaml's python_logs: what clientmart's modules log (the publish's choices and
    warnings) is in the run's log, at INFO and above; other libraries' loggers are not."""
    home = _home(tmp_path / "dagster", monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = _materialize([logging_balance], instance).run_id
        messages = [entry.user_message for entry in instance.all_logs(run_id)]
    assert "serving standby not taken: a test" in messages
    assert "below the level" not in messages
    assert "not the project's" not in messages


def test_one_open_engine_per_file_and_only_the_recent_runs_stay_open(tmp_path, monkeypatch):
    home = _home(tmp_path / "dagster", monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        run_ids = [_materialize([balance], instance).run_id for _ in range(6)]
        engines = dict(storage._engines)
        # the index and the last OPEN_RUN_FILES runs, each with its one pooled connection
        assert set(engines) == {"index", *run_ids[-OPEN_RUN_FILES:]}
        for engine in engines.values():
            assert engine.pool.checkedout() == 0
        index_engine = engines["index"]
        _materialize([balance], instance)
        assert storage._engines["index"] is index_engine
        # a closed run file opens again when it is read
        assert len(instance.all_logs(run_ids[0])) > 0
        assert run_ids[0] in storage._engines
        assert len(_materializations(instance)) == 7


def test_a_second_instance_sees_what_the_first_wrote_while_its_files_stay_open(
    tmp_path, monkeypatch
):
    home = _home(tmp_path / "dagster", monkeypatch)
    with (
        dg.DagsterInstance.from_config(str(home)) as writer,
        dg.DagsterInstance.from_config(str(home)) as reader,
    ):
        first = _materialize([balance], writer).run_id
        assert _materializations(reader) == [first]
        second = _materialize([balance], reader).run_id
        assert _materializations(writer) == sorted([first, second])


def _run_in_child(instance: dg.DagsterInstance) -> None:
    # the instance the parent had, inherited by fork with its open engines
    inherited = instance.event_log_storage._engines["index"]
    _materialize([balance], instance)
    assert instance.event_log_storage._engines["index"] is not inherited


def test_a_forked_child_opens_its_own_connections(tmp_path, monkeypatch):
    home = _home(tmp_path / "dagster", monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        parent_run = _materialize([balance], instance).run_id
        index_engine = instance.event_log_storage._engines["index"]
        child = multiprocessing.get_context("fork").Process(target=_run_in_child, args=(instance,))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == 0
        # the parent's pool still works after the child used (and dropped) its copy
        after = _materialize([balance], instance).run_id
        assert instance.event_log_storage._engines["index"] is index_engine
        runs = _materializations(instance)
        assert len(runs) == 3 and parent_run in runs and after in runs


def test_wipe_closes_the_files_before_deleting_them(tmp_path, monkeypatch):
    home = _home(tmp_path / "dagster", monkeypatch)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = _materialize([balance], instance).run_id
        instance.event_log_storage.wipe()
        assert not (home / "history" / "runs" / f"{run_id}.db").exists()
        assert _materializations(instance) == []
        again = _materialize([balance], instance).run_id
        assert _materializations(instance) == [again]


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="checked_balance")])
def checked_balance() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True)])


def test_the_check_table_is_looked_up_once_not_at_every_check_event(tmp_path, monkeypatch):
    """Dagster inspects the index's schema for its asset-check table at every check event;
    the storage asks once, and again only after a wipe."""
    home = _home(tmp_path / "dagster", monkeypatch)
    looked_up: list[str] = []
    has_table = PooledSqliteEventLogStorage.has_table

    def counted(self: PooledSqliteEventLogStorage, table: str) -> bool:
        looked_up.append(table)
        return has_table(self, table)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "has_table", counted)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for _ in range(3):
            assert _materialize([checked_balance], instance).success
        key = dg.AssetCheckKey(dg.AssetKey("checked_balance"), "positive")
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        assert [r.status.value for r in history] == ["SUCCEEDED"] * 3
        assert looked_up.count("asset_check_executions") == 1
        instance.event_log_storage.wipe()  # the files are gone: asked again after
        assert _materialize([checked_balance], instance).success
        after_wipe = looked_up.count("asset_check_executions")
        assert after_wipe > 1
        assert _materialize([checked_balance], instance).success
        assert looked_up.count("asset_check_executions") == after_wipe
