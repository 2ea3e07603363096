{#- The flattened hierarchy of every institutions snapshot, valid from its business date up to
    (not including) the next snapshot's. Ancestors are looked up in the same snapshot (each
    one is a full tree), so a row carries the tree as it stood while it was in force. -#}

with snapshots as (
    select inst_code, inst_name, parent_code, inst_level, region, valid_from, valid_to
    from {{ ref('stg_reference__institutions') }}
),

chain as (
    select
        i.inst_code,
        i.inst_name,
        i.inst_level,
        i.region,
        i.parent_code,
        i.valid_from,
        i.valid_to,
        i.inst_code as a0_code, i.inst_level as a0_level,
        p1.inst_code as a1_code, p1.inst_level as a1_level,
        p2.inst_code as a2_code, p2.inst_level as a2_level,
        p3.inst_code as a3_code, p3.inst_level as a3_level
    from snapshots as i
    left join snapshots as p1 on i.parent_code = p1.inst_code and i.valid_from = p1.valid_from
    left join snapshots as p2 on p1.parent_code = p2.inst_code and p1.valid_from = p2.valid_from
    left join snapshots as p3 on p2.parent_code = p3.inst_code and p2.valid_from = p3.valid_from
),

{%- set levels = institution_levels() %}

flattened as (
    select
        inst_code,
        inst_name,
        inst_level,
        case inst_level {% for n, name in levels.items() %}when {{ n }} then '{{ name }}' {% endfor %}end as level_name,
        parent_code as parent_inst_code,
        region,
        valid_from,
        valid_to,
        {%- for n, name in levels.items() %}
        case
            when a0_level = {{ n }} then a0_code
            when a1_level = {{ n }} then a1_code
            when a2_level = {{ n }} then a2_code
            when a3_level = {{ n }} then a3_code
        end as {{ name }}_code{{ "," if not loop.last }}
        {%- endfor %}
    from chain
),

named as (
    select
        f.*,
        {%- for n, name in levels.items() %}
        {{ name }}.inst_name as {{ name }}_name{{ "," if not loop.last }}
        {%- endfor %}
    from flattened as f
    {%- for n, name in levels.items() %}
    left join snapshots as {{ name }}
        on f.{{ name }}_code = {{ name }}.inst_code and f.valid_from = {{ name }}.valid_from
    {%- endfor %}
),

unknown as (
    select
        'UNKNOWN' as inst_code,
        'Unknown institution' as inst_name,
        cast(null as integer) as inst_level,
        'unknown' as level_name,
        cast(null as {{ dbt.type_string() }}) as parent_inst_code,
        cast(null as {{ dbt.type_string() }}) as region,
        cast('1900-01-01' as date) as valid_from,
        cast(null as date) as valid_to,
        {%- for n, name in levels.items() %}
        cast(null as {{ dbt.type_string() }}) as {{ name }}_code,
        {%- endfor %}
        {%- for n, name in levels.items() %}
        cast(null as {{ dbt.type_string() }}) as {{ name }}_name{{ "," if not loop.last }}
        {%- endfor %}
)

select
    valid_from, valid_to, inst_code, inst_name, inst_level, level_name, parent_inst_code, region,
    head_office_code, head_office_name, branch_code, branch_name,
    sub_branch_code, sub_branch_name, outlet_code, outlet_name
from named
union all
select
    valid_from, valid_to, inst_code, inst_name, inst_level, level_name, parent_inst_code, region,
    head_office_code, head_office_name, branch_code, branch_name,
    sub_branch_code, sub_branch_name, outlet_code, outlet_name
from unknown
