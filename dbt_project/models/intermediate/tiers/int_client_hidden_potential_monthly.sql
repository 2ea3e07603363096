{#- Incremental: the run window's months, and the month before while its credits' pass-through
    windows can reach the run's dates (macros/tiers/tier_windows.sql). The transactions come
    from int_hidden_potential_txns, which a night extends by its own days: the month's
    transactions are not read again every night. -#}
{%- set months_before = hidden_potential_months_before() if is_incremental() else 0 %}

with

tiers as (
    select client_id, month_start, rule_set_id, assets_basis_cny, tier_group, is_near_next_tier
    from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
    {% endif %}
),

-- utility debits and credits with their outflows (one row per window length of the seed)
txns as (
    select client_id, month_start, txn_kind, amount_cny, window_days, outflow_cny
    from {{ ref('int_hidden_potential_txns') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_before=months_before) }}
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
    where txn_kind = 'utility_autopay'
    group by client_id, month_start
),

-- each credit with the outflow over its client's window (the rule set of the client's month)
credit_outflows as (
    select t.client_id, t.month_start, t.amount_cny, t.outflow_cny
    from txns as t
    inner join tiers as ti on ti.client_id = t.client_id and ti.month_start = t.month_start
    inner join {{ ref('hidden_potential_rules') }} as hp
        on hp.rule_set_id = ti.rule_set_id and hp.passthrough_window_days = t.window_days
    where t.txn_kind = 'payroll_pension_credit'
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
        {{ ratio('p.quick_outflow_cny', 'p.payroll_pension_credit_cny') }} as quick_outflow_ratio,
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
