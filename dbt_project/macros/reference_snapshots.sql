{#- The validity of each delivered snapshot of a reference feed: one row per business date
    delivered, with the next delivered date (the snapshot is in force from its date until the
    next one; the latest has no end). `source_cte` is the CTE holding the raw snapshot rows. -#}
{% macro snapshot_validity(source_cte) -%}
    select
        business_date,
        lead(business_date) over (order by business_date) as next_business_date
    from (select distinct cast(business_date as date) as business_date from {{ source_cte }}) as d
{%- endmacro %}
