{#- Last day of the month that starts at `month_start_expr`. -#}
{% macro tiers_month_end(month_start_expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start_expr)) }} as date)
{%- endmacro %}

{#- A ratio as DECIMAL(24,6); null when the denominator is zero. -#}
{% macro tiers_ratio(numerator, denominator) -%}
    cast(round(cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0), 6) as decimal(24, 6))
{%- endmacro %}
