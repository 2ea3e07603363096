{#-
    The settlement of every client (any type) and month so far, kept so that a night reads its
    own transactions and not the month's. int_client_settlement_monthly keeps the corporates'.

    A transaction counts once in its month, as its latest delivery says (a re-delivery may
    correct its type, client or amount). Each month the run window touches is brought up to
    date in one of two ways, as the balance accumulation does (macros/balance_accumulation.sql):

      append     every window date of the month is later than the month's stored last
                 delivery date, and no transaction of the window was delivered before it in
                 the window's months (a night: the next date, nothing corrected): the stored
                 sums plus the window's settlement;
      recompute  anything else (a re-run or a late date, a first build, a transaction
                 delivered again on a later date): the month is summed again from every
                 delivery of its transactions.

    So a night reads the day's transactions, the txn_id of the month's earlier deliveries
    (to find a correction) and one row per client of the open month.
-#}
{%- set transaction_columns -%}
        txn_id,
        client_id,
        txn_type,
        amount_cny,
        cast({{ dbt.date_trunc('month', 'txn_date') }} as date) as month_start,
        business_date,
        _source_file
{%- endset -%}

{%- set plan_inputs -%}
settlement_types as (
    select txn_type from {{ ref('settlement_txn_types') }} where is_settlement
),

window_txns as {{ inline_cte() }} (
    select
        {{ transaction_columns }}
    from {{ ref('stg_core__deposit_transactions') }}
    where {{ in_run_window('business_date') }}
)
{%- if is_incremental() %},

-- transactions of the window delivered before it in the window's months: the stored sums may
-- count an earlier version, so the months are summed again
redelivered as (
    select count(*) as txn_count
    from window_txns
    where txn_id in (
        select txn_id
        from {{ ref('stg_core__deposit_transactions') }}
        where business_date >= {{ run_window_month_start() }}
            and business_date < cast('{{ run_start_date() }}' as date)
    )
)
{%- endif %}
{%- endset -%}
{%- set append_also = '(select txn_count from redelivered) = 0' -%}
{#- the plan decided first (macro decided_month_plan): a night's statement then has no branch
    summing the month again, and does not look for redeliveries a second time -#}
{%- set decided = decided_month_plan(
    'with ' ~ plan_inputs ~ ',\n' ~ month_plan_ctes('window_txns', 'business_date', append_also=append_also),
    [ref('stg_core__deposit_transactions'), ref('settlement_txn_types')]
) -%}

with

{{ plan_inputs }},

{{ month_plan_ctes('window_txns', 'business_date', append_also=append_also, decided=decided) }},

-- a recomputed month: every delivery of its transactions, whether inside the window or not
recompute_txns as {{ inline_cte() }} (
    select t.*
    from (
        select
            {{ transaction_columns }}
        from {{ ref('stg_core__deposit_transactions') }}
        where business_date between {{ run_window_month_start() }} and {{ run_window_month_end() }}
    ) as t
    where {{ in_planned_months('t.month_start', 'recompute', decided) }}
),

-- each transaction of a recomputed month as its latest delivery says
{{ latest_delivery_ctes('recompute_latest', 'recompute_txns', ['txn_id', 'month_start'], ['client_id', 'month_start', 'txn_type', 'amount_cny']) }},

recomputed_progress as (
    select month_start, max(business_date) as last_business_date
    from recompute_txns
    group by month_start
),

{% if is_incremental() %}
-- an appended month: the window's transactions as their latest delivery in the window says
-- (none was delivered before the window), added to the stored sums
append_txns as {{ inline_cte() }} (
    select t.*
    from window_txns as t
    where {{ in_planned_months('t.month_start', 'append', decided) }}
),

{{ latest_delivery_ctes('appended_latest', 'append_txns', ['txn_id', 'month_start'], ['client_id', 'month_start', 'txn_type', 'amount_cny']) }},

-- the stored sums of the appended months
stored as (
    select s.client_id, s.month_start, s.settlement_txn_count, s.settlement_amount_cny
    from {{ this }} as s
    where {{ in_planned_months('s.month_start', 'append', decided) }}
        and s.month_start between {{ run_window_month_start() }} and cast('{{ run_end_date() }}' as date)
),
{% endif %}

-- the settlement of the counted versions: a recomputed month's whole, an appended month's
-- window (the months of the two paths are distinct)
settlement_sums as (
    select
        l.client_id,
        l.month_start,
        count(*) as settlement_txn_count,
        sum(l.amount_cny) as settlement_amount_cny
    from (
        select client_id, month_start, txn_type, amount_cny from recompute_latest
        {%- if is_incremental() %}
        union all
        select client_id, month_start, txn_type, amount_cny from appended_latest
        {%- endif %}
    ) as l
    inner join settlement_types as s on l.txn_type = s.txn_type
    group by l.client_id, l.month_start
),

summed as (
    {%- if is_incremental() %}
    select
        coalesce(n.client_id, s.client_id) as client_id,
        coalesce(n.month_start, s.month_start) as month_start,
        coalesce(s.settlement_txn_count, 0) + coalesce(n.settlement_txn_count, 0) as settlement_txn_count,
        coalesce(s.settlement_amount_cny, 0) + coalesce(n.settlement_amount_cny, 0) as settlement_amount_cny
    from stored as s
    full outer join settlement_sums as n on s.client_id = n.client_id and s.month_start = n.month_start
    {%- else %}
    select client_id, month_start, settlement_txn_count, settlement_amount_cny from settlement_sums
    {%- endif %}
),

month_progress as (
    select
        p.month_start,
        case
            when p.action = 'append' then greatest(p.stored_last_date, p.last_window_date)
            else r.last_business_date
        end as last_business_date
    from plan as p
    left join recomputed_progress as r on p.month_start = r.month_start
)

select
    s.client_id,
    s.month_start,
    cast(s.settlement_txn_count as {{ dbt.type_bigint() }}) as settlement_txn_count,
    cast(s.settlement_amount_cny as decimal(24, 2)) as settlement_amount_cny,
    mp.last_business_date
from summed as s
inner join month_progress as mp on s.month_start = mp.month_start
