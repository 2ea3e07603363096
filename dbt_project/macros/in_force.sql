{#- The record of a validity history (valid_from .. valid_to, valid_to null while current,
    exclusive) in force on `day`: int_client_history, dim_institution_history. -#}
{% macro in_force(history, day) -%}
    {{ history }}.valid_from <= {{ day }}
    and ({{ history }}.valid_to is null or {{ day }} < {{ history }}.valid_to)
{%- endmacro %}
