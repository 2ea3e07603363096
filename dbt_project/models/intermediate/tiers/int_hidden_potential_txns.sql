{#- The transactions the hidden-potential flags read, kept so that a night reads its own days
    and not the month's: utility autopay debits, and payroll/pension credits with what left
    the client's accounts within each pass-through window length of seed
    hidden_potential_rules. Incremental by transaction date: a run rewrites its dates and
    the longest window before them (their credits' windows reach the run's debits), reading
    the transactions of those days and of the longest window after them
    (macros/tiers/tier_windows.sql). -#}
{{ config(
    unique_key='txn_date',
    pre_hook="{{ hidden_potential_txns_clear() }}",
    meta={'test_window': 'txn_date in_run_window'},
) }}

{%- set follow_dates = hidden_potential_txns_follow_dates() %}
{%- if follow_dates %}
    {%- set first_date = hidden_potential_txns_first_date() %}
    {%- set last_debit_date = "cast(" ~ dbt.dateadd('day', passthrough_reach_days(), "cast('" ~ run_end_date() ~ "' as date)") ~ " as date)" %}
{%- endif %}

with

-- read where used (inline_cte): a first build reads every transaction ever loaded
delivered_txns as {{ inline_cte() }} (
    select client_id, txn_id, txn_date, amount_cny, direction, txn_type, business_date, _source_file
    from {{ ref('stg_core__deposit_transactions') }}
    {% if follow_dates %}
        {#- a record's txn_date is its delivery's business date (ingest rule
            date_matches_delivery): the bound on business_date reads only these days'
            folders of the raw layer -#}
        where business_date between {{ first_date }} and {{ last_debit_date }}
            and txn_date between {{ first_date }} and {{ last_debit_date }}
    {% endif %}
),

-- a transaction delivered in two files (a copy re-sent under another name) counts once, as
-- its latest delivery has it, as in int_client_settlement_state: added twice, it doubled a
-- client's autopay and pass-through sums
{{ latest_delivery_ctes('txns', 'delivered_txns', ['txn_id'], ['client_id', 'txn_id', 'txn_date', 'amount_cny', 'direction', 'txn_type']) }},

-- the transactions the run writes: its dates and the longest window before them
written as {{ inline_cte() }} (
    select * from txns
    {% if follow_dates %}
        where {{ hidden_potential_txns_rewritten('txn_date') }}
    {% endif %}
),

windows as (
    select distinct passthrough_window_days as window_days
    from {{ ref('hidden_potential_rules') }}
    where passthrough_window_days is not null
),

credits as (
    select c.client_id, c.txn_id, c.txn_date, c.amount_cny, w.window_days
    from written as c
    cross join windows as w
    where c.txn_type in ('payroll_credit', 'pension_credit') and c.direction = 'C'
),

-- Per credit and window length: what left the client's accounts from the credit day to
-- `window_days` days after (capped at the credit where the month is summed).
credit_outflows as (
    select
        c.client_id,
        c.txn_id,
        c.txn_date,
        c.amount_cny,
        c.window_days,
        coalesce(sum(d.amount_cny), 0) as outflow_cny
    from credits as c
    left join txns as d
        on d.client_id = c.client_id
        and d.direction = 'D'
        and d.txn_date >= c.txn_date
        and d.txn_date <= cast({{ dbt.dateadd('day', 'c.window_days', 'c.txn_date') }} as date)
    group by c.client_id, c.txn_id, c.txn_date, c.amount_cny, c.window_days
),

rows_kept as (
    select
        client_id,
        txn_id,
        txn_date,
        'payroll_pension_credit' as txn_kind,
        amount_cny,
        window_days,
        outflow_cny
    from credit_outflows
    union all
    select
        client_id,
        txn_id,
        txn_date,
        'utility_autopay' as txn_kind,
        amount_cny,
        cast(null as integer) as window_days,
        cast(null as decimal(24, 2)) as outflow_cny
    from written
    where txn_type = 'utility_autopay' and direction = 'D'
)

select
    client_id,
    cast({{ dbt.date_trunc('month', 'txn_date') }} as date) as month_start,
    txn_date,
    txn_id,
    txn_kind,
    cast(amount_cny as decimal(24, 2)) as amount_cny,
    cast(window_days as integer) as window_days,
    cast(outflow_cny as decimal(24, 2)) as outflow_cny
from rows_kept
