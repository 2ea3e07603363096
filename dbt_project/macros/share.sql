{#- A share as a DOUBLE in [0, 1]: part / whole, null when the whole is null or zero. -#}
{% macro share(part, whole) -%}
    case when {{ whole }} is null or {{ whole }} = 0 then null
         else cast({{ part }} as double) / cast({{ whole }} as double) end
{%- endmacro %}
