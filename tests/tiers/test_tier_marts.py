"""Client tiers on a generated bank: generate, ingest, build the tiers marts with dbt, and
check them against computations made here, independently of the SQL.

The rule edges (inheritance, bases, overrides, hidden-potential thresholds, cool-down) are
dbt unit tests beside the models; this module checks what only a whole bank shows: counts per
branch, migration identities, concentration in the generator's designed range, and that
re-running a date leaves the marts unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from clientmart.generator.bank import generate_bank
from clientmart.settings import PROJECT_ROOT, Settings
from ingest.pipeline import ingest_date

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SEEDS = DBT_PROJECT / "seeds"
START = dt.date(2026, 9, 28)
END = dt.date(2026, 10, 2)
TIERS_SELECTION = [
    "path:models/intermediate/tiers",
    "path:models/marts/tiers",
    "path:tests/tiers",
    "tier_rules",
    "tier_rule_assignments",
    "tier_overrides",
    "executive_override_rules",
    "hidden_potential_rules",
    "call_list_rules",
]
TIER_MARTS = [
    "mart_client_tier",
    "mart_tier_migration",
    "mart_concentration",
    "mart_call_list",
    "mart_client_tier_history",
]


def _dbt(settings: Settings, target: Path, *args: str, env: dict[str, str] | None = None) -> None:
    """Run dbt in a subprocess with the project's environment (and ``env``, e.g. a run
    window); fail the test with its log."""
    env = {**os.environ, **settings.dbt_env(), **(env or {})}
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [
        str(dbt),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(target / "target"),
        "--log-path",
        str(target / "logs"),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small generated bank spanning two months, ingested and built through the tiers marts."""
    home = tmp_path_factory.mktemp("tiers_bank")
    settings = Settings(home=home)
    generate_bank(settings.landing, clients=600, start=START, end=END, seed=7)
    day = START
    while day <= END:
        ingest_date(settings, day)
        day += dt.timedelta(days=1)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    _dbt(
        settings,
        home,
        "build",
        "--select",
        "+path:models/marts/tiers",
        "--exclude-resource-type",
        "unit_test",
        "--exclude-resource-type",
        "test",
    )
    # the tiers' own data tests, singular tests and unit tests, on the generated bank
    _dbt(
        settings,
        home,
        "test",
        "--select",
        *TIERS_SELECTION,
        "--indirect-selection",
        "cautious",
    )
    return settings


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _rule_set_for(ancestors: list[str | None], assignments: dict[str, str]) -> str:
    """Nearest assigned ancestor (listed nearest first), else the '*' default."""
    for code in ancestors:
        if code is not None and code in assignments:
            return assignments[code]
    return assignments["*"]


def _independent_tiers(settings: Settings) -> dict[tuple[str, dt.date], tuple[str, str]]:
    """(client, month) -> (branch, computed tier) from the seeds, applied in Python."""
    assignments = {r["inst_code"]: r["rule_set_id"] for r in _seed("tier_rule_assignments")}
    ladders: dict[str, list[tuple[Decimal, str, int]]] = {}
    bases: dict[str, str] = {}
    for r in _seed("tier_rules"):
        ladders.setdefault(r["rule_set_id"], []).append(
            (Decimal(r["min_assets_cny"]), r["tier"], int(r["tier_rank"]))
        )
        bases[r["rule_set_id"]] = r["basis"]
    institutions = {  # each month's tree
        (code, month): (branch, [code, outlet, sub, branch, head])
        for month, code, head, branch, sub, outlet in _rows(
            settings,
            "select month_start, inst_code, head_office_code, branch_code, sub_branch_code, "
            "outlet_code from int_institution_monthly",
        )
    }
    result = {}
    for client, month, inst, month_end, daily_avg in _rows(
        settings,
        "select client_id, month_start, inst_code, total_month_end_cny, total_daily_avg_cny "
        "from int_client_assets_monthly where client_type = 'I'",
    ):
        branch, ancestors = institutions.get((inst, month), (None, [inst]))
        rule_set = _rule_set_for(ancestors, assignments)
        assets = month_end if bases[rule_set] == "month_end" else daily_avg
        ladder = sorted(ladders[rule_set], key=lambda rung: rung[2])
        tier = ladder[0][1]
        for minimum, name, _rank in ladder[1:]:
            if assets >= minimum:
                tier = name
        result[(client, month)] = (branch, tier)
    return result


def test_dbt_ran_every_tiers_unit_test_and_data_test(bank: Settings) -> None:
    results = json.loads((bank.home / "target" / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    unit = {k: v for k, v in statuses.items() if k.startswith("unit_test.clientmart.")}
    assert len(unit) >= 9
    assert set(unit.values()) == {"pass"}
    for name in [
        "tier_history_versions_from_the_change_points",
        "tier_history_rewrites_the_clients_a_night_can_change",
    ]:
        assert f"unit_test.clientmart.mart_client_tier_history.{name}" in unit
    assert "test.clientmart.assert_tier_rules_are_a_ladder" in statuses
    tests = {k: v for k, v in statuses.items() if k.startswith(("test.", "unit_test."))}
    assert set(tests.values()) == {"pass"}


def test_tier_counts_per_branch_equal_an_independent_computation(bank: Settings) -> None:
    expected = Counter(
        (month, branch, tier) for (_c, month), (branch, tier) in _independent_tiers(bank).items()
    )
    actual = Counter(
        {
            (month, branch, tier): count
            for month, branch, tier, count in _rows(
                bank,
                "select month_start, branch_code, computed_tier, count(*) from mart_client_tier "
                "where client_type = 'I' group by all",
            )
        }
    )
    assert sum(expected.values()) > 500
    assert actual == expected


def test_final_tier_differs_only_with_a_stated_override(bank: Settings) -> None:
    rows = _rows(
        bank,
        "select computed_tier, final_tier, override_source, override_reason, is_tier_overridden "
        "from mart_client_tier where client_type = 'I'",
    )
    assert rows
    for computed, final, source, reason, overridden in rows:
        assert overridden == (computed != final)
        if source == "none":
            assert computed == final and reason is None
        else:
            assert reason


def test_corporate_clients_carry_their_grade(bank: Settings) -> None:
    grades = _rows(
        bank,
        "select corporate_grade, final_tier from mart_client_tier where client_type = 'C'",
    )
    assert grades
    assert {g for g, _ in grades} <= {"gold", "key", "quasi_key", "ordinary", "marginal", None}
    assert any(g is not None for g, _ in grades)
    assert all(t is None for _, t in grades)


def test_migration_rows_sum_to_both_months_tier_counts(bank: Settings) -> None:
    tiers = Counter(
        {
            (m, inst, tier): n
            for m, inst, tier, n in _rows(
                bank,
                "select month_start, inst_code, final_tier, count(*) from mart_client_tier "
                "where client_type = 'I' group by all",
            )
        }
    )
    migration = _rows(
        bank,
        "select month_start, inst_code, from_tier, to_tier, client_count from mart_tier_migration",
    )
    months = sorted({m for m, *_ in migration})
    assert len(months) == 2
    later = months[1]
    previous = months[0]
    by_from: Counter = Counter()
    by_to: Counter = Counter()
    for month, inst, from_tier, to_tier, count in migration:
        if month != later:
            continue
        by_from[(inst, from_tier)] += count
        by_to[(inst, to_tier)] += count
    entering = {"new", "transferred_in"}
    leaving = {"lost", "transferred_out"}
    # grouped by from-tier: last month's counts, plus the clients who entered
    assert {k: v for k, v in by_from.items() if k[1] not in entering} == {
        (inst, tier): n for (m, inst, tier), n in tiers.items() if m == previous
    }
    # grouped by to-tier: this month's counts, plus the clients who left
    assert {k: v for k, v in by_to.items() if k[1] not in leaving} == {
        (inst, tier): n for (m, inst, tier), n in tiers.items() if m == later
    }
    assert sum(by_from.values()) == sum(
        n for (m, _i, _t), n in tiers.items() if m == previous
    ) + sum(v for k, v in by_from.items() if k[1] in entering)


def test_top20_share_is_in_the_generators_range(bank: Settings) -> None:
    rows = _rows(
        bank,
        "select month_start, top20_asset_share, gini_coefficient, lorenz_p50_asset_share, "
        "lorenz_p90_asset_share from mart_concentration where inst_level = 1",
    )
    assert len(rows) == 2
    for _month, share, gini, p50, p90 in rows:
        assert Decimal("0.6") <= share <= Decimal("0.7")
        assert Decimal(0) < gini < Decimal(1)
        assert Decimal(0) <= p50 <= p90 <= Decimal(1)


def test_every_level_of_the_hierarchy_has_concentration(bank: Settings) -> None:
    levels = _rows(
        bank,
        "select c.inst_level, sum(c.client_count) from mart_concentration as c "
        "group by all order by 1",
    )
    totals = dict(levels)
    assert {1, 2, 3} <= set(totals)
    # every client counts once at head-office level and once at branch level
    assert totals[1] == totals[2]


def test_rerunning_a_date_leaves_the_tier_marts_unchanged(bank: Settings) -> None:
    def snapshot() -> dict[str, list[tuple]]:
        return {m: sorted(_rows(bank, f"select * from {m}"), key=repr) for m in TIER_MARTS}

    before = snapshot()
    day = END.isoformat()
    _dbt(
        bank,
        bank.home,
        "run",
        "--select",
        "path:models/intermediate/tiers",
        "path:models/marts/tiers",
        env={"CLIENTMART_RUN_START_DATE": day, "CLIENTMART_RUN_END_DATE": day},
    )
    after = snapshot()
    assert before["mart_client_tier"]
    for mart in TIER_MARTS:
        assert after[mart] == before[mart], mart


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2026-10-01", "2026-10-01", 1),
        ("2026-10-03", "2026-10-03", 1),  # a credit of 09-30 reaches 10-03 (3-day window)
        ("2026-10-04", "2026-10-04", 0),  # no credit of September reaches 10-04
        ("2026-10-20", "2026-10-20", 0),
        ("2026-09-28", "2026-10-20", 0),  # September is in the window itself
    ],
)
def test_the_month_before_is_rebuilt_only_while_its_credits_reach_the_run(
    bank: Settings, first: str, last: str, expected: int
) -> None:
    """int_client_hidden_potential_monthly and mart_client_tier rewrite the month before the
    run's first month only while a credit of that month can have its pass-through window
    (seed hidden_potential_rules, 3 days) reach the run's dates: most nights of a month
    write that month only."""
    env = {
        **os.environ,
        **bank.dbt_env(),
        "CLIENTMART_RUN_START_DATE": first,
        "CLIENTMART_RUN_END_DATE": last,
    }
    shown = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "show",
            "--inline",
            "-- depends_on: {{ ref('hidden_potential_rules') }}\n"
            "select {{ hidden_potential_months_before() }} as months_before",
            "--output",
            "json",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(bank.home / "target_show"),
            "--log-path",
            str(bank.home / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout[-3000:] + shown.stderr[-2000:]
    assert json.loads(shown.stdout)["show"] == [{"months_before": expected}]
