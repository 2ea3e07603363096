{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='balance_date'
) }}
{#- Deposit growth per RM and loaded day: the day's balance of the RM's clients minus the
    same clients' previous month-end balance. A client belongs, on both figures, to the RM
    of its int_client_history record in force on the day (its latest clients record on or
    before the day; no RM reads UNKNOWN), so a day written by its nightly run and the same
    day written by a backfill range attribute alike, whatever reassignment came later.
    Processes only the run window's balance dates. -#}
with balances as (

    select balance_date, client_id, balance_cny
    from {{ ref('fct_deposit_balance_daily') }}
    where {{ in_run_window('balance_date') }}

),

days as (

    select distinct
        balance_date,
        cast({{ dbt.date_trunc('month', 'balance_date') }} as date) as month_start,
        cast({{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'balance_date')) }} as date)
            as previous_month_start
    from balances

),

daily_balances as (

    select
        balances.balance_date,
        clients.rm_id,
        sum(balances.balance_cny) as deposit_balance_cny
    from balances
    inner join {{ ref('int_client_history') }} as clients
        on balances.client_id = clients.client_id
        and {{ in_force('clients', 'balances.balance_date') }}
    group by balances.balance_date, clients.rm_id

),

client_month_ends as (

    select monthly.client_id, monthly.month_start, sum(monthly.month_end_balance_cny) as month_end_balance_cny
    from {{ ref('int_account_balance_monthly') }} as monthly
    where monthly.month_start in (select previous_month_start from days)
      -- the same months as a constant range, so the scan skips the other months' row groups
      and {{ months_in_run_window('monthly.month_start', months_after=-1, months_before=1) }}
    group by monthly.client_id, monthly.month_start

),

-- the previous month-end balance of the clients each RM has on each day
previous_month_ends as (

    select
        days.balance_date,
        clients.rm_id,
        sum(month_ends.month_end_balance_cny) as month_end_balance_cny
    from days
    inner join client_month_ends as month_ends on month_ends.month_start = days.previous_month_start
    inner join {{ ref('int_client_history') }} as clients
        on month_ends.client_id = clients.client_id
        and {{ in_force('clients', 'days.balance_date') }}
    group by days.balance_date, clients.rm_id

)

select
    daily_balances.rm_id,
    daily_balances.balance_date,
    days.month_start,
    {{ to_money('daily_balances.deposit_balance_cny') }} as deposit_balance_cny,
    {{ to_money('previous_month.month_end_balance_cny') }} as previous_month_end_balance_cny,
    {{ to_money('daily_balances.deposit_balance_cny - previous_month.month_end_balance_cny') }} as deposit_growth_cny
from daily_balances
inner join days on daily_balances.balance_date = days.balance_date
left join previous_month_ends as previous_month
    on daily_balances.rm_id = previous_month.rm_id
    and daily_balances.balance_date = previous_month.balance_date
