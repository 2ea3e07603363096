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
)

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
