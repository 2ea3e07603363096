{#- The institution hierarchy's levels and their names (dim_institution's columns
    `<name>_code`): 1 head office, 2 branch, 3 sub-branch, 4 outlet. -#}
{% macro institution_levels() -%}
    {{ return({1: 'head_office', 2: 'branch', 3: 'sub_branch', 4: 'outlet'}) }}
{%- endmacro %}
