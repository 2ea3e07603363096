{{ config(materialized="table") }}
{#- The months before the run window's first month that a delivery in the window changes,
    for the RM month models (macro rm_months_to_rebuild). A month is here when the window
    delivered
    - a target for it (a late or corrected target);
    - an order traded in it, or a new delivery of an order once traded in it (a late order,
      one re-delivered as cancelled, or with its trade date corrected);
    - a clients record that may change the client's new-client count (its open date and
      acquiring RM: its first record, a corrected open date, or a first record naming an RM
      while one can still be named, macro rm_acquiring_record) for a client opened in it, or
      with an order traded in it that names no selling RM (such an order falls back on the
      client's acquiring RM). A changed address or RM of a client who had an acquiring RM
      changes no past month.
    Reads the window's deliveries and, for the orders and clients they name, their earlier
    deliveries; never a whole feed's history by date. A table (a few rows), so the models
    that read it several times do not re-read the raw layer each time; rebuilt every run. -#}
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

-- every record of those clients: open date, whether it names an RM, delivered before the window
client_records as (

    select
        clients.client_id,
        clients.open_date,
        clients.business_date,
        coalesce(clients.rm_id, 'UNKNOWN') <> 'UNKNOWN' as names_rm,
        clients.business_date < cast('{{ run_start_date() }}' as date) as is_before_window
    from {{ ref('stg_core__clients') }} as clients
    inner join window_clients on clients.client_id = window_clients.client_id

),

-- clients whose new-client count (open date, acquiring RM) the window may change: first
-- delivered in it, a corrected open date, or an RM named for the first time while an
-- acquiring RM can still be named (by the end of the month after the opening, or after the
-- first delivery when later: macro rm_acquiring_record). A changed address or RM of a
-- client who had an acquiring RM changes no past month.
recounted_clients as (

    select client_id
    from client_records
    group by client_id
    having sum(case when is_before_window then 1 else 0 end) = 0
        or count(distinct open_date) > 1
        or (
            greatest(max(open_date), min(business_date))
                >= cast({{ dbt.dateadd('month', -var('rm_acquiring_months_after_open', 1), run_window_month_start()) }} as date)
            and sum(case when is_before_window and names_rm then 1 else 0 end) = 0
            and sum(case when names_rm then 1 else 0 end) > 0
        )

),

changed_months as (

    select month_start from window_targets

    union all

    select cast({{ dbt.date_trunc('month', 'orders.trade_date') }} as date) as month_start
    from {{ ref('stg_wealth__orders') }} as orders
    inner join window_orders on orders.order_id = window_orders.order_id

    union all

    select cast({{ dbt.date_trunc('month', 'client_records.open_date') }} as date) as month_start
    from client_records
    inner join recounted_clients on client_records.client_id = recounted_clients.client_id

    union all

    select cast({{ dbt.date_trunc('month', 'orders.trade_date') }} as date) as month_start
    from {{ ref('stg_wealth__orders') }} as orders
    inner join recounted_clients on orders.client_id = recounted_clients.client_id
    where orders.rm_id is null

)

select distinct month_start
from changed_months
where month_start < {{ run_window_month_start() }}
