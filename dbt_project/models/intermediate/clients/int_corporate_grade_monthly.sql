{#- A corporate's settlement band and grade are decided on a whole month. A month still
    running (or a bank's first, partly delivered one) holds only part of a month's settlement:
    on 11-03 a client that settled 130M in October had 12M, and every band and grade (and the
    key clients, and the quarter's and year's bands, which take their latest month's) fell.
    So a month that is not complete carries the band and grade of the month before when that
    month is complete; otherwise (a bank's first months, a client new this month) the month's
    own figures decide. The month's own settlement and loans are shown as they are. -#}
with settlement as (
    select * from {{ ref('int_client_settlement_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

loans as (
    select * from {{ ref('int_client_loan_balance_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

corporate_months as (
    select client_id, month_start from {{ ref('int_client_assets_monthly') }}
    where client_type = 'C' {% if is_incremental() %}and {{ months_in_run_window('month_start') }}{% endif %}
    union
    select client_id, month_start from settlement
    union
    select l.client_id, l.month_start
    from loans as l
    inner join {{ ref('int_client_monthly') }} as c
        on l.client_id = c.client_id and l.month_start = c.month_start
    where c.client_type = 'C'
),

measured as (
    select
        cm.client_id,
        cm.month_start,
        coalesce(s.settlement_amount_cny, 0) as settlement_amount_cny,
        coalesce(l.loan_month_end_cny, 0) as loan_month_end_cny
    from corporate_months as cm
    left join settlement as s
        on cm.client_id = s.client_id and cm.month_start = s.month_start
    left join loans as l
        on cm.client_id = l.client_id and cm.month_start = l.month_start
),

graded as (
    select
        m.client_id,
        m.month_start,
        r.grade,
        row_number() over (partition by m.client_id, m.month_start order by r.priority) as rule_rank
    from measured as m
    inner join {{ ref('corporate_grade_rules') }} as r
        on m.settlement_amount_cny >= r.min_settlement_cny
        or m.loan_month_end_cny >= r.min_loan_balance_cny
),

own_grades as (
    select
        m.client_id,
        m.month_start,
        m.settlement_amount_cny,
        sb.band_code as settlement_band,
        m.loan_month_end_cny,
        lb.band_code as loan_balance_band,
        g.grade
    from measured as m
left join {{ ref('settlement_bands') }} as sb
    on m.settlement_amount_cny >= sb.lower_bound_cny
    and (sb.upper_bound_cny is null or m.settlement_amount_cny < sb.upper_bound_cny)
left join {{ ref('loan_balance_bands') }} as lb
    on m.loan_month_end_cny >= lb.lower_bound_cny
    and (lb.upper_bound_cny is null or m.loan_month_end_cny < lb.upper_bound_cny)
    left join graded as g
        on m.client_id = g.client_id and m.month_start = g.month_start and g.rule_rank = 1
),

coverage as (
    select month_start, is_month_complete from {{ ref('int_balance_month_coverage') }}
),

-- the month before each graded month: graded in this run, or (incremental) stored, the
-- month before the run window's first (a complete month's stored band and grade are its own)
earlier_grades as (
    select client_id, month_start, settlement_band, grade from own_grades
    {%- if is_incremental() %}
    union all
    select client_id, month_start, settlement_band, grade
    from {{ this }}
    where month_start = cast({{ dbt.dateadd('month', -1, run_window_month_start()) }} as date)
    {%- endif %}
)

select
    o.client_id,
    o.month_start,
    o.settlement_amount_cny,
    case when carried.client_id is not null then carried.settlement_band else o.settlement_band end
        as settlement_band,
    o.loan_month_end_cny,
    o.loan_balance_band,
    case when carried.client_id is not null then carried.grade else o.grade end as grade
from own_grades as o
left join coverage as this_month
    on o.month_start = this_month.month_start
left join coverage as month_before
    on month_before.month_start = cast({{ dbt.dateadd('month', -1, 'o.month_start') }} as date)
left join earlier_grades as carried
    on carried.client_id = o.client_id
    and carried.month_start = month_before.month_start
    and month_before.is_month_complete
    and not coalesce(this_month.is_month_complete, false)
