{#- The institution tree of each loaded month as it stood on the month's last loaded business
    date: a complete month carries the tree of its last day, the month still running that of
    the latest date. Every month figure joins its institution here (on inst_code and
    month_start), so a month written by last night's run and the same month written by a
    backfill range name and roll up its institutions alike, whatever snapshot came later.
    Institutions x months: a small table, rebuilt every run. -#}

select
    c.month_start,
    c.last_business_date as as_of_date,
    h.inst_code,
    h.inst_name,
    h.inst_level,
    h.level_name,
    h.parent_inst_code,
    h.region,
    h.head_office_code,
    h.head_office_name,
    h.branch_code,
    h.branch_name,
    h.sub_branch_code,
    h.sub_branch_name,
    h.outlet_code,
    h.outlet_name
from {{ ref('int_balance_month_coverage') }} as c
inner join {{ ref('dim_institution_history') }} as h
    on {{ in_force('h', 'c.last_business_date') }}
