{#-
    Month accumulation (积数) of daily end-of-day balances, maintained from the day's rows.

    One row per entity (`key_column`) and month, with one column per day of the month
    (`day_01_cny` .. `day_31_cny`) holding that day's end-of-day balance in CNY. A run over
    the business dates of the run window reads only those dates' rows from `day_rows`
    (already converted and rounded per entity-day) and the current accumulation rows of the
    months the window touches; for every day inside the window it REPLACES that day's column
    (a day missing from the new rows becomes null), days outside keep their stored value.
    So re-running a date never double-counts, a corrected date is rebuilt by re-running it,
    and the nightly cost is the day's rows plus one row per entity of the open month,
    independent of history length. Derived figures (sum, month-end, average) are recomputed
    from the day columns in the same statement.

    The month's progress (`days_covered`) is month-wide: the last calendar day of the month
    for which any entity has a balance; `days_loaded` counts the days of the month for which
    any entity has a balance; the month is complete when every calendar day is loaded. Missing days inside the covered range count as zero balance (a closed account, an
    account not yet opened).

    Arguments: day_rows (relation with the columns below, one row per entity and day),
    key_column, date_column, amount_column, attribute_columns (taken from the entity's
    latest day in the month) and optionally partition_column (the raw layer's business_date,
    so that only the window's Parquet partitions are read).
-#}
{% macro balance_accumulation(day_rows, key_column, date_column, amount_column, attribute_columns, partition_column=none) %}
{%- set days = range(1, 32) -%}
with window_rows as (
    select
        {{ key_column }} as entity_key,
        cast({{ dbt.date_trunc('month', date_column) }} as date) as month_start,
        cast({{ date_part_int('day', date_column) }} as integer) as day_of_month,
        {{ date_column }} as balance_date,
        {{ amount_column }} as amount_cny,
        {%- for col in attribute_columns %}
        {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ day_rows }}
    where {{ in_run_window(date_column) }}
    {%- if partition_column %}
        and {{ in_run_window(partition_column) }}
    {%- endif %}
),

new_days as (
    select
        entity_key,
        month_start,
        {%- for d in days %}
        sum(case when day_of_month = {{ d }} then amount_cny end) as day_{{ '%02d' % d }}_cny,
        {%- endfor %}
        max(balance_date) as new_last_date
    from window_rows
    group by entity_key, month_start
),

new_attributes as (
    select entity_key, month_start, {{ attribute_columns | join(', ') }}
    from (
        select
            *,
            row_number() over (partition by entity_key, month_start order by balance_date desc) as recency
        from window_rows
    ) as ranked
    where recency = 1
),

{% if is_incremental() %}
stored as (
    select *
    from {{ this }}
    where month_start between {{ run_window_month_start() }} and cast('{{ var("end_date") }}' as date)
),

merged as (
    select
        coalesce(n.entity_key, s.{{ key_column }}) as entity_key,
        coalesce(n.month_start, s.month_start) as month_start,
        {%- for col in attribute_columns %}
        case when n.entity_key is not null then a.{{ col }} else s.{{ col }} end as {{ col }},
        {%- endfor %}
        {%- for d in days %}
        {%- set day_expr = dbt.dateadd('day', d - 1, 'coalesce(n.month_start, s.month_start)') %}
        case
            when {{ in_run_window(day_expr) }} then n.day_{{ '%02d' % d }}_cny
            else s.day_{{ '%02d' % d }}_cny
        end as day_{{ '%02d' % d }}_cny{{ "," if not loop.last }}
        {%- endfor %}
    from new_days as n
    left join new_attributes as a
        on n.entity_key = a.entity_key and n.month_start = a.month_start
    full outer join stored as s
        on n.entity_key = s.{{ key_column }} and n.month_start = s.month_start
),
{% else %}
merged as (
    select
        n.entity_key,
        n.month_start,
        {%- for col in attribute_columns %}
        a.{{ col }},
        {%- endfor %}
        {%- for d in days %}
        n.day_{{ '%02d' % d }}_cny{{ "," if not loop.last }}
        {%- endfor %}
    from new_days as n
    left join new_attributes as a
        on n.entity_key = a.entity_key and n.month_start = a.month_start
),
{% endif %}

measured as (
    select
        *,
        cast({{ dbt.datediff('month_start', dbt.dateadd('month', 1, 'month_start'), 'day') }} as integer) as days_in_month,
        case
            {%- for d in days | reverse %}
            when day_{{ '%02d' % d }}_cny is not null then {{ d }}
            {%- endfor %}
        end as last_day_with_balance,
        (
            {%- for d in days %}
            case when day_{{ '%02d' % d }}_cny is not null then 1 else 0 end{{ " +" if not loop.last }}
            {%- endfor %}
        ) as days_with_balance,
        cast(
            {%- for d in days %}
            coalesce(day_{{ '%02d' % d }}_cny, 0){{ " +" if not loop.last }}
            {%- endfor %}
        as decimal(24, 2)) as balance_sum_cny
    from merged
),

month_progress as (
    select
        *,
        max(last_day_with_balance) over (partition by month_start) as days_covered,
        (
            {%- for d in days %}
            max(case when day_{{ '%02d' % d }}_cny is not null then 1 else 0 end) over (partition by month_start){{ " +" if not loop.last }}
            {%- endfor %}
        ) as days_loaded
    from measured
    where last_day_with_balance is not null
)

select
    entity_key as {{ key_column }},
    month_start,
    {%- for col in attribute_columns %}
    {{ col }},
    {%- endfor %}
    cast({{ dbt.dateadd('day', 'days_covered - 1', 'month_start') }} as date) as last_business_date,
    days_in_month,
    days_covered,
    days_with_balance,
    cast(days_loaded as integer) as days_loaded,
    days_covered = days_in_month and days_loaded = days_in_month as is_month_complete,
    cast(coalesce(case days_covered
        {%- for d in days %}
        when {{ d }} then day_{{ '%02d' % d }}_cny
        {%- endfor %}
    end, 0) as decimal(24, 2)) as month_end_balance_cny,
    balance_sum_cny,
    {{ money_divide('balance_sum_cny', 'days_covered') }} as daily_avg_balance_cny,
    {%- for d in days %}
    day_{{ '%02d' % d }}_cny{{ "," if not loop.last }}
    {%- endfor %}
from month_progress
{% endmacro %}
