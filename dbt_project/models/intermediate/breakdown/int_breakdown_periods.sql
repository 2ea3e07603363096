{#- One row per loaded period (month, quarter, year): its calendar, its last loaded month and
    the days its balances cover. A few rows per month of history: rebuilt every run. -#}

with period_months as (
    {%- for period_type in period_types() %}
    select
        '{{ period_type }}' as period_type,
        cast({{ dbt.date_trunc(period_type, 'month_start') }} as date) as period_start,
        month_start,
        days_covered,
        days_loaded,
        last_business_date
    from {{ ref('int_balance_month_coverage') }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    period_type,
    period_start,
    case period_type
        {%- for period_type, n in period_types().items() %}
        when '{{ period_type }}' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', n, 'period_start')) }} as date)
        {%- endfor %}
    end as period_end_date,
    case period_type
        {%- for period_type, n in period_types().items() %}
        when '{{ period_type }}' then cast({{ dbt.dateadd('month', -n, 'period_start') }} as date)
        {%- endfor %}
    end as previous_period_start,
    max(month_start) as last_month_start,
    max(last_business_date) as last_business_date,
    cast(sum(days_covered) as integer) as days_covered,
    cast(sum(days_loaded) as integer) as days_loaded
from period_months
group by period_type, period_start
