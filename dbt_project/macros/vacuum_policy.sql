{#-
    on-run-start: a nightly run inside a month does not vacuum (DuckDB's max_vacuum_tasks).
    A night replaces the open month of every month model; at each checkpoint DuckDB's vacuum
    then merged the row groups around the deleted rows by writing their live rows again,
    about 2 s of a 24 s dbt run at 200k clients after six months (wall time, the closing
    checkpoint included). Without it, a row group that a delete emptied is still dropped,
    and the deleted rows left in partly deleted ones stay: about one row group for most
    tables, the same after five nights. int_rm_activity_daily leaves about 400k a night at
    1M clients (5.5M by the end of October), which cost nothing measurable: compacting them
    did not make a night faster (docs/benchmark.md). The first night of a month and every range (a backfill, a
    re-run of several dates) vacuum as before, and take those rows back (859k -> 353k at
    200k).
-#}
{% macro vacuum_policy() -%}
    {{ return(adapter.dispatch('vacuum_policy', 'clientmart')()) }}
{%- endmacro %}

{% macro default__vacuum_policy() -%}
    select 1 as vacuum_policy_not_applicable
{%- endmacro %}

{% macro duckdb__vacuum_policy() -%}
    {#- `--vars '{start_date: 2026-02-02}'` gives a date, the environment a string -#}
    {%- set start, end = run_start_date() | string, run_end_date() | string -%}
    {%- if start == end and not start.endswith('-01') -%}
        set max_vacuum_tasks = 0
    {%- else -%}
        reset max_vacuum_tasks
    {%- endif -%}
{%- endmacro %}
