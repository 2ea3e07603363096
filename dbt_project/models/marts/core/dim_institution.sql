with current_institutions as (
    select inst_code, inst_name, parent_code, inst_level, region
    from {{ ref('stg_reference__institutions') }}
    where valid_to is null
),

chain as (
    select
        i.inst_code,
        i.inst_name,
        i.inst_level,
        i.region,
        i.parent_code,
        i.inst_code as a0_code, i.inst_level as a0_level,
        p1.inst_code as a1_code, p1.inst_level as a1_level,
        p2.inst_code as a2_code, p2.inst_level as a2_level,
        p3.inst_code as a3_code, p3.inst_level as a3_level
    from current_institutions as i
    left join current_institutions as p1 on i.parent_code = p1.inst_code
    left join current_institutions as p2 on p1.parent_code = p2.inst_code
    left join current_institutions as p3 on p2.parent_code = p3.inst_code
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
    left join current_institutions as {{ name }} on f.{{ name }}_code = {{ name }}.inst_code
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
        {%- for n, name in levels.items() %}
        cast(null as {{ dbt.type_string() }}) as {{ name }}_code,
        {%- endfor %}
        {%- for n, name in levels.items() %}
        cast(null as {{ dbt.type_string() }}) as {{ name }}_name{{ "," if not loop.last }}
        {%- endfor %}
)

select
    inst_code, inst_name, inst_level, level_name, parent_inst_code, region,
    head_office_code, head_office_name, branch_code, branch_name,
    sub_branch_code, sub_branch_name, outlet_code, outlet_name
from named
union all
select
    inst_code, inst_name, inst_level, level_name, parent_inst_code, region,
    head_office_code, head_office_name, branch_code, branch_name,
    sub_branch_code, sub_branch_name, outlet_code, outlet_name
from unknown
