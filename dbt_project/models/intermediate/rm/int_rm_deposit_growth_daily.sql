{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='balance_date'
) }}
{#- Deposit growth per RM and loaded day: the day's balance of the RM's clients minus the
    same clients' previous month-end balance. Clients belong to their current RM
    (dim_client.rm_id) on both dates. Processes only the run window's balance dates. -#}
with daily_balances as (

    select
        balances.balance_date,
        clients.rm_id,
        sum(balances.balance_cny) as deposit_balance_cny
    from {{ ref('fct_deposit_balance_daily') }} as balances
    inner join {{ ref('dim_client') }} as clients
        on balances.client_id = clients.client_id
    where clients.rm_id is not null
      and {{ in_run_window('balances.balance_date') }}
    group by balances.balance_date, clients.rm_id

),

month_ends as (

    select
        monthly.month_start,
        clients.rm_id,
        sum(monthly.month_end_balance_cny) as month_end_balance_cny
    from {{ ref('int_account_balance_monthly') }} as monthly
    inner join {{ ref('dim_client') }} as clients
        on monthly.client_id = clients.client_id
    where clients.rm_id is not null
    group by monthly.month_start, clients.rm_id

),

days as (

    select
        daily_balances.*,
        cast({{ dbt.date_trunc('month', 'daily_balances.balance_date') }} as date) as month_start,
        cast({{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'daily_balances.balance_date')) }} as date)
            as previous_month_start
    from daily_balances

)

select
    days.rm_id,
    days.balance_date,
    days.month_start,
    {{ to_money('days.deposit_balance_cny') }} as deposit_balance_cny,
    {{ to_money('previous_month.month_end_balance_cny') }} as previous_month_end_balance_cny,
    {{ to_money('days.deposit_balance_cny - previous_month.month_end_balance_cny') }} as deposit_growth_cny
from days
left join month_ends as previous_month
    on days.rm_id = previous_month.rm_id
    and days.previous_month_start = previous_month.month_start
