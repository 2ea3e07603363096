{#-
    The CTEs `stored_months`, `window_months` and `plan` of a running month state (write them
    inside a `with`, after the CTE `window_rows` names): which months the run window touches,
    and for each whether the run appends its window to the stored state or recomputes the
    month from its days.

      append     (incremental) the month's first window date is later than its stored last
                 business date (`last_business_date` of {{ this }}), and `append_also` holds;
      recompute  anything else: a re-run or a late date, a first build, a stored month whose
                 window dates now have no rows.

    Arguments: window_rows (a CTE with month_start and date_column, the window's rows),
    date_column, stored_columns (more aggregates of the stored months, name -> expression,
    exposed by `plan` with `stored_last_date`), append_also (a further SQL condition of an
    append). `plan` has month_start, first_window_date, last_window_date, stored_last_date,
    the stored columns and action. Used by macro balance_accumulation and
    int_client_settlement_state.

    decided: the plan's rows as macro decided_month_plan returned them. Given, `plan` is
    written as those rows (constants), and the window's rows are not read again to plan.
-#}
{% macro month_plan_ctes(window_rows, date_column, stored_columns={}, append_also='1 = 1', decided=none) -%}
{%- if decided is not none %}
plan as (
    {%- for row in decided %}
    select
        {{ plan_date(row['month_start']) }} as month_start,
        {{ plan_date(row['first_window_date']) }} as first_window_date,
        {{ plan_date(row['last_window_date']) }} as last_window_date,
        {%- for name in stored_columns %}
        cast({{ 'null' if row[name] is none else row[name] }} as {{ dbt.type_bigint() }}) as {{ name }},
        {%- endfor %}
        {{ plan_date(row['stored_last_date']) }} as stored_last_date,
        '{{ row['action'] }}' as action
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        cast(null as date) as month_start,
        cast(null as date) as first_window_date,
        cast(null as date) as last_window_date,
        {%- for name in stored_columns %}
        cast(null as {{ dbt.type_bigint() }}) as {{ name }},
        {%- endfor %}
        cast(null as date) as stored_last_date,
        cast(null as {{ dbt.type_string() }}) as action
    where 1 = 0
    {%- endfor %}
)
{%- else %}
{%- if is_incremental() %}
stored_months as (
    select
        month_start,
        {%- for name, expression in stored_columns.items() %}
        {{ expression }} as {{ name }},
        {%- endfor %}
        max(last_business_date) as stored_last_date
    from {{ this }}
    where month_start between {{ run_window_month_start() }} and cast('{{ run_end_date() }}' as date)
    group by month_start
),
{%- endif %}

-- the months the window touches: those with window rows, and (incremental) stored months
-- inside the window whose window dates now have no rows
window_months as (
    select
        month_start,
        min({{ date_column }}) as first_window_date,
        max({{ date_column }}) as last_window_date
    from (
        select month_start, {{ date_column }} from {{ window_rows }}
        {%- if is_incremental() %}
        union all
        select month_start, cast(null as date) from stored_months
        {%- endif %}
    ) as touched
    group by month_start
),

plan as (
    select
        w.month_start,
        w.first_window_date,
        w.last_window_date,
        {%- if is_incremental() %}
        {%- for name in stored_columns %}
        s.{{ name }},
        {%- endfor %}
        s.stored_last_date,
        case
            when w.first_window_date > s.stored_last_date and ({{ append_also }}) then 'append'
            else 'recompute'
        end as action
        {%- else %}
        {%- for name in stored_columns %}
        cast(null as {{ dbt.type_bigint() }}) as {{ name }},
        {%- endfor %}
        cast(null as date) as stored_last_date,
        'recompute' as action
        {%- endif %}
    from window_months as w
    {%- if is_incremental() %}
    left join stored_months as s on w.month_start = s.month_start
    {%- endif %}
)
{%- endif %}
{%- endmacro %}

{#- A date of a decided plan as SQL: a constant, or a typed null. -#}
{% macro plan_date(value) -%}
    {%- if value is none -%}
    cast(null as date)
    {%- else -%}
    cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{#-
    The plan of a month state decided before its statement: `plan_query` (the CTEs up to and
    including those of month_plan_ctes, after `with`) is run, and its `plan` rows returned
    (agate rows, read by column name), for month_plan_ctes and in_planned_months (argument `decided`), which
    then write the months as constants. None while dbt only parses, where
    decide_month_plan_first says no, or while a relation of `inputs` (those the plan query
    reads) does not exist yet.

    Why: written as a filter on `plan` (a scalar subquery), the branch that sums a month again
    is planned every night, and its scan reads every day of the month to date before the
    filter drops them all: at 1M clients on the 14th, 34M rows of the daily fact, 2.0 of
    int_account_balance_monthly's 4.4 s, and 1.1 s of the settlement state's 1.9 s. With the
    months as constants a night's statement has no such branch (docs/benchmark.md,
    2026-12-05).
-#}
{% macro decided_month_plan(plan_query, inputs) -%}
    {%- if not execute or not decide_month_plan_first() -%}
        {{ return(none) }}
    {%- endif -%}
    {#- nothing built yet (`dbt compile` or `dbt docs generate` on a new warehouse): the plan
        stays in the statement -#}
    {%- for relation in inputs -%}
        {%- if load_relation(relation) is none -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(run_query(plan_query ~ '\nselect * from plan order by month_start').rows) }}
{%- endmacro %}

{#- Whether a month state decides its plan in a query of its own before its statement (see
    decided_month_plan). A unit test says no (`overrides: macros: decide_month_plan_first:
    false`): its inputs are CTEs of the test's statement, which a query of its own cannot
    read, so the plan stays in the statement. -#}
{% macro decide_month_plan_first() -%}
    {{ return(true) }}
{%- endmacro %}

{#-
    Whether `month_column` is a month of `plan` (macro month_plan_ctes) whose action is
    `action`: a filter on the month's rows, never a join to `plan`. Joined on month_start, a
    month's rows all share one key: when DuckDB's estimates make them the hash join's build
    side (a read_parquet pruned to the window's folders is estimated at a few thousand rows,
    `plan` at its input's millions), the whole month sits in one hash partition, which cannot
    spill. A 31-day range at 1M clients failed so (Out of Memory at the 3 GB limit, 6.4 GB to
    succeed); as a filter the same statement took 5.5 s and 1.7 GB (docs/benchmark.md, "A month
    as one range ran out of memory").

    With `decided` (macro decided_month_plan), the months are written as constants instead
    (`1 = 0` when there are none), which DuckDB prunes before it reads a row.
-#}
{% macro in_planned_months(month_column, action, decided=none) -%}
    {%- if decided is none -%}
        {{ return(adapter.dispatch('in_planned_months', 'clientmart')(month_column, action)) }}
    {%- endif -%}
    {#- the decided months as constants; none at all leaves the rows out, unread -#}
    {%- set months = [] -%}
    {%- for row in decided if row['action'] == action -%}
        {%- do months.append(plan_date(row['month_start'])) -%}
    {%- endfor -%}
    {{ return(month_column ~ ' in (' ~ months | join(', ') ~ ')' if months else '1 = 0') }}
{%- endmacro %}

{% macro default__in_planned_months(month_column, action) -%}
    {{ month_column }} in (select month_start from plan where action = '{{ action }}')
{%- endmacro %}

{#- DuckDB: the months as one list from a scalar subquery, so no join can be planned at all -#}
{% macro duckdb__in_planned_months(month_column, action) -%}
    list_contains((select list(month_start) from plan where action = '{{ action }}'), {{ month_column }})
{%- endmacro %}
