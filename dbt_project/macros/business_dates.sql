{#- The run window's bounds (inclusive ISO dates). The vars start_date / end_date when given
    (`dbt build --vars '{start_date: ..., end_date: ...}'`, a unit test's overrides); else, at
    run time, the environment variables CLIENTMART_RUN_START_DATE / CLIENTMART_RUN_END_DATE,
    which the pipeline's dbt step sets; else the whole history (1900-01-01 .. 2999-12-31).
    Why the pipeline does not pass --vars: a var that changes every night makes dbt re-parse
    the whole project every night (7-10 s), whereas an env_var read only when executing (not
    while parsing) leaves partial parsing alone. -#}
{% macro run_start_date() -%}
    {{ return(run_window_bound('start_date', 'CLIENTMART_RUN_START_DATE', '1900-01-01')) }}
{%- endmacro %}

{% macro run_end_date() -%}
    {{ return(run_window_bound('end_date', 'CLIENTMART_RUN_END_DATE', '2999-12-31')) }}
{%- endmacro %}

{% macro run_window_bound(name, env_name, default) -%}
    {%- if var.has_var(name) -%}
        {{ return(var(name)) }}
    {%- elif execute -%}
        {{ return(env_var(env_name, default)) }}
    {%- else -%}
        {{ return(default) }}
    {%- endif -%}
{%- endmacro %}

{#- The business dates this invocation processes (run_start_date .. run_end_date, inclusive).
    Every incremental model filters its input with this predicate, so a nightly run reads
    one date and a backfill a range, never the whole history. -#}
{% macro in_run_window(date_column) -%}
    {{ date_column }} between cast('{{ run_start_date() }}' as date) and cast('{{ run_end_date() }}' as date)
{%- endmacro %}

{#- First day of the month of the run window's start: incremental month models rebuild
    every month the window touches. -#}
{% macro run_window_month_start() -%}
    cast({{ dbt.date_trunc('month', "cast('" ~ run_start_date() ~ "' as date)") }} as date)
{%- endmacro %}

{#- Last day of the month of the run window's end: a month state that is recomputed reads
    every day of the months the window touches. -#}
{% macro run_window_month_end() -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', "cast('" ~ run_end_date() ~ "' as date)"))) }} as date)
{%- endmacro %}

{#- Months an incremental month model rebuilds: every month the run window (run_start_date ..
    run_end_date) touches, plus `months_after` following months whose figures depend on the
    touched ones (a migration or a period change compares a month with the one before) and `months_before`
    earlier months whose figures depend on the touched dates (a credit late in a month is
    followed by debits early in the next). -#}
{% macro months_in_run_window(month_column, months_after=0, months_before=0) -%}
    {{ month_column }} >= cast({{ dbt.dateadd('month', -months_before, run_window_month_start()) }} as date)
    and {{ month_column }} <= cast({{ dbt.dateadd('month', months_after, dbt.date_trunc('month', "cast('" ~ run_end_date() ~ "' as date)")) }} as date)
{%- endmacro %}

{#- Money: DECIMAL(24,2), rounded half-up (half away from zero; amounts here are >= 0). -#}
{% macro to_money(expr) -%}
    cast(round({{ expr }}, 2) as decimal(24, 2))
{%- endmacro %}

{#- A raw-layer amount (DECIMAL(24, 6)) as money: DECIMAL(24, 2), rounded half-up. -#}
{% macro raw_money(column) -%}
    {{ return(adapter.dispatch('raw_money', 'clientmart')(column)) }}
{%- endmacro %}

{% macro default__raw_money(column) -%}
    cast({{ column }} as decimal(24, 2))
{%- endmacro %}

{% macro duckdb__raw_money(column) -%}
    {#- DuckDB rescales a 128-bit decimal about 25 times slower than a 64-bit one (2 s per
        2.5M balances): amounts under 10^12 (all but absurd ones) go through DECIMAL(18, 6),
        the others take the direct cast; the value is the same either way. -#}
    case
        when {{ column }} > -1000000000000 and {{ column }} < 1000000000000
            then cast(cast({{ column }} as decimal(18, 6)) as decimal(24, 2))
        else cast({{ column }} as decimal(24, 2))
    end
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
    {#- in BIGINT cents, from the numerator as DECIMAL(18, 2): a HUGEINT (DECIMAL(24, 2) and
        wider) multiplication or division costs 10-20 times as much over millions of rows.
        Exact up to 10^16 CNY in the numerator; beyond, DuckDB raises an overflow error on the
        cast, it never wraps. -#}
    {%- set cents -%}cast(cast({{ numerator }} as decimal(18, 2)) * 100 as bigint){%- endset -%}
    {%- set days -%}cast({{ denominator }} as bigint){%- endset -%}
    cast(
        cast({{ integer_divide_half_up(cents, days) }} as decimal(18, 0)) * cast(0.01 as decimal(3, 2))
    as decimal(24, 2))
{%- endmacro %}

{#- numerator / denominator of two integers, rounded half away from zero, in integer
    arithmetic (null when the denominator is null; a zero denominator is the caller's to
    exclude): the exact rounding of money_divide and ratio. -#}
{% macro integer_divide_half_up(numerator, denominator) -%}
    sign({{ numerator }}) * sign({{ denominator }})
        * ((2 * abs({{ numerator }}) + abs({{ denominator }})) // (2 * abs({{ denominator }})))
{%- endmacro %}

{#- numerator / denominator as DECIMAL(24, scale), rounded half-up (half away from zero) on
    the exact quotient; null when the denominator is zero or null. Both operands are DECIMALs
    (or integers) with at most `input_scale` decimals. Why a macro: DuckDB divides DECIMALs
    in DOUBLE, and its round() of a DOUBLE rounds the binary value, which lies just below
    or above an exact half (139500 / 320000 = 0.4359375 rounded to 0.435937 by DuckDB 2.0,
    to 0.435938 by 1.5; 2.675 to 2.67 by 2.0). On DuckDB the quotient is taken in HUGEINT
    units of 10^-input_scale instead, exact for operands below 10^(31 - input_scale). -#}
{% macro ratio(numerator, denominator, scale=6, input_scale=6) -%}
    {{ return(adapter.dispatch('ratio', 'clientmart')(numerator, denominator, scale, input_scale)) }}
{%- endmacro %}

{% macro default__ratio(numerator, denominator, scale, input_scale) -%}
    cast(round(
        cast({{ numerator }} as decimal(38, {{ input_scale }}))
            / nullif(cast({{ denominator }} as decimal(38, {{ input_scale }})), 0),
        {{ scale }}
    ) as decimal(24, {{ scale }}))
{%- endmacro %}

{% macro duckdb__ratio(numerator, denominator, scale, input_scale) -%}
    {%- set unit = 10 ** input_scale -%}
    {%- set n -%}(cast(cast({{ numerator }} as decimal(38, {{ input_scale }})) * {{ unit }} as hugeint) * cast({{ 10 ** scale }} as hugeint)){%- endset -%}
    {%- set d -%}nullif(cast(cast({{ denominator }} as decimal(38, {{ input_scale }})) * {{ unit }} as hugeint), 0){%- endset -%}
    cast(
        cast({{ integer_divide_half_up(n, d) }} as decimal(38, 0))
        * cast({{ '%.*f' % (scale, 10 ** -scale) }} as decimal({{ scale + 1 }}, {{ scale }}))
    as decimal(24, {{ scale }}))
{%- endmacro %}

{#- The breakdown's period types and their length in months. -#}
{% macro period_types() -%}
    {{ return({'month': 1, 'quarter': 3, 'year': 12}) }}
{%- endmacro %}

{#- Periods (month, quarter, year) an incremental period model rebuilds: every period that
    contains a month the run window touches. -#}
{% macro periods_in_run_window(type_column, start_column) -%}
    (
    {%- for period_type in period_types() %}
        ({{ type_column }} = '{{ period_type }}'
         and {{ start_column }} between cast({{ dbt.date_trunc(period_type, "cast('" ~ run_start_date() ~ "' as date)") }} as date)
             and cast({{ dbt.date_trunc(period_type, "cast('" ~ run_end_date() ~ "' as date)") }} as date))
        {{- " or" if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}

{#- A period's key as one column ('month/2026-02-01', 'quarter/2026-01-01', ...): the
    delete+insert key of period models (Spark overwrites by one partition column). -#}
{% macro period_id(type_column, start_column) -%}
    concat({{ type_column }}, '/', cast({{ start_column }} as {{ dbt.type_string() }}))
{%- endmacro %}
