with month_transactions as (
    select
        txn_id,
        client_id,
        txn_type,
        amount_cny,
        cast({{ dbt.date_trunc('month', 'txn_date') }} as date) as month_start,
        business_date,
        _source_file
    from {{ ref('stg_core__deposit_transactions') }}
    -- the whole of every month the window touches: its settlement is re-summed from its own days
    where business_date between {{ run_window_month_start() }}
        and cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', "cast('" ~ run_end_date() ~ "' as date)"))) }} as date)
),

settlement_types as (
    select txn_type from {{ ref('settlement_txn_types') }} where is_settlement
),

-- corporates as they stood on the month's last loaded day
corporate_clients as (
    select client_id, month_start from {{ ref('int_client_monthly') }}
    where client_type = 'C'
    {% if is_incremental() %}and {{ months_in_run_window('month_start') }}{% endif %}
),

-- a transaction counts as its latest delivery says (a re-delivery may correct its type, client
-- or date); only transactions with some version that is a corporate's settlement can count, so
-- the versions ranked are theirs (about 6% of the month's rows, not every row)
candidates as (
    select t.txn_id
    from month_transactions as t
    inner join settlement_types as s on t.txn_type = s.txn_type
    inner join corporate_clients as c on t.client_id = c.client_id and t.month_start = c.month_start
),

latest as (
    select
        client_id,
        txn_type,
        amount_cny,
        month_start,
        row_number() over (partition by txn_id order by business_date desc, _source_file desc) as recency
    from month_transactions
    where txn_id in (select txn_id from candidates)
)

select
    t.client_id,
    t.month_start,
    count(*) as settlement_txn_count,
    cast(sum(t.amount_cny) as decimal(24, 2)) as settlement_amount_cny
from latest as t
inner join settlement_types as s on t.txn_type = s.txn_type
inner join corporate_clients as c on t.client_id = c.client_id and t.month_start = c.month_start
where t.recency = 1
group by t.client_id, t.month_start
