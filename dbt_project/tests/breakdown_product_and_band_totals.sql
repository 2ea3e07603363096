-- Product groups add up to their family total (product_group 'all') in every slice, and a
-- family total holds at least as many distinct clients as its largest group.
with b as (
    -- the periods the run rebuilt (all of them in a full build), not the whole history
    select * from {{ ref('mart_client_breakdown') }}
    where {{ periods_in_run_window('period_type', 'period_start') }}
),

groups as (
    select
        period_type, period_start, inst_level, inst_code, band_type, band, product_family,
        sum(account_count) as account_count,
        sum(period_end_balance_cny) as period_end_balance_cny,
        sum(daily_avg_balance_cny) as daily_avg_balance_cny,
        max(client_count) as largest_group_client_count
    from b
    where product_group <> 'all'
    group by 1, 2, 3, 4, 5, 6, 7
)

select t.*, g.*
from b as t
left join groups as g
    on t.period_type = g.period_type
    and t.period_start = g.period_start
    and t.inst_level = g.inst_level
    and t.inst_code = g.inst_code
    and t.band_type = g.band_type
    and t.band = g.band
    and t.product_family = g.product_family
where t.product_group = 'all'
  and (
    g.inst_code is null
    or t.account_count <> g.account_count
    or t.period_end_balance_cny <> g.period_end_balance_cny
    or t.daily_avg_balance_cny <> g.daily_avg_balance_cny
    or t.client_count < g.largest_group_client_count
  )
