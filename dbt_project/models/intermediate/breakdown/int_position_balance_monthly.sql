{#- A view: the positions of a month are a union of the account, loan and holding month states,
    written there already. Stored, they were 2.9M rows at 1M clients written again every
    night (3.3 s of a night's write) for two readers, each of which reads one month's slot
    with constant month bounds that DuckDB pushes into the three scans
    (docs/models.md, "Cost at scale"). -#}
{{ config(materialized='view') }}

with products as (
    select product_code, product_group, product_family from {{ ref('dim_product') }}
),

-- a wealth holding books at its client's home institution of the month's last loaded day
clients as (
    select client_id, month_start, inst_code from {{ ref('int_client_monthly') }}
),

-- institutions known in the position's month (its tree as of the month)
institutions as (
    select month_start, inst_code from {{ ref('int_institution_monthly') }}
),

positions as (
    select
        'deposit' as position_type, account_id as position_id, client_id, inst_code, product_code,
        month_start, month_end_balance_cny, balance_sum_cny, daily_avg_balance_cny
    from {{ ref('int_account_balance_monthly') }}
    union all
    select
        'loan', loan_id, client_id, inst_code, product_code,
        month_start, month_end_balance_cny, balance_sum_cny, daily_avg_balance_cny
    from {{ ref('int_loan_balance_monthly') }}
    union all
    select
        'wealth', h.holding_id, h.client_id, c.inst_code, h.product_code,
        h.month_start, h.month_end_balance_cny, h.balance_sum_cny, h.daily_avg_balance_cny
    from {{ ref('int_holding_value_monthly') }} as h
    left join clients as c on h.client_id = c.client_id and h.month_start = c.month_start
)

select
    p.position_type,
    p.position_id,
    p.month_start,
    p.client_id,
    coalesce(i.inst_code, 'UNKNOWN') as inst_code,
    coalesce(pr.product_code, 'UNKNOWN') as product_code,
    coalesce(pr.product_family, 'unknown') as product_family,
    coalesce(pr.product_group, 'unknown') as product_group,
    p.month_end_balance_cny,
    p.balance_sum_cny,
    p.daily_avg_balance_cny
from positions as p
left join institutions as i on p.inst_code = i.inst_code and p.month_start = i.month_start
left join products as pr on p.product_code = pr.product_code
