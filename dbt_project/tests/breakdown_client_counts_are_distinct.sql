-- Client counts are distinct at every level: recomputed independently from the positions
-- (month periods, no banding, family totals), every cell's client_count must equal the
-- number of distinct clients with a position under that institution (on the month's tree).
-- It reads the positions and the tree beside the mart: meta.dagster.ref makes it a check of
-- the mart in Dagster (a singular test with one ref is one by itself), not a bare observation.
{{ config(meta={'dagster': {'ref': {'name': 'mart_client_breakdown'}}}) }}
{%- set levels = institution_levels() %}
with positions as (
    select p.month_start, p.client_id, p.product_family, p.inst_code, i.*
    from {{ ref('int_position_balance_monthly') }} as p
    left join (
        select
            month_start as tree_month_start,
            inst_code as booking_inst_code,
            coalesce(head_office_code, inst_code) as code_1,
            coalesce(branch_code, head_office_code, inst_code) as code_2,
            coalesce(sub_branch_code, branch_code, head_office_code, inst_code) as code_3,
            coalesce(outlet_code, sub_branch_code, branch_code, head_office_code, inst_code) as code_4
        from {{ ref('int_institution_monthly') }}
    ) as i on p.inst_code = i.booking_inst_code and p.month_start = i.tree_month_start
    -- the months the run rebuilt (all of them in a full build), not the whole history
    where {{ months_in_run_window('p.month_start') }}
),

-- a client once per month, family and booking place before the four counts: read four times,
-- these rows are fewer and narrower than the positions (a quarter less time at 1M clients)
client_cells as (
    select distinct month_start, product_family, client_id, code_1, code_2, code_3, code_4
    from positions
),

expected as (
    {%- for n in levels %}
    select month_start, product_family, {{ n }} as inst_level, code_{{ n }} as inst_code,
        count(distinct client_id) as client_count
    from client_cells
    group by 1, 2, 3, 4
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

actual as (
    select period_start as month_start, product_family, inst_level, inst_code, client_count
    from {{ ref('mart_client_breakdown') }}
    where period_type = 'month' and band_type = 'all' and product_group = 'all' and account_count > 0
        and {{ months_in_run_window('period_start') }}
)

select *
from expected as e
full outer join actual as a
    on e.month_start = a.month_start
    and e.product_family = a.product_family
    and e.inst_level = a.inst_level
    and e.inst_code = a.inst_code
where e.client_count is distinct from a.client_count
