{#- The months an RM month model (int_rm_plan_daily, int_rm_plan_weekly, int_rm_activity_daily,
    int_rm_pipeline_daily, int_rm_pipeline_goals, mart_rm_attainment) rebuilds: incremental
    by month_start (delete+insert), a run rewrites every month from its window's first month
    on (`from_month`, default run_window_month_start(): the window's own months and the
    months after it, whose plans and pipeline already exist once their targets are
    delivered) and the earlier months a delivery in the window changes (int_rm_late_months:
    a late or corrected target, order or client). A first build or a full refresh: every
    month. So a night costs the current month, not the history; a model using it names
    int_rm_late_months in a `depends_on` comment (dbt cannot see a ref inside
    is_incremental() while parsing). -#}
{% macro rm_months_to_rebuild(month_column, from_month=none) -%}
    {%- if is_incremental() -%}
    ({{ month_column }} >= {{ from_month if from_month else run_window_month_start() }}
     or {{ month_column }} in (select month_start from {{ ref('int_rm_late_months') }}))
    {%- else -%}
    (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the RM month models: delete the months the run rebuilds, logged for the
    publication, so a month that now has no rows (all its orders re-delivered as cancelled,
    its pipeline closed) loses its old ones; dbt's delete+insert replaces only the months
    the new rows hold. mart_rm_attainment needs none: a month's rows are its plan days,
    which its targets (never withdrawn) give. DuckDB only, like the write log. -#}
{% macro rm_clear_rebuilt_months() -%}
    {%- if is_incremental() and target.type == 'duckdb' -%}
        {{ duckdb__delete_logged(this, 'month_start', rm_months_to_rebuild('month_start')) }}
    {%- endif -%}
{%- endmacro %}
