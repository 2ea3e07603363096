{{ config(materialized='table') }}

with days as (
    {{ date_series(var('calendar_start', '2015-01-01'), var('calendar_end', '2035-12-31')) }}
),

parts as (
    select
        calendar_date,
        cast({{ dbt.date_trunc('month', 'calendar_date') }} as date) as month_start,
        cast({{ dbt.date_trunc('quarter', 'calendar_date') }} as date) as quarter_start,
        cast({{ dbt.date_trunc('year', 'calendar_date') }} as date) as year_start,
        cast({{ date_part_int('year', 'calendar_date') }} as integer) as calendar_year,
        cast({{ date_part_int('quarter', 'calendar_date') }} as integer) as calendar_quarter,
        cast({{ date_part_int('month', 'calendar_date') }} as integer) as calendar_month,
        cast({{ date_part_int('day', 'calendar_date') }} as integer) as day_of_month
    from days
)

select
    calendar_date,
    month_start,
    quarter_start,
    year_start,
    calendar_year,
    calendar_quarter,
    calendar_month,
    day_of_month,
    cast({{ dbt.datediff('month_start', dbt.dateadd('month', 1, 'month_start'), 'day') }} as integer) as days_in_month,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as month_end_date,
    calendar_date = cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as is_month_end
from parts
