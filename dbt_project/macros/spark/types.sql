{#- A DuckDB/ANSI type name as Spark SQL spells it: Spark's VARCHAR needs a length and its
    INTEGER is INT. Lets the YAML (seed column_types, contract data_type) keep one spelling. -#}
{% macro spark_sql_type(type) -%}
    {%- set lowered = type | string | lower | trim -%}
    {{- {'varchar': 'string', 'text': 'string', 'integer': 'int'}.get(lowered, lowered) -}}
{%- endmacro %}

{#- dbt.cast on Spark (used by model contracts to type the YAML columns). -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_sql_type(type) }})
{%- endmacro %}
