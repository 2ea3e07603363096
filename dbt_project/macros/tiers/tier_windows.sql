{#- Last day of the month that starts at `month_start_expr`. -#}
{% macro tiers_month_end(month_start_expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start_expr)) }} as date)
{%- endmacro %}

{#- A ratio as DECIMAL(24,6); null when the denominator is zero. -#}
{% macro tiers_ratio(numerator, denominator) -%}
    cast(round(cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0), 6) as decimal(24, 6))
{%- endmacro %}

{#- How many months before the run window's first month the hidden-potential flags (and
    mart_client_tier, which carries them) rebuild: 1 when a payroll/pension credit of that
    month can have its pass-through window (up to the longest `passthrough_window_days` of
    seed hidden_potential_rules) reach the run's first date, else 0. So only the nights of a
    month's first days rewrite the month before; the others write their own month only.
    Called in incremental runs only (it reads the seed). -#}
{% macro hidden_potential_months_before() -%}
    {%- if not execute -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set longest = run_query(
        "select max(passthrough_window_days) from " ~ ref('hidden_potential_rules')
    ).columns[0].values()[0] -%}
    {%- set first = modules.datetime.date.fromisoformat((run_start_date() | string)[:10]) -%}
    {%- set reached = first - modules.datetime.timedelta(days=(longest or 0) | int) -%}
    {{ return(0 if (reached.year, reached.month) == (first.year, first.month) else 1) }}
{%- endmacro %}
