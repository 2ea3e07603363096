{{ config(materialized="view") }}
{#- The months before the run window's first month that a delivery in the window changes,
    for the RM month models (macro rm_months_to_rebuild). A view: it describes the current
    invocation only. A month is here when the window delivered
    - a target for it (a late or corrected target);
    - an order traded in it, or a new delivery of an order once traded in it (a late order,
      one re-delivered as cancelled, or with its trade date corrected);
    - a clients record of a client opened in it (new clients count on their open date, for
      their acquiring RM), or of a client with an order traded in it that names no selling
      RM (such an order falls back on the client's record, or its acquiring RM).
    Reads the window's deliveries and, for the orders and clients they name, their earlier
    deliveries; never a whole feed's history by date. -#}
with window_targets as (

    select month_start
    from {{ ref('stg_crm__rm_targets') }}
    where {{ in_run_window('business_date') }}

),

window_orders as (

    select distinct order_id
    from {{ ref('stg_wealth__orders') }}
    where {{ in_run_window('business_date') }}

),

window_clients as (

    select distinct client_id
    from {{ ref('stg_core__clients') }}
    where {{ in_run_window('business_date') }}

),

changed_months as (

    select month_start from window_targets

    union all

    select cast({{ dbt.date_trunc('month', 'orders.trade_date') }} as date) as month_start
    from {{ ref('stg_wealth__orders') }} as orders
    inner join window_orders on orders.order_id = window_orders.order_id

    union all

    select cast({{ dbt.date_trunc('month', 'clients.open_date') }} as date) as month_start
    from {{ ref('stg_core__clients') }} as clients
    inner join window_clients on clients.client_id = window_clients.client_id

    union all

    select cast({{ dbt.date_trunc('month', 'orders.trade_date') }} as date) as month_start
    from {{ ref('stg_wealth__orders') }} as orders
    inner join window_clients on orders.client_id = window_clients.client_id
    where orders.rm_id is null

)

select distinct month_start
from changed_months
where month_start < {{ run_window_month_start() }}
