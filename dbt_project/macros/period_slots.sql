{#-
    Period accumulation of monthly figures, maintained from the run window's months.

    One row per period (month, quarter, year) and key, with one column per month of the
    period and figure (`<figure>_m01` .. `<figure>_m12`; a month period uses slot 1, a
    quarter 1-3, a year 1-12). A run reads the window's monthly rows and the stored rows of
    the periods that contain them; for every month inside the window it REPLACES that
    month's slot (a key missing from the new rows gets null there), other slots keep their
    stored value. So a quarter or a year is maintained from one month's rows, never from
    every month of it, re-running a month never double-counts, and a corrected earlier
    month is rebuilt by re-running it. The same idea as `balance_accumulation` one level up
    (days → months).

    Arguments: monthly_rows (relation with month_start, the key columns and the figures,
    one row per key and month), key_columns (non-null), slot_columns (the figures).
    Output: period_id, period_type, period_start, the keys, the slot columns and last_slot
    (the key's latest slot with a value).
-#}
{% macro period_slot_accumulation(monthly_rows, key_columns, slot_columns) %}
{%- set slots = period_slot_numbers() -%}
with window_rows as (
    select month_start, {{ key_columns | join(', ') }}, {{ slot_columns | join(', ') }}
    from {{ monthly_rows }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

window_months as (
    select distinct month_start from window_rows
),

window_periods as (
    {%- for period_type in period_types() %}
    select
        '{{ period_type }}' as period_type,
        cast({{ dbt.date_trunc(period_type, 'month_start') }} as date) as period_start,
        month_start
    from window_months
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

new_slots as (
    select
        p.period_type,
        p.period_start,
        {%- for key in key_columns %}
        r.{{ key }},
        {%- endfor %}
        {%- for s in slots %}
        {%- for col in slot_columns %}
        max(case when {{ dbt.datediff('p.period_start', 'p.month_start', 'month') }} = {{ s - 1 }} then r.{{ col }} end) as {{ slot_column(col, s) }}{{ "," if not (loop.last and s == slots | last) }}
        {%- endfor %}
        {%- endfor %}
    from window_rows as r
    inner join window_periods as p on r.month_start = p.month_start
    group by p.period_type, p.period_start, {% for key in key_columns %}r.{{ key }}{{ ", " if not loop.last }}{% endfor %}
),

{% if is_incremental() %}
stored as (
    select *
    from {{ this }}
    where {{ periods_in_run_window('period_type', 'period_start') }}
),

merged as (
    select
        coalesce(n.period_type, s.period_type) as period_type,
        coalesce(n.period_start, s.period_start) as period_start,
        {%- for key in key_columns %}
        coalesce(n.{{ key }}, s.{{ key }}) as {{ key }},
        {%- endfor %}
        {%- for s in slots %}
        {%- set slot_month = dbt.dateadd('month', s - 1, 'coalesce(n.period_start, s.period_start)') %}
        {%- for col in slot_columns %}
        case
            when {{ months_in_run_window(slot_month) }} then {{ slot_column('n.' ~ col, s) }}
            else {{ slot_column('s.' ~ col, s) }}
        end as {{ slot_column(col, s) }}{{ "," if not (loop.last and s == slots | last) }}
        {%- endfor %}
        {%- endfor %}
    from new_slots as n
    full outer join stored as s
        on n.period_type = s.period_type
        and n.period_start = s.period_start
        {%- for key in key_columns %}
        and n.{{ key }} = s.{{ key }}
        {%- endfor %}
),
{% else %}
merged as (
    select * from new_slots
),
{% endif %}

measured as (
    select
        *,
        case
            {%- for s in slots | reverse %}
            when {% for col in slot_columns %}{{ slot_column(col, s) }} is not null{{ " or " if not loop.last }}{% endfor %} then {{ s }}
            {%- endfor %}
        end as last_slot
    from merged
)

select
    {{ period_id('period_type', 'period_start') }} as period_id,
    period_type,
    period_start,
    {%- for key in key_columns %}
    {{ key }},
    {%- endfor %}
    {%- for s in slots %}
    {%- for col in slot_columns %}
    {{ slot_column(col, s) }},
    {%- endfor %}
    {%- endfor %}
    cast(last_slot as integer) as last_slot
from measured
where last_slot is not null
{% endmacro %}

{#- Slot numbers of the longest period (1 .. 12: a year's months). -#}
{% macro period_slot_numbers() -%}
    {{ return(range(1, (period_types().values() | max) + 1)) }}
{%- endmacro %}

{#- The column of `column`'s month slot `slot` (balance_sum_cny, 3 -> balance_sum_cny_m03). -#}
{% macro slot_column(column, slot) -%}
    {{ column }}_m{{ '%02d' % slot }}
{%- endmacro %}

{#- The value of `column` in the slot given by the SQL expression `slot_expr`. -#}
{% macro slot_at(column, slot_expr) -%}
    case {{ slot_expr }}{% for s in period_slot_numbers() %} when {{ s }} then {{ slot_column(column, s) }}{% endfor %} end
{%- endmacro %}

{#- The sum of `column` over every slot (an empty slot counts 0). -#}
{% macro slot_sum(column) -%}
    ({% for s in period_slot_numbers() %}coalesce({{ slot_column(column, s) }}, 0){{ " + " if not loop.last }}{% endfor %})
{%- endmacro %}
