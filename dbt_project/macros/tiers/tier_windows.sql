{#- Months an incremental tiers model rebuilds: every month the run window (vars start_date /
    end_date) touches, plus `months_after` following months whose figures depend on the
    touched ones (a migration compares a month with the one before) and `months_before`
    earlier months whose figures depend on the touched dates (a credit late in a month is
    followed by debits early in the next). -#}
{% macro tiers_months_in_run_window(month_column, months_after=0, months_before=0) -%}
    {{ month_column }} >= cast({{ dbt.dateadd('month', -months_before, run_window_month_start()) }} as date)
    and {{ month_column }} <= cast({{ dbt.dateadd('month', months_after, dbt.date_trunc('month', "cast('" ~ var('end_date') ~ "' as date)")) }} as date)
{%- endmacro %}

{#- Last day of the month that starts at `month_start_expr`. -#}
{% macro tiers_month_end(month_start_expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start_expr)) }} as date)
{%- endmacro %}

{#- A ratio as DECIMAL(24,6); null when the denominator is zero. -#}
{% macro tiers_ratio(numerator, denominator) -%}
    cast(round(cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0), 6) as decimal(24, 6))
{%- endmacro %}
