{#- Masked forms a person can recognise without the clear value (landing contract,
    "Personal data"). All three keep null as null. -#}

{#- Name: first character, then one '*' per remaining character ('张三丰' -> '张**'). -#}
{% macro mask_name(col) -%}
    case when {{ col }} is null then null
         else {{ dbt.concat(["substr(" ~ col ~ ", 1, 1)", "repeat('*', length(" ~ col ~ ") - 1)"]) }} end
{%- endmacro %}

{#- Identity number: first 3 and last 4 characters, '*' in between ('110***********1234').
    Values of 7 characters or fewer are masked whole. -#}
{% macro mask_id_number(col) -%}
    case when {{ col }} is null then null
         when length({{ col }}) <= 7 then repeat('*', length({{ col }}))
         else {{ dbt.concat(["substr(" ~ col ~ ", 1, 3)", "repeat('*', length(" ~ col ~ ") - 7)", dbt.right(col, 4)]) }} end
{%- endmacro %}

{#- Phone: first 3 and last 4 digits, '****' in between ('138****5678'). -#}
{% macro mask_phone(col) -%}
    case when {{ col }} is null then null
         when length({{ col }}) <= 7 then repeat('*', length({{ col }}))
         else {{ dbt.concat(["substr(" ~ col ~ ", 1, 3)", "repeat('*', length(" ~ col ~ ") - 7)", dbt.right(col, 4)]) }} end
{%- endmacro %}
