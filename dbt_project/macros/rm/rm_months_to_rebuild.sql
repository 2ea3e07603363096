{#- The months an RM month model (int_rm_plan_daily, int_rm_plan_weekly, int_rm_activity_daily,
    int_rm_pipeline_daily, int_rm_pipeline_goals, mart_rm_attainment) rebuilds: incremental
    by month_start (delete+insert), a run rewrites every month from its window's first month
    on (`from_month`, default run_window_month_start(): the window's own months and the
    months after it, whose plans and pipeline already exist once their targets are
    delivered) and the earlier months a delivery in the window changes (int_rm_late_months:
    a re-delivered order, a client first delivered or given its first RM in time to count as
    a new client, a corrected open date). A first build or a full refresh: every
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
    the new rows hold. On mart_rm_attainment it deletes from the window's first month (and
    the late months); the model then rebuilds from the month after the last day still
    loaded, which is that month or an earlier one. On Spark the months are partitions and
    are dropped (delete_logged). -#}
{% macro rm_clear_rebuilt_months() -%}
    {%- if is_incremental() -%}
        {{ delete_logged(this, 'month_start', rm_months_to_rebuild('month_start')) }}
    {%- endif -%}
{%- endmacro %}

{#- A clients record that can make the client's acquiring RM (int_rm_activity_daily): one
    delivered by the end of the month after the client's opening month, or after the month
    of its first delivery when that came later (a bank's first full load, a client delivered
    late); var rm_acquiring_months_after_open, default 1. An RM first named later makes the
    client nobody's new client, so a night changes the new clients of an older month only
    for a client first delivered or with an open date corrected in it (int_rm_late_months). -#}
{% macro rm_acquiring_record(valid_from, open_date, first_delivered_date) -%}
    {%- set opened = 'greatest(' ~ open_date ~ ', ' ~ first_delivered_date ~ ')' -%}
    {{ valid_from }} < cast({{ dbt.dateadd('month', 1 + var('rm_acquiring_months_after_open', 1), dbt.date_trunc('month', opened)) }} as date)
{%- endmacro %}
