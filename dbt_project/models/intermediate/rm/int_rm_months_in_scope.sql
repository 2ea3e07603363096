{{ config(materialized="view", post_hook="{{ rm_warn_months_without_targets() }}") }}
{#- A view, not a table: it describes the current invocation only, so re-running a date
    leaves every stored table unchanged. The months this invocation processes: months of the run window (vars start_date /
    end_date) that hold loaded deposit balance dates, with whether targets exist for them.
    A month without targets gives no attainment rows; the post-hook says so in the run. -#}
with loaded as (

    select
        min(balance_date) as first_loaded_date,
        max(balance_date) as last_loaded_date
    from {{ ref('fct_deposit_balance_daily') }}
    where {{ in_run_window('balance_date') }}

),

months as (

    select
        calendar.month_start,
        min(calendar.calendar_date) as first_processed_date,
        max(calendar.calendar_date) as last_processed_date
    from {{ ref('int_calendar') }} as calendar
    inner join loaded
        on calendar.calendar_date between loaded.first_loaded_date and loaded.last_loaded_date
    group by calendar.month_start

),

target_months as (

    select month_start, count(*) as target_count
    from {{ ref('int_rm_targets') }}
    group by month_start

)

select
    months.month_start,
    months.first_processed_date,
    months.last_processed_date,
    coalesce(target_months.target_count, 0) as target_count,
    target_months.month_start is not null as has_targets
from months
left join target_months
    on months.month_start = target_months.month_start
