{#- True when a date is Monday to Friday (the fallback working week). -#}
{% macro rm_is_weekday(date_expr) -%}
    {{ return(adapter.dispatch('rm_is_weekday', 'clientmart')(date_expr)) }}
{%- endmacro %}

{% macro default__rm_is_weekday(date_expr) -%}
    (extract(dow from {{ date_expr }}) between 1 and 5)
{%- endmacro %}

{% macro duckdb__rm_is_weekday(date_expr) -%}
    (isodow({{ date_expr }}) between 1 and 5)
{%- endmacro %}

{% macro spark__rm_is_weekday(date_expr) -%}
    (dayofweek({{ date_expr }}) between 2 and 6)
{%- endmacro %}

{#- Post-hook of int_calendar: warn in the run's output when processed dates fall outside
    the library calendar's coverage and were given the Monday-Friday fallback. -#}
{% macro rm_warn_calendar_fallback() -%}
    {%- if execute -%}
        {%- set query -%}
            select
                cast(min(calendar_date) as {{ dbt.type_string() }}) as first_date,
                cast(max(calendar_date) as {{ dbt.type_string() }}) as last_date,
                count(*) as fallback_days
            from {{ this }}
            where is_calendar_fallback
              and calendar_date between cast('{{ run_start_date() }}' as date)
                                    and cast('{{ run_end_date() }}' as date)
        {%- endset -%}
        {%- set row = run_query(query).rows[0] -%}
        {%- if row[2] > 0 -%}
            {%- do exceptions.warn(
                "int_calendar: " ~ row[2] ~ " processed dates (" ~ row[0] ~ " to " ~ row[1]
                ~ ") are outside the chinese-calendar seed coverage; working days there are"
                ~ " Monday to Friday (is_calendar_fallback = true). Regenerate"
                ~ " seeds/cn_workday_calendar.csv after upgrading chinese-calendar, or add the"
                ~ " holidays to seeds/calendar_overrides.csv."
            ) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of int_rm_months_in_scope: a processed month without RM targets gives no
    attainment rows; say so in the run's output. -#}
{% macro rm_warn_months_without_targets() -%}
    {%- if execute -%}
        {%- set query -%}
            select cast(month_start as {{ dbt.type_string() }}) from {{ this }} where not has_targets order by 1
        {%- endset -%}
        {%- set months = run_query(query).columns[0].values() -%}
        {%- if months | length > 0 -%}
            {%- do exceptions.warn(
                "mart_rm_attainment: no RM targets delivered for month(s) " ~ (months | join(", "))
                ~ "; these months have no attainment rows until the rm_targets feed delivers them."
            ) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
