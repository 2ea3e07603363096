"""The scale-out path: the same dbt project on DuckDB and on Apache Spark gives the same marts.

A small generated bank (150 clients, 4 days straddling a month end) is ingested once; the
project is built on the default DuckDB target (dbt in a child process) and on the `spark`
target (dbt-spark, `session` method), both reading the same raw Parquet. The Spark commands
run in this process, on one Spark session with its catalog in memory
(CLIENTMART_SPARK_CATALOG=in-memory, profiles.yml): the module's second Spark command finds
the first one's tables without a Derby metastore, whose set-up and round trips took a fifth
of the Spark build's CPU, nor a second JVM start. The session is stopped after the module.
Every model under models/marts is then read from both warehouses and
compared row by row: keys, codes, dates, counts and money (DECIMAL, to the cent) exactly,
shares (DOUBLE) within 1e-9 (docs/scale-out.md, "Money"). The build times of both targets
are printed (run with -s). A Spark mart is read from its table's folder in the Spark
warehouse, the Parquet files Spark wrote (a managed table's folder holds exactly its live
partitions), with DuckDB: a Spark session to export them cost 24 s and 40 CPU-seconds a time.

Data tests run on DuckDB in the other suites; here both builds are seeds, models and the
call list's unit tests (the same nodes, so the two times compare): the small bank has no
complete month to list, so the call list's rules are checked on Spark by its unit tests'
hand-written tiers and contacts. Every other mart is compared on the bank's own rows.

`--spark-unit-tests=all` (`make test-spark-full`) runs every unit test of the project on both
targets instead: about 2-3.5 minutes more of Spark (one to fourteen seconds a unit test, most
of it Spark's planning and job start-up on a few rows). It is the check to run after a
change to a dispatched macro's Spark side or to a unit test's input SQL (a `cast(null as
varchar)` in one's input, which Spark refuses, once failed a full Spark build unnoticed).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from clientmart.generator.bank import generate_bank
from clientmart.settings import Settings
from ingest.pipeline import ingest_date

pytestmark = pytest.mark.spark

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
START, END = dt.date(2026, 1, 30), dt.date(2026, 2, 2)
CLIENTS = 150
SPARK_SCHEMA = "clientmart"
CALL_LIST_UNIT_TESTS = (
    "call_list_respects_the_cool_down_and_reason_priority",
    "call_list_one_list_per_week_of_a_backfill_range",
)
# the unit tests both builds run, by --spark-unit-tests (tests/conftest.py)
UNIT_TEST_SELECTION = {"call-list": "unit_test:call_list_*", "all": "resource_type:unit_test"}
PARITY_MARTS = (  # every model under models/marts (test_every_mart_is_compared)
    "dim_client",
    "dim_date",
    "dim_institution",
    "dim_institution_history",
    "dim_product",
    "dim_rm",
    "fct_deposit_balance_daily",
    "ingest_audit",
    "mart_call_list",
    "mart_client_assets_monthly",
    "mart_client_breakdown",
    "mart_client_tier",
    "mart_client_tier_history",
    "mart_concentration",
    "mart_rm_attainment",
    "mart_rm_nine_grid",
    "mart_rm_pipeline_goals",
    "mart_tier_migration",
    "quarantine_records",
)


def _dbt_options(home: Path, target: str) -> list[str]:
    return [
        "--target",
        target,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(home / f"dbt_target_{target}"),
        "--log-path",
        str(home / f"dbt_logs_{target}"),
    ]


def _dbt(args: list[str], env: dict[str, str], home: Path, target: str) -> float:
    """Run one dbt command for a target (DuckDB in a child process, Spark in this one);
    returns its wall time."""
    started = time.monotonic()
    if target == "spark":
        output = _dbt_in_process([*args, *_dbt_options(home, target)], env)
    else:
        command = [str(DBT), *args, *_dbt_options(home, target)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        output = None if done.returncode == 0 else done.stdout + done.stderr
    assert output is None, f"dbt {' '.join(args)} --target {target}:\n" + output[-6000:]
    return time.monotonic() - started


def _dbt_in_process(args: list[str], env: dict[str, str]) -> str | None:
    """Run dbt with ``env`` as this process's environment for the call (the Spark session
    and its JVM, started by the first call, outlive it); None when it succeeds, else the
    failed nodes' messages."""
    from dbt.cli.main import dbtRunner

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result = dbtRunner().invoke(args)
    if result.success:
        return None
    failed = [
        f"{r.node.unique_id}: {r.status}: {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    return "\n".join(failed) or repr(result.exception)


def _stop_spark() -> None:
    """Stop the module's Spark session and its JVM (it would hold its memory until the
    worker ends)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkSession._instantiatedSession is not None:
        SparkSession._instantiatedSession.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        gateway.shutdown()
        gateway.proc.stdin.close()  # the JVM exits when its stdin closes
        gateway.proc.wait(timeout=60)
        SparkContext._gateway = SparkContext._jvm = None


def _manifest(home: Path) -> dict:
    """The DuckDB build's manifest."""
    return json.loads((home / "dbt_target_duckdb" / "manifest.json").read_text())


def _mart_names(home: Path) -> list[str]:
    """Every model under models/marts, from the DuckDB build's manifest."""
    manifest = _manifest(home)
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    )


def _sort_key(row: tuple) -> tuple:
    """Order rows by their exact columns first (keys), then by rounded numbers."""
    exact, approx = [], []
    for value in row:
        if isinstance(value, Decimal | float):
            approx.append((value is None, round(float(value), 1)))
        else:
            exact.append((value is None, str(value)))
    return (*exact, *approx)


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        # money to the cent on both engines: both divide exactly and round half-up
        # (DuckDB in integer cents, macro duckdb__money_divide; Spark in DECIMAL)
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.fixture(scope="module")
def both_targets(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict]:
    """Generate and ingest the bank and build it on both targets."""
    home = tmp_path_factory.mktemp("spark_parity")
    settings = Settings(home=home)
    generate_bank(settings.landing, clients=CLIENTS, start=START, end=END, seed=11)
    day = START
    while day <= END:
        ingest_date(settings, day)
        day += dt.timedelta(days=1)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    spark_dir = home / "spark"
    spark_dir.mkdir()
    env = {
        **os.environ,
        **settings.dbt_env(),
        "CLIENTMART_SPARK_DIR": str(spark_dir),
        "CLIENTMART_SPARK_SCHEMA": SPARK_SCHEMA,
        "CLIENTMART_SPARK_CATALOG": "in-memory",
        "TZ": "UTC",
    }
    # seeds, models and unit tests (in the same invocation: a second one would pay Spark's
    # start-up and a parse again); no data test comes in with its model
    build = [
        "build",
        "--select",
        "resource_type:seed",
        "resource_type:model",
        UNIT_TEST_SELECTION[request.config.getoption("spark_unit_tests")],
        "--indirect-selection",
        "empty",
    ]
    try:
        seconds = {target: _dbt(build, env, home, target) for target in ("duckdb", "spark")}
        print(f"\ndbt build on the small bank ({CLIENTS} clients, 4 days): {seconds}")
        yield {
            "marts": _mart_names(home),
            "warehouse": settings.warehouse,
            "spark_tables": spark_dir / "warehouse" / f"{SPARK_SCHEMA}.db",
            "seconds": seconds,
            "env": env,
            "home": home,
        }
    finally:
        _stop_spark()


def _duckdb_rows(warehouse: Path, table: str) -> tuple[dict[str, str], list[tuple]]:
    """The DuckDB table's column types by name (in column order) and its rows."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result = con.execute(f"select * from {table}")
        return {d[0]: str(d[1]) for d in result.description}, result.fetchall()


def _spark_rows(
    spark_tables: Path, table: str, duckdb_types: dict[str, str]
) -> tuple[list[str] | None, list[tuple]]:
    """The Spark table's rows as Spark wrote them (its folder's Parquet files; partition
    columns from the folder names, typed as on DuckDB: ``duckdb_types``), in DuckDB's column
    order, and the table's column names (None when Spark wrote no file: a partitioned table
    without rows, such as the small bank's call list)."""
    folder = spark_tables / table
    assert folder.is_dir(), f"{table}: no table folder in the Spark warehouse"
    if not any(folder.glob("**/*.parquet")):
        return None, []
    partitions = sorted({p.name.split("=", 1)[0] for p in folder.iterdir() if "=" in p.name})
    hive = ", hive_partitioning = false"
    if partitions:
        hive_types = ", ".join(f"'{c}': '{duckdb_types[c]}'" for c in partitions)
        hive = f", hive_partitioning = true, hive_types = {{{hive_types}}}"
    source = f"read_parquet('{folder}/**/*.parquet'{hive})"
    with duckdb.connect() as con:
        names = [d[0] for d in con.execute(f"select * from {source} limit 0").description]
        select = ", ".join(f'"{c}"' for c in duckdb_types)
        return names, con.execute(f"select {select} from {source}").fetchall()


def test_every_mart_is_built_on_both_targets(both_targets: dict) -> None:
    marts = both_targets["marts"]
    assert {"mart_client_breakdown", "mart_client_tier", "mart_rm_attainment"} <= set(marts)
    for mart in marts:
        assert (both_targets["spark_tables"] / mart).is_dir(), mart


def test_every_mart_is_compared(both_targets: dict) -> None:
    """A mart added to the project is compared too: the list below must name every one."""
    assert sorted(PARITY_MARTS) == both_targets["marts"]


@pytest.mark.parametrize("mart", PARITY_MARTS)
def test_mart_is_equal_on_spark_and_duckdb(both_targets: dict, mart: str) -> None:
    types, duck = _duckdb_rows(both_targets["warehouse"], mart)
    spark_columns, spark = _spark_rows(both_targets["spark_tables"], mart, types)
    if spark_columns is not None:
        assert sorted(spark_columns) == sorted(types)
    _assert_same_rows(mart, list(types), duck, spark)


def _assert_same_rows(table: str, columns: list[str], duck: list[tuple], spark: list[tuple]):
    assert len(spark) == len(duck), f"{table}: {len(spark)} rows on Spark, {len(duck)} on DuckDB"
    for d_row, s_row in zip(sorted(duck, key=_sort_key), sorted(spark, key=_sort_key), strict=True):
        differing = [
            f"{name}: duckdb={a!r} spark={b!r}"
            for name, a, b in zip(columns, d_row, s_row, strict=True)
            if not _same(a, b)
        ]
        assert not differing, f"{table} row {d_row}: " + "; ".join(differing)


def test_the_marts_are_not_empty(both_targets: dict) -> None:
    """A parity of empty tables would prove nothing: the bank fills the main marts."""
    for mart in ("mart_client_breakdown", "mart_client_assets_monthly", "dim_client"):
        _, rows = _duckdb_rows(both_targets["warehouse"], mart)
        assert rows, mart


def _unit_tests_ran(home: Path, target: str) -> dict[str, str]:
    run_results = home / f"dbt_target_{target}" / "run_results.json"
    return {
        r["unique_id"].rsplit(".", 1)[-1]: r["status"]
        for r in json.loads(run_results.read_text())["results"]
        if r["unique_id"].startswith("unit_test.")
    }


def _unit_tests_of_models(home: Path, models: set[str] | None = None) -> set[str]:
    """The project's unit tests (of ``models`` only, if given), from the manifest."""
    return {
        test["name"]
        for test in _manifest(home)["unit_tests"].values()
        if models is None or test["model"] in models
    }


def test_the_unit_tests_pass_on_spark(both_targets: dict, request: pytest.FixtureRequest) -> None:
    """The unit tests the run selected ran on both targets and passed on both: by default
    every unit test of the call list (the small bank has no complete month, so its call lists
    are empty on both targets: a list is drawn on complete months only), with
    ``--spark-unit-tests=all`` every unit test of the project."""
    home = both_targets["home"]
    ran = {target: _unit_tests_ran(home, target) for target in ("duckdb", "spark")}
    if request.config.getoption("spark_unit_tests") == "all":
        expected = _unit_tests_of_models(home)
        assert len(expected) >= 40
    else:
        # a call list unit test not named call_list_* would escape the selection
        expected = _unit_tests_of_models(home, {"mart_call_list"})
    assert set(CALL_LIST_UNIT_TESTS) <= expected
    assert ran["duckdb"] == dict.fromkeys(expected, "pass")
    assert ran["spark"] == dict.fromkeys(expected, "pass")


# Last in the module on purpose: it changes the raw data and both warehouses after the
# comparisons above (which read the first build).
WITHDRAWN_MONTH = dt.date(2026, 2, 1)
RM_MONTH_MODELS = ("int_rm_plan_daily", "int_rm_plan_weekly", "int_rm_pipeline_goals")


def _withdraw_month_targets(raw_targets: Path, month: dt.date) -> int:
    """Rewrite every raw targets file without ``month``'s rows (a re-delivery that withdraws
    them); returns how many rows were withdrawn."""
    withdrawn = 0
    of_month = f"starts_with(cast(month as varchar), '{month:%Y-%m}')"
    for path in sorted(raw_targets.glob("business_date=*/*.parquet")):
        with duckdb.connect() as con:
            source = f"read_parquet('{path}')"
            withdrawn += con.execute(f"select count(*) from {source} where {of_month}").fetchone()[
                0
            ]
            con.execute(
                f"copy (select * from {source} "
                f"where not {of_month}) "
                f"to '{path}.new' (format parquet)"
            )
        Path(f"{path}.new").replace(path)
    return withdrawn


def _months(columns: list[str], rows: list[tuple]) -> set[dt.date]:
    return {row[columns.index("month_start")] for row in rows}


def test_a_month_whose_rebuilt_batch_is_empty_loses_its_rows_on_spark_too(
    both_targets: dict,
) -> None:
    """A re-delivery withdraws February's targets and the next night (window 2026-02-02)
    rebuilds the RM month models incrementally: February's plan now has no rows. On DuckDB
    a pre-hook deletes the months a run rebuilds; on Spark the batch overwrote only the
    partitions it held and February's old plan stayed. Both must drop it."""
    home, env = both_targets["home"], both_targets["env"]
    types, before = _duckdb_rows(both_targets["warehouse"], "int_rm_plan_daily")
    columns = list(types)
    assert WITHDRAWN_MONTH in _months(columns, before), "no February plan: the case is not met"
    raw_targets = Path(env["DBT_CLIENTMART_RAW_ROOT"]) / "rm_targets"
    assert _withdraw_month_targets(raw_targets, WITHDRAWN_MONTH)

    # the night's window as the pipeline gives it (a changed --vars would re-parse everything)
    night = {
        **env,
        "CLIENTMART_RUN_START_DATE": "2026-02-02",
        "CLIENTMART_RUN_END_DATE": "2026-02-02",
    }
    for target in ("duckdb", "spark"):
        _dbt(["run", "--select", "int_rm_targets+"], night, home, target)
    for model in (*RM_MONTH_MODELS, "mart_rm_attainment"):
        types, duck = _duckdb_rows(both_targets["warehouse"], model)
        columns = list(types)
        _, spark = _spark_rows(both_targets["spark_tables"], model, types)
        if model != "mart_rm_attainment":  # attainment keeps the month's actuals
            assert WITHDRAWN_MONTH not in _months(columns, duck), model
        assert _months(columns, spark) == _months(columns, duck), model
        _assert_same_rows(model, columns, duck, spark)
