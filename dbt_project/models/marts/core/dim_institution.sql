{#- The tree in force: the latest snapshot's rows of the history (and the UNKNOWN member). -#}
select
    inst_code, inst_name, inst_level, level_name, parent_inst_code, region,
    head_office_code, head_office_name, branch_code, branch_name,
    sub_branch_code, sub_branch_name, outlet_code, outlet_name
from {{ ref('dim_institution_history') }}
where valid_to is null
