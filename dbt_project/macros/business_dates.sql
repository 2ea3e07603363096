{#- The business dates this invocation processes (vars start_date / end_date, inclusive).
    Every incremental model filters its input with this predicate, so a nightly run reads
    one date and a backfill a range, never the whole history. -#}
{% macro in_run_window(date_column) -%}
    {{ date_column }} between cast('{{ var("start_date") }}' as date) and cast('{{ var("end_date") }}' as date)
{%- endmacro %}

{#- First day of the month of the run window's start: incremental month models rebuild
    every month the window touches. -#}
{% macro run_window_month_start() -%}
    cast({{ dbt.date_trunc('month', "cast('" ~ var('start_date') ~ "' as date)") }} as date)
{%- endmacro %}

{#- Money: DECIMAL(24,2), rounded half-up (half away from zero; amounts here are >= 0). -#}
{% macro to_money(expr) -%}
    cast(round({{ expr }}, 2) as decimal(24, 2))
{%- endmacro %}

{#- A series of calendar dates (inclusive), one row per day, column `calendar_date`. -#}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series', 'clientmart')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date) -%}
    select cast(d as date) as calendar_date
    from (select explode(sequence(cast('{{ start_date }}' as date), cast('{{ end_date }}' as date), interval 1 day)) as d) as s
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date) -%}
    select cast(generate_series as date) as calendar_date
    from generate_series(cast('{{ start_date }}' as date), cast('{{ end_date }}' as date), interval 1 day)
{%- endmacro %}

{#- An integer part of a date (ANSI EXTRACT, portable to DuckDB, Spark, Postgres). -#}
{% macro date_part_int(part, expr) -%}
    cast(extract({{ part }} from {{ expr }}) as integer)
{%- endmacro %}

{#- numerator / denominator as money: DECIMAL(24, 2), rounded half-up exactly. Why a macro:
    DuckDB divides DECIMALs in DOUBLE, so round(x / n, 2) can turn an exact half cent down
    (0.145 → 0.14); on DuckDB the division is done in integer cents instead. The numerator
    has at most two decimals (a money amount or money × a count); the denominator is a
    positive integer count (days, working days). -#}
{% macro money_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('money_divide', 'clientmart')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__money_divide(numerator, denominator) -%}
    {{ to_money('(' ~ numerator ~ ') / (' ~ denominator ~ ')') }}
{%- endmacro %}

{% macro duckdb__money_divide(numerator, denominator) -%}
    cast(
        cast(
            sign({{ numerator }})
            * ((2 * abs(cast(({{ numerator }}) * 100 as hugeint)) + cast({{ denominator }} as hugeint))
               // (2 * cast({{ denominator }} as hugeint)))
        as decimal(24, 0)) * cast(0.01 as decimal(3, 2))
    as decimal(24, 2))
{%- endmacro %}
