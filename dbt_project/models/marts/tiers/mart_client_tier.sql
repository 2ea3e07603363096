{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start',
        on_schema_change='fail'
    )
}}

{#- Incremental: the run window's months, and the month before while its credits' pass-through
    windows can reach the run's dates (macros/tiers/tier_windows.sql). -#}
{%- set months_before = hidden_potential_months_before() if is_incremental() else 0 %}
-- depends_on: {{ ref('hidden_potential_rules') }}

with

tiers as (
    select *
    from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

hidden as (
    select *
    from {{ ref('int_client_hidden_potential_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

grades as (
    select *
    from {{ ref('int_corporate_grade_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

corporate_assets as (
    select client_id, month_start, inst_code, rm_id, total_month_end_cny, total_daily_avg_cny, is_month_complete
    from {{ ref('int_client_assets_monthly') }}
    where client_type = 'C'
    {% if is_incremental() %}
        and {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

-- each client as it stood on the month's last loaded day (a graded corporate without assets)
clients as (
    select client_id, month_start, inst_code, rm_id
    from {{ ref('int_client_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

-- the tree of each month
institutions as (
    select month_start, inst_code, branch_code, sub_branch_code
    from {{ ref('int_institution_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

individuals as (
    select
        t.client_id,
        t.month_start,
        'I' as client_type,
        t.inst_code,
        t.rm_id,
        t.rule_set_id,
        t.basis,
        t.assets_basis_cny,
        t.total_month_end_cny,
        t.total_daily_avg_cny,
        t.computed_tier,
        t.final_tier,
        t.final_tier_rank,
        t.tier_group,
        t.override_source,
        t.override_reason,
        t.override_set_by,
        t.override_valid_until,
        t.next_tier,
        t.next_tier_min_assets_cny,
        t.is_near_next_tier,
        h.utility_autopay_cny,
        h.payroll_pension_credit_cny,
        h.quick_outflow_ratio,
        coalesce(h.is_utility_autopay_potential, false) as is_utility_autopay_potential,
        coalesce(h.is_payroll_passthrough_potential, false) as is_payroll_passthrough_potential,
        coalesce(h.is_near_threshold_potential, false) as is_near_threshold_potential,
        coalesce(h.has_hidden_potential, false) as has_hidden_potential,
        cast(null as {{ dbt.type_string() }}) as corporate_grade,
        cast(null as decimal(24, 2)) as settlement_amount_cny,
        cast(null as {{ dbt.type_string() }}) as settlement_band,
        cast(null as decimal(24, 2)) as loan_month_end_cny,
        cast(null as {{ dbt.type_string() }}) as loan_balance_band,
        t.is_month_complete
    from tiers as t
    left join hidden as h on h.client_id = t.client_id and h.month_start = t.month_start
),

corporates as (
    select
        g.client_id,
        g.month_start,
        'C' as client_type,
        coalesce(ca.inst_code, dc.inst_code, 'UNKNOWN') as inst_code,
        coalesce(ca.rm_id, dc.rm_id) as rm_id,
        cast(null as {{ dbt.type_string() }}) as rule_set_id,
        cast(null as {{ dbt.type_string() }}) as basis,
        cast(null as decimal(24, 2)) as assets_basis_cny,
        {{ to_money('coalesce(ca.total_month_end_cny, 0)') }} as total_month_end_cny,
        {{ to_money('coalesce(ca.total_daily_avg_cny, 0)') }} as total_daily_avg_cny,
        cast(null as {{ dbt.type_string() }}) as computed_tier,
        cast(null as {{ dbt.type_string() }}) as final_tier,
        cast(null as integer) as final_tier_rank,
        cast(null as {{ dbt.type_string() }}) as tier_group,
        'none' as override_source,
        cast(null as {{ dbt.type_string() }}) as override_reason,
        cast(null as {{ dbt.type_string() }}) as override_set_by,
        cast(null as date) as override_valid_until,
        cast(null as {{ dbt.type_string() }}) as next_tier,
        cast(null as decimal(24, 2)) as next_tier_min_assets_cny,
        false as is_near_next_tier,
        cast(null as decimal(24, 2)) as utility_autopay_cny,
        cast(null as decimal(24, 2)) as payroll_pension_credit_cny,
        cast(null as decimal(24, 6)) as quick_outflow_ratio,
        false as is_utility_autopay_potential,
        false as is_payroll_passthrough_potential,
        false as is_near_threshold_potential,
        false as has_hidden_potential,
        g.grade as corporate_grade,
        {{ to_money('g.settlement_amount_cny') }} as settlement_amount_cny,
        g.settlement_band,
        {{ to_money('g.loan_month_end_cny') }} as loan_month_end_cny,
        g.loan_balance_band,
        coalesce(ca.is_month_complete, false) as is_month_complete
    from grades as g
    left join corporate_assets as ca on ca.client_id = g.client_id and ca.month_start = g.month_start
    left join clients as dc on dc.client_id = g.client_id and dc.month_start = g.month_start
),

unioned as (
    select * from individuals
    union all
    select * from corporates
)

select
    u.client_id,
    u.month_start,
    u.client_type,
    u.inst_code,
    i.branch_code,
    i.sub_branch_code,
    u.rm_id,
    u.rule_set_id,
    u.basis,
    u.assets_basis_cny,
    u.total_month_end_cny,
    u.total_daily_avg_cny,
    u.computed_tier,
    u.final_tier,
    u.final_tier_rank,
    u.tier_group,
    coalesce(u.final_tier <> u.computed_tier, false) as is_tier_overridden,
    u.override_source,
    u.override_reason,
    u.override_set_by,
    u.override_valid_until,
    u.next_tier,
    u.next_tier_min_assets_cny,
    u.is_near_next_tier,
    u.utility_autopay_cny,
    u.payroll_pension_credit_cny,
    u.quick_outflow_ratio,
    u.is_utility_autopay_potential,
    u.is_payroll_passthrough_potential,
    u.is_near_threshold_potential,
    u.has_hidden_potential,
    u.corporate_grade,
    u.settlement_amount_cny,
    u.settlement_band,
    u.loan_month_end_cny,
    u.loan_balance_band,
    u.is_month_complete
from unioned as u
left join institutions as i on i.inst_code = u.inst_code and i.month_start = u.month_start
