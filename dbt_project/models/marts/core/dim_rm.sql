with current_rms as (
    select rm_id, rm_name, inst_code, status
    from {{ ref('stg_reference__relationship_managers') }}
    where valid_to is null
)

select rm_id, rm_name, inst_code, status, status = 'active' as is_active
from current_rms
union all
select 'UNKNOWN', 'No relationship manager', 'UNKNOWN', cast(null as {{ dbt.type_string() }}), false
