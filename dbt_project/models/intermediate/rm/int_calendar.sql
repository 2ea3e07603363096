{{ config(post_hook="{{ rm_warn_calendar_fallback() }}") }}
{#- Working-day calendar: library seed + local overrides, Monday-Friday fallback outside
    the seed's coverage. Weeks of a month count working days (see the YAML). -#}
{%- set default_start = '1900-01-01' -%}
{%- set default_end = '2999-12-31' -%}
{%- set days_per_week = var('rm_working_days_per_week', 5) -%}
{%- set weeks_per_month = var('rm_weeks_per_month', 4) -%}

with library_calendar as (

    select
        cast(calendar_date as date) as calendar_date,
        cast(is_workday as boolean) as is_workday,
        nullif(holiday_name, '') as holiday_name,
        cast(is_makeup_workday as boolean) as is_makeup_workday
    from {{ ref('cn_workday_calendar') }}

),

overrides as (

    select
        cast(calendar_date as date) as calendar_date,
        cast(is_workday as boolean) as is_workday,
        nullif(holiday_name, '') as holiday_name
    from {{ ref('calendar_overrides') }}

),

coverage as (

    select
        min(calendar_date) as covered_from,
        max(calendar_date) as covered_to
    from library_calendar

),

{#- the last loaded date bounds a build without a run window only: a run knows its end
    date, and the maximum business date of every balance file ever loaded is a scan that
    grows with history (4.6-5.4 s a night after three months at 1M clients) #}
-- depends_on: {{ ref('stg_core__deposit_balances') }}
{% if run_end_date() == default_end -%}
loaded_data as (

    select max(business_date) as last_loaded_date
    from {{ ref('stg_core__deposit_balances') }}

),
{%- endif %}

bounds as (

    select
        {% if run_start_date() != default_start -%}
        case
            when cast('{{ run_start_date() }}' as date) < coverage.covered_from
                then cast({{ dbt.date_trunc('month', "cast('" ~ run_start_date() ~ "' as date)") }} as date)
            else coverage.covered_from
        end
        {%- else -%}
        coverage.covered_from
        {%- endif %} as range_start,
        case
            when processed.processed_to > coverage.covered_to
                then cast({{ dbt.last_day('processed.processed_to', 'month') }} as date)
            else coverage.covered_to
        end as range_end
    from coverage
    cross join (
        {% if run_end_date() != default_end -%}
        select cast('{{ run_end_date() }}' as date) as processed_to
        {%- else -%}
        select coalesce(last_loaded_date, cast('{{ default_start }}' as date)) as processed_to
        from loaded_data
        {%- endif %}
    ) as processed

),

digits as (

    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9

),

day_numbers as (

    select
        d1.d + 10 * d2.d + 100 * d3.d + 1000 * d4.d + 10000 * d5.d as day_number
    from digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4
    cross join digits as d5

),

spine as (

    select cast({{ dbt.dateadd('day', 'day_numbers.day_number', 'bounds.range_start') }} as date) as calendar_date
    from day_numbers
    cross join bounds
    where day_numbers.day_number <= {{ dbt.datediff('bounds.range_start', 'bounds.range_end', 'day') }}

),

resolved as (

    select
        spine.calendar_date,
        cast({{ dbt.date_trunc('month', 'spine.calendar_date') }} as date) as month_start,
        library_calendar.calendar_date is null as is_calendar_fallback,
        overrides.calendar_date is not null as is_overridden,
        coalesce(
            overrides.is_workday,
            library_calendar.is_workday,
            {{ rm_is_weekday('spine.calendar_date') }}
        ) as is_workday,
        case
            when overrides.calendar_date is not null then overrides.holiday_name
            else library_calendar.holiday_name
        end as holiday_name,
        coalesce(library_calendar.is_makeup_workday, false) as is_library_makeup_workday,
        {{ rm_is_weekday('spine.calendar_date') }} as is_weekday
    from spine
    left join library_calendar
        on spine.calendar_date = library_calendar.calendar_date
    left join overrides
        on spine.calendar_date = overrides.calendar_date

),

numbered as (

    select
        resolved.*,
        sum(case when is_workday then 1 else 0 end) over (
            partition by month_start
            order by calendar_date
            rows between unbounded preceding and current row
        ) as workdays_to_date,
        sum(case when is_workday then 1 else 0 end) over (
            partition by month_start
        ) as working_days_in_month
    from resolved

)

select
    calendar_date,
    month_start,
    is_workday,
    is_workday and not is_weekday as is_makeup_workday,
    not is_workday and holiday_name is not null as is_public_holiday,
    holiday_name,
    is_calendar_fallback,
    is_overridden,
    case when is_workday then workdays_to_date end as working_day_of_month,
    working_days_in_month,
    case
        when is_workday
            then least({{ weeks_per_month }}, cast(floor((workdays_to_date - 1) / {{ days_per_week }}) as integer) + 1)
    end as week_of_month,
    case
        when workdays_to_date = 0 then 1
        else workdays_to_date
    end as reporting_working_day_of_month
from numbered
