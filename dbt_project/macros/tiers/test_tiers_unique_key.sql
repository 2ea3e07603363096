{#- Generic test: the listed columns together identify a row. -#}
{% test tiers_unique_key(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
