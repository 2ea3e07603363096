/* depends_on: {{ ref('int_rm_late_months') }} */
{%- set trade_month = 'cast(' ~ dbt.date_trunc('month', 'trade_date') ~ ' as date)' %}
{%- set open_month = 'cast(' ~ dbt.date_trunc('month', 'clients.open_date') ~ ' as date)' %}
{#- Flow metrics per RM and day. Orders: the latest delivery of an order_id wins, so an order
    re-delivered as cancelled drops out; cancelled orders never count. The selling RM is the
    order's rm_id, else the client's RM on the trade date (int_client_history), else (the
    client was delivered after the trade) its acquiring RM. A new client counts, on its open
    date, for its acquiring RM: the RM of its first record that names one among the records
    delivered by the end of the month after its opening (or, for a client delivered after
    that, after its first delivery): a client is often opened first and given an RM some
    days later (macro rm_acquiring_record). Neither follows a later reassignment, so a day
    reads the same whether its night or a later backfill wrote it, and a month's new clients
    are settled once the month after it is over. Incremental by month (macro
    rm_months_to_rebuild): a run reads every delivery of the orders traded in the months it
    rebuilds, and the clients opened in them. -#}
with client_records as (

    select
        history.client_id,
        history.rm_id,
        history.record_number,
        history.valid_from,
        clients.open_date,
        min(history.valid_from) over (partition by history.client_id) as first_delivered_date
    from {{ ref('int_client_history') }} as history
    inner join {{ ref('dim_client') }} as clients on history.client_id = clients.client_id

),

acquiring_rms as (

    select client_id, rm_id
    from (
        select
            client_id,
            rm_id,
            row_number() over (
                partition by client_id
                order by case when rm_id = 'UNKNOWN' then 1 else 0 end, record_number
            ) as preference
        from client_records
        where {{ rm_acquiring_record('valid_from', 'open_date', 'first_delivered_date') }}
    ) as records
    where preference = 1

),

order_deliveries as (

    select
        order_id,
        trade_date,
        client_id,
        product_code,
        rm_id,
        side,
        amount_cny,
        status,
        row_number() over (
            partition by order_id
            order by business_date desc, _source_file desc, _source_line desc
        ) as delivery_rank
    from {{ ref('stg_wealth__orders') }}
    {%- if is_incremental() %}
    where order_id in (
        select order_id
        from {{ ref('stg_wealth__orders') }}
        where {{ rm_months_to_rebuild(trade_month) }}
    )
    {%- endif %}

),

filled_orders as (

    select
        order_deliveries.order_id,
        order_deliveries.trade_date,
        coalesce(order_deliveries.rm_id, on_trade_date.rm_id, acquiring.rm_id) as rm_id,
        order_deliveries.side,
        order_deliveries.amount_cny,
        categories.metric as product_metric
    from order_deliveries
    left join {{ ref('int_client_history') }} as on_trade_date
        on order_deliveries.client_id = on_trade_date.client_id
        and {{ in_force('on_trade_date', 'order_deliveries.trade_date') }}
    left join acquiring_rms as acquiring
        on order_deliveries.client_id = acquiring.client_id
    left join {{ ref('dim_product') }} as products
        on order_deliveries.product_code = products.product_code
    left join {{ ref('rm_metric_product_categories') }} as categories
        on products.product_category = categories.product_category
    where order_deliveries.delivery_rank = 1
      and order_deliveries.status = 'filled'
      and {{ rm_months_to_rebuild(trade_month) }}

),

order_metrics as (

    select rm_id, trade_date as activity_date, product_metric as metric, amount_cny as metric_value
    from filled_orders
    where side = 'buy'
      and product_metric in ('investment_sales', 'insurance_premium')

    union all

    select rm_id, trade_date as activity_date, 'activity_count' as metric, 1 as metric_value
    from filled_orders

),

opened_clients as (

    select acquiring.rm_id, clients.open_date
    from {{ ref('dim_client') }} as clients
    inner join acquiring_rms as acquiring on clients.client_id = acquiring.client_id
    where {{ rm_months_to_rebuild(open_month) }}

),

new_clients as (

    select rm_id, open_date as activity_date, 'new_clients' as metric, 1 as metric_value
    from opened_clients

    union all

    select rm_id, open_date as activity_date, 'activity_count' as metric, 1 as metric_value
    from opened_clients

),

all_metrics as (

    select * from order_metrics
    union all
    select * from new_clients

)

select
    rm_id,
    metric,
    activity_date,
    cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start,
    {{ to_money('sum(metric_value)') }} as metric_value
from all_metrics
where rm_id is not null
group by rm_id, metric, activity_date
