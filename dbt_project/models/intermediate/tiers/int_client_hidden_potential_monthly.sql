{#- Incremental: the run window's months, and the month before while its credits' pass-through
    windows can reach the run's dates (macros/tiers/tier_windows.sql). -#}
{%- set months_before = hidden_potential_months_before() if is_incremental() else 0 %}

with

tiers as (
    select client_id, month_start, rule_set_id, assets_basis_cny, tier_group, is_near_next_tier
    from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

txns as (
    select
        client_id,
        txn_id,
        txn_date,
        cast({{ dbt.date_trunc('month', 'txn_date') }} as date) as month_start,
        amount_cny,
        direction,
        txn_type
    from {{ ref('stg_core__deposit_transactions') }}
    {% if is_incremental() %}
        {#- a record's txn_date is its delivery's business date (ingest rule
            date_matches_delivery): the bound on business_date skips the raw layer's folders
            of earlier dates instead of reading every day ever loaded -#}
        where business_date >= cast({{ dbt.dateadd('month', -months_before, run_window_month_start()) }} as date)
            and txn_date >= cast({{ dbt.dateadd('month', -months_before, run_window_month_start()) }} as date)
    {% endif %}
),

-- Deposit accounts with a balance in the month: the utility flag is for single-passbook clients.
deposit_accounts as (
    select client_id, month_start, count(*) as deposit_account_count
    from {{ ref('int_account_balance_monthly') }}
    where days_with_balance > 0
    {% if is_incremental() %}
        and {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
    group by client_id, month_start
),

utility as (
    select client_id, month_start, sum(amount_cny) as utility_autopay_cny
    from txns
    where txn_type = 'utility_autopay' and direction = 'D'
    group by client_id, month_start
),

credits as (
    select t.client_id, t.month_start, t.txn_id, t.txn_date, t.amount_cny, hp.passthrough_window_days
    from txns as t
    inner join tiers as ti on ti.client_id = t.client_id and ti.month_start = t.month_start
    inner join {{ ref('hidden_potential_rules') }} as hp on hp.rule_set_id = ti.rule_set_id
    where t.txn_type in ('payroll_credit', 'pension_credit') and t.direction = 'C'
),

-- Per credit: what left the client's accounts from the credit day to `window` days after,
-- capped at the credit itself.
credit_outflows as (
    select
        c.client_id,
        c.month_start,
        c.txn_id,
        c.amount_cny,
        coalesce(sum(d.amount_cny), 0) as outflow_cny
    from credits as c
    left join txns as d
        on d.client_id = c.client_id
        and d.direction = 'D'
        and d.txn_date >= c.txn_date
        and d.txn_date <= cast({{ dbt.dateadd('day', 'c.passthrough_window_days', 'c.txn_date') }} as date)
    group by c.client_id, c.month_start, c.txn_id, c.amount_cny
),

passthrough as (
    select
        client_id,
        month_start,
        sum(amount_cny) as payroll_pension_credit_cny,
        sum(case when outflow_cny < amount_cny then outflow_cny else amount_cny end) as quick_outflow_cny
    from credit_outflows
    group by client_id, month_start
),

final as (
    select
        ti.client_id,
        ti.month_start,
        {{ to_money('coalesce(u.utility_autopay_cny, 0)') }} as utility_autopay_cny,
        cast(coalesce(a.deposit_account_count, 0) as integer) as deposit_account_count,
        {{ to_money('coalesce(p.payroll_pension_credit_cny, 0)') }} as payroll_pension_credit_cny,
        {{ to_money('coalesce(p.quick_outflow_cny, 0)') }} as quick_outflow_cny,
        {{ tiers_ratio('p.quick_outflow_cny', 'p.payroll_pension_credit_cny') }} as quick_outflow_ratio,
        coalesce(
            ti.tier_group = 'mass'
            and u.utility_autopay_cny >= hp.utility_min_monthly_autopay_cny
            and ti.assets_basis_cny < hp.utility_max_assets_cny
            and coalesce(a.deposit_account_count, 0) <= hp.utility_max_deposit_accounts,
            false
        ) as is_utility_autopay_potential,
        coalesce(
            ti.tier_group = 'mass'
            and p.payroll_pension_credit_cny > 0
            and p.quick_outflow_cny >= p.payroll_pension_credit_cny * hp.passthrough_min_outflow_ratio,
            false
        ) as is_payroll_passthrough_potential,
        ti.tier_group = 'mass' and ti.is_near_next_tier as is_near_threshold_potential
    from tiers as ti
    left join {{ ref('hidden_potential_rules') }} as hp on hp.rule_set_id = ti.rule_set_id
    left join utility as u on u.client_id = ti.client_id and u.month_start = ti.month_start
    left join deposit_accounts as a on a.client_id = ti.client_id and a.month_start = ti.month_start
    left join passthrough as p on p.client_id = ti.client_id and p.month_start = ti.month_start
)

select
    *,
    is_utility_autopay_potential
    or is_payroll_passthrough_potential
    or is_near_threshold_potential as has_hidden_potential
from final
