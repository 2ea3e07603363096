{#- Generic test: the combination of `columns` is unique (no dbt_utils dependency offline). -#}
{% test unique_key_columns(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
