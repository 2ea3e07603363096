-- Every institution roll-up equals the sum of its children (next level down, same
-- period, band and product) for every additive measure. Returns the rows that disagree.
with b as (
    -- the periods the run rebuilt (all of them in a full build), not the whole history
    select * from {{ ref('mart_client_breakdown') }}
    where {{ periods_in_run_window('period_type', 'period_start') }}
),

children as (
    select
        period_type, period_start, band_type, band, product_family, product_group,
        inst_level - 1 as parent_level,
        parent_inst_code,
        sum(account_count) as account_count,
        sum(period_end_balance_cny) as period_end_balance_cny,
        sum(balance_sum_cny) as balance_sum_cny,
        sum(daily_avg_balance_cny) as daily_avg_balance_cny,
        sum(period_end_balance_change_cny) as period_end_balance_change_cny,
        sum(daily_avg_balance_change_cny) as daily_avg_balance_change_cny,
        max(client_count) as largest_child_client_count,
        sum(client_count) as child_client_count
    from b
    where inst_level > 1
    group by 1, 2, 3, 4, 5, 6, 7, 8
)

select p.*, c.*
from b as p
left join children as c
    on p.period_type = c.period_type
    and p.period_start = c.period_start
    and p.band_type = c.band_type
    and p.band = c.band
    and p.product_family = c.product_family
    and p.product_group = c.product_group
    and p.inst_level = c.parent_level
    and p.inst_code = c.parent_inst_code
where p.inst_level < 4
  and (
    c.parent_inst_code is null
    or p.account_count <> c.account_count
    or p.period_end_balance_cny <> c.period_end_balance_cny
    or p.balance_sum_cny <> c.balance_sum_cny
    or p.daily_avg_balance_cny <> c.daily_avg_balance_cny
    or coalesce(p.period_end_balance_change_cny, 0) <> coalesce(c.period_end_balance_change_cny, 0)
    or coalesce(p.daily_avg_balance_change_cny, 0) <> coalesce(c.daily_avg_balance_change_cny, 0)
    -- distinct clients: a parent has at least its largest child's and at most the sum
    or p.client_count < c.largest_child_client_count
    or p.client_count > c.child_client_count
  )
