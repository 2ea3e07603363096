{#- The institution hierarchy's levels and their names (dim_institution's columns
    `<name>_code`): 1 head office, 2 branch, 3 sub-branch, 4 outlet. -#}
{% macro institution_levels() -%}
    {{ return({1: 'head_office', 2: 'branch', 3: 'sub_branch', 4: 'outlet'}) }}
{%- endmacro %}

{#- The columns that place a row booked at `inst_expr` on the hierarchy level `level_expr`
    (an integer), from its dim_institution row aliased `inst_alias` (left-joined):
    level_inst_code, its ancestor at that level, or itself (a direct-booking member) when it
    sits above that level, and then 1 in is_direct_booking; <level>_code for every level down
    to the row's (null below it). An institution unknown to dim_institution is its own member
    at every level. Each column ends with a comma. -#}
{% macro institution_level_columns(inst_expr, inst_alias, level_expr) -%}
    {%- set levels = institution_levels() -%}
    {%- set i = inst_alias -%}
        case {{ level_expr }}
            {%- for n in levels %}
            when {{ n }} then coalesce({% for m in range(n, 0, -1) %}{{ i }}.{{ levels[m] }}_code, {% endfor %}{{ inst_expr }})
            {%- endfor %}
        end as level_inst_code,
        case {{ level_expr }}
            {%- for n, name in levels.items() %}
            when {{ n }} then case when {{ i }}.{{ name }}_code is null then 1 else 0 end
            {%- endfor %}
        end as is_direct_booking,
        {%- for n, name in levels.items() %}
        {{ institution_level_code(inst_expr, inst_alias, level_expr, n) }} as {{ name }}_code,
        {%- endfor %}
{%- endmacro %}

{#- The code at hierarchy level `n` of a row booked at `inst_expr` and placed on level
    `level_expr`, from its tree row `inst_alias`: its ancestor at level n, or the nearest one
    above when it has none there (itself, when it sits above level n); null below the row's
    level. -#}
{% macro institution_level_code(inst_expr, inst_alias, level_expr, n) -%}
    {%- set levels = institution_levels() -%}
    case when {{ level_expr }} >= {{ n }} then coalesce({% for m in range(n, 0, -1) %}{{ inst_alias }}.{{ levels[m] }}_code, {% endfor %}{{ inst_expr }}) end
{%- endmacro %}
