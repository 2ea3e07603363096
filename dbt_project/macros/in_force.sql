{#- The record of a validity history (valid_from .. valid_to, valid_to null while current,
    exclusive) in force on `day`: int_client_history, dim_institution_history. Written as
    two plain comparisons (an open record as valid until 9999-12-31), not with an OR on
    `valid_to is null`: DuckDB turns a join condition holding an OR into a nested-loop join
    (the RM activity's left join of 27k orders to 1M client records took 46 s that way,
    1.9 s as a hash join on the client with these comparisons). -#}
{% macro in_force(history, day) -%}
    {{ history }}.valid_from <= {{ day }}
    and {{ day }} < coalesce({{ history }}.valid_to, cast('9999-12-31' as date))
{%- endmacro %}
