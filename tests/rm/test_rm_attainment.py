"""RM attainment, nine-grid and the working-day calendar on the tiny hand-made bank, against
independent sums."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import rm_bank
from rm_build import BuiltBank

INVESTMENT = {"fund", "wmp", "bond", "precious_metal"}
DEC = dt.date(2026, 12, 1)
LAST_DEC_WORKDAY = dt.date(2026, 12, 31)
DATA_THROUGH = rm_bank.BANK_DATES[-1]


def _expected_order_actuals() -> dict[tuple[str, str], Decimal]:
    """Filled December orders as finally delivered, summed per RM and metric in Python."""
    rm_of_client = {c.client_id: c.rm_id for c in rm_bank.CLIENTS}
    sums: dict[tuple[str, str], Decimal] = Counter()
    for _, day, client, product, rm, side, amount, status in rm_bank.orders_with_corrections():
        if status != "filled" or day.replace(day=1) != DEC:
            continue
        rm = rm or rm_of_client[client]
        category = rm_bank.PRODUCT_CATEGORY[product]
        sums[(rm, "activity_count")] += 1
        if side == "buy" and category in INVESTMENT:
            sums[(rm, "investment_sales")] += Decimal(amount)
        if side == "buy" and category == "insurance":
            sums[(rm, "insurance_premium")] += Decimal(amount)
    for client in rm_bank.CLIENTS:
        if client.open_date.replace(day=1) == DEC:
            sums[(client.rm_id, "new_clients")] += 1
            sums[(client.rm_id, "activity_count")] += 1
    return sums


def test_actuals_per_rm_equal_independent_sum_of_filled_orders(rm_built_bank: BuiltBank) -> None:
    expected = _expected_order_actuals()
    actual = {
        (rm, metric): value
        for rm, metric, value in rm_built_bank.rows(
            "select rm_id, metric, actual_cum_value from mart_rm_attainment "
            "where attainment_level = 'rm' and calendar_date = ? and metric <> 'deposit_growth'",
            [LAST_DEC_WORKDAY],
        )
    }
    targeted = {key: expected.get(key, Decimal(0)) for key in actual}
    assert actual == targeted
    # the cancelled order, the order corrected to cancelled and the redemption do not count
    assert actual[("RM01", "investment_sales")] == Decimal("112345.67")
    assert actual[("RM03", "investment_sales")] == Decimal("40000.00")


def test_weekend_activity_counts_on_the_previous_working_day(rm_built_bank: BuiltBank) -> None:
    (friday,) = rm_built_bank.rows(
        "select actual_cum_value from mart_rm_attainment where attainment_level = 'rm' "
        "and rm_id = 'RM01' and metric = 'investment_sales' and calendar_date = '2026-12-04'"
    )
    assert friday[0] == Decimal("100000.00") + Decimal("12345.67")


def test_deposit_growth_is_latest_balance_minus_previous_month_end(
    rm_built_bank: BuiltBank,
) -> None:
    clients = [c for c in rm_bank.CLIENTS if c.rm_id == "RM01"]
    latest = dt.date(2026, 12, 6)  # Friday 4 Dec reports through the weekend's balances
    expected = sum(rm_bank.balance(c, latest) or 0 for c in clients) - sum(
        rm_bank.balance(c, dt.date(2026, 11, 30)) or 0 for c in clients
    )
    (row,) = rm_built_bank.rows(
        "select actual_cum_value from mart_rm_attainment where attainment_level = 'rm' "
        "and rm_id = 'RM01' and metric = 'deposit_growth' and calendar_date = '2026-12-04'"
    )
    assert row[0] == Decimal(expected)


def test_corrected_target_wins_and_months_without_targets_are_reported(
    rm_built_bank: BuiltBank,
) -> None:
    targets = rm_built_bank.rows(
        "select distinct target_value from mart_rm_attainment where attainment_level = 'rm' "
        "and rm_id = 'RM02' and metric = 'investment_sales'"
    )
    assert targets == [(Decimal("1200000.00"),)]
    months = rm_built_bank.rows("select distinct month_start from mart_rm_attainment")
    assert months == [(DEC,)]
    assert "no RM targets delivered for month(s) 2026-11-01, 2027-01-01" in (
        rm_built_bank.dbt_output
    )


def test_front_loaded_plan_reproduces_the_worked_example_on_the_real_calendar(
    rm_built_bank: BuiltBank,
) -> None:
    weekly = rm_built_bank.rows(
        "select week_of_month, plan_linear_week_value, plan_front_loaded_week_value "
        "from int_rm_plan_weekly where rm_id = 'RM01' and metric = 'investment_sales' "
        "order by week_of_month"
    )
    assert weekly == [
        (1, Decimal("572500.00"), Decimal("1374000.00")),
        (2, Decimal("572500.00"), Decimal("458000.00")),
        (3, Decimal("572500.00"), Decimal("458000.00")),
        (4, Decimal("572500.00"), Decimal("0.00")),
    ]
    daily = dict(
        rm_built_bank.rows(
            "select working_day_of_month, plan_front_loaded_cum_value from mart_rm_attainment "
            "where attainment_level = 'rm' and rm_id = 'RM01' and metric = 'investment_sales'"
        )
    )
    assert (daily[5], daily[10], daily[15]) == (
        Decimal("1374000.00"),
        Decimal("1832000.00"),
        Decimal("2290000.00"),
    )
    assert daily[max(daily)] == Decimal("2290000.00")


def test_rollups_sum_their_rms(rm_built_bank: BuiltBank) -> None:
    rows = rm_built_bank.rows(
        "select attainment_level, entity_code, sum(target_value), sum(actual_cum_value), "
        "sum(weighted_pipeline_value) from mart_rm_attainment "
        "where metric = 'investment_sales' and calendar_date = ? group by 1, 2 order by 1, 2",
        [LAST_DEC_WORKDAY],
    )
    by_entity = {(level, code): rest for level, code, *rest in rows}
    rms = [v for (level, _), v in by_entity.items() if level == "rm"]
    total = [sum(column) for column in zip(*rms, strict=True)]
    assert list(by_entity[("head_office", "HO")]) == total
    assert list(by_entity[("branch", "BR1")]) == total
    # RM03 sits at the branch itself, so the sub-branches hold only RM01 and RM02
    assert by_entity[("sub_branch", "SB1")] == by_entity[("rm", "RM01")]
    assert by_entity[("sub_branch", "SB2")] == by_entity[("rm", "RM02")]


def test_weighted_pipeline_uses_latest_snapshot_on_or_before_the_day(
    rm_built_bank: BuiltBank,
) -> None:
    def weighted(snapshot: dt.date, category: str) -> Decimal:
        return sum(
            (
                Decimal(amount) * rm_bank.STAGE_WEIGHTS[stage]
                for _, rm, _, cat, amount, stage, close, status in rm_bank.PIPELINE[snapshot]
                if rm == "RM01"
                and cat == category
                and status == "open"
                and close <= dt.date(2026, 12, 31)
            ),
            Decimal(0),
        )

    rows = dict(
        rm_built_bank.rows(
            "select calendar_date, weighted_pipeline_value from mart_rm_attainment "
            "where attainment_level = 'rm' and rm_id = 'RM01' and metric = 'investment_sales' "
            "and calendar_date in ('2026-12-01', '2026-12-02', '2026-12-04')"
        )
    )
    assert rows[dt.date(2026, 12, 1)] == weighted(dt.date(2026, 12, 1), "fund")
    assert rows[dt.date(2026, 12, 2)] == weighted(dt.date(2026, 12, 1), "fund")
    assert rows[dt.date(2026, 12, 4)] == weighted(dt.date(2026, 12, 3), "fund")


def _band(familiarity: int) -> str:
    return "low_0_3" if familiarity < 3 else "mid_3_6" if familiarity < 6 else "high_6_9"


def test_nine_grid_cells_equal_the_contact_logs_latest_state(rm_built_bank: BuiltBank) -> None:
    rm_of_client = {c.client_id: c.rm_id for c in rm_bank.CLIENTS}
    latest: dict[tuple[str, str], tuple] = {}
    for _, rm, client, day, familiarity, attitude in rm_bank.CONTACTS:
        if rm_of_client.get(client) != rm:
            continue
        if (rm, client) not in latest or day >= latest[(rm, client)][0]:
            latest[(rm, client)] = (day, familiarity, attitude)
    expected = Counter((rm, _band(f), a) for (rm, _), (_, f, a) in latest.items())
    rows = rm_built_bank.rows(
        "select rm_id, familiarity_band, attitude, max(cell_client_count), count(*) "
        "from mart_rm_nine_grid group by 1, 2, 3"
    )
    assert {(rm, b, a): n for rm, b, a, n, _ in rows} == dict(expected)
    assert all(n == count for *_, n, count in rows)


def test_nine_grid_lists_familiar_clients_first_when_behind(rm_built_bank: BuiltBank) -> None:
    rows = rm_built_bank.rows(
        "select client_id, familiarity_band, is_rm_behind_plan, name_masked, age_years "
        "from mart_rm_nine_grid where rm_id = 'RM01' order by list_rank"
    )
    assert all(behind for _, _, behind, _, _ in rows)
    assert [band for _, band, *_ in rows] == ["high_6_9", "high_6_9", "mid_3_6", "low_0_3"]
    assert all("Client" not in name for *_, name, _ in rows)
    ages = {client: age for client, _, _, _, age in rows}
    assert ages["C001"] == 46  # born 1980-12-15, as of 2027-01-05


def test_pre_month_pipeline_goals(rm_built_bank: BuiltBank) -> None:
    rows = {
        checkpoint: rest
        for checkpoint, *rest in rm_built_bank.rows(
            "select checkpoint, checkpoint_date, goal_min_value, goal_max_value, "
            "secured_pipeline_value, goal_status from mart_rm_pipeline_goals "
            "where rm_id = 'RM01' and metric = 'investment_sales' and month_start = ?",
            [DEC],
        )
    }
    # Week 3 of November 2026 ends on its 15th working day; no snapshot existed by then.
    assert rows["end_of_week_3"] == [
        dt.date(2026, 11, 20),
        Decimal("229000.00"),
        Decimal("458000.00"),
        None,
        None,
    ]
    secured = Decimal("300000") * rm_bank.STAGE_WEIGHTS["committed"]  # P6 closes in November
    assert rows["end_of_week_4"] == [
        dt.date(2026, 11, 30),
        Decimal("458000.00"),
        Decimal("1145000.00"),
        secured,
        "below_goal",
    ]


def test_count_metrics_have_no_pipeline(rm_built_bank: BuiltBank) -> None:
    """A pipeline deal is an amount of a product category, so it can secure no count
    (new_clients, activity_count): those targets had pipeline goals that were always
    below_goal and a coverage of 0 on every day, which read as an RM failing at them."""
    goals = rm_built_bank.rows(
        "select metric, count(*) from mart_rm_pipeline_goals where month_start = ? "
        "group by metric order by metric",
        [DEC],
    )
    assert [metric for metric, _ in goals] == [
        "deposit_growth",
        "insurance_premium",
        "investment_sales",
    ]
    pipeline = {
        metric: rest
        for metric, *rest in rm_built_bank.rows(
            "select metric, count(*), count(weighted_pipeline_value), "
            "count(pipeline_gap_coverage_rate) from mart_rm_attainment "
            "where month_start = ? group by metric",
            [DEC],
        )
    }
    for metric in ("new_clients", "activity_count"):
        days, with_pipeline, with_coverage = pipeline[metric]
        assert (days > 0, with_pipeline, with_coverage) == (True, 0, 0), metric
    days, with_pipeline, _ = pipeline["investment_sales"]
    assert with_pipeline == days > 0


def test_rm_dbt_unit_tests_ran_and_passed(rm_built_bank: BuiltBank) -> None:
    for name in (
        "int_rm_plan_weekly::plan_weekly_reproduces_worked_example",
        "int_rm_plan_daily::plan_daily_linear_and_front_loaded_per_working_day",
        "int_calendar::calendar_library_overrides_and_fallback",
        "int_rm_targets::targets_latest_delivery_wins",
        "int_rm_activity_daily::activity_counts_only_filled_orders_as_last_delivered",
        "mart_rm_attainment::attainment_status_gap_coverage_and_rollup",
    ):
        assert f"PASS {name}" in rm_built_bank.dbt_output, name


def test_int_calendar_october_2025(rm_built_bank: BuiltBank) -> None:
    rows = {
        day: (workday, makeup, holiday, fallback)
        for day, workday, makeup, holiday, fallback in rm_built_bank.rows(
            "select calendar_date, is_workday, is_makeup_workday, holiday_name, "
            "is_calendar_fallback from int_calendar "
            "where calendar_date between '2025-09-27' and '2025-10-12'"
        )
    }
    for day in range(1, 9):
        workday, _, holiday, fallback = rows[dt.date(2025, 10, day)]
        assert not workday and holiday and not fallback
    assert rows[dt.date(2025, 9, 28)][:2] == (True, True)
    assert rows[dt.date(2025, 10, 11)][:2] == (True, True)
    assert rows[dt.date(2025, 10, 12)][0] is False
    (first,) = rm_built_bank.rows(
        "select working_day_of_month, week_of_month from int_calendar "
        "where calendar_date = '2025-10-09'"
    )
    assert first == (1, 1)


def test_year_beyond_the_library_falls_back_to_weekdays_with_a_warning(
    rm_built_bank: BuiltBank,
) -> None:
    rows = rm_built_bank.rows(
        "select calendar_date, is_workday, is_calendar_fallback from int_calendar "
        "where calendar_date >= '2027-01-01' order by calendar_date"
    )
    assert rows and rows[-1][0] == dt.date(2027, 1, 31)
    assert all(fallback for _, _, fallback in rows)
    assert all(workday == (day.weekday() < 5) for day, workday, _ in rows)
    assert "outside the chinese-calendar seed coverage" in rm_built_bank.dbt_output


def test_point_in_time_joins_run_as_hash_joins(rm_built_bank: BuiltBank) -> None:
    """The models that join a client's record in force on a day (macro in_force) must not
    make DuckDB fall back to a nested-loop join: an OR in an outer join's condition did, and
    the 1M-client RM activity then took a minute a night, growing with the month's orders."""
    compiled = rm_built_bank.warehouse.parents[1] / "dbt_target" / "compiled" / "clientmart"
    models = {
        "int_rm_activity_daily": "models/intermediate/rm/int_rm_activity_daily.sql",
        "int_rm_deposit_growth_daily": "models/intermediate/rm/int_rm_deposit_growth_daily.sql",
    }
    for name, path in models.items():
        sql = (compiled / path).read_text(encoding="utf-8")
        plan = "\n".join(row[1] for row in rm_built_bank.rows("EXPLAIN " + sql))
        assert "NL_JOIN" not in plan and "NESTED_LOOP" not in plan, f"{name}:\n{plan}"
