-- Shares within a parent sum to 100%: account shares of an institution's children, and
-- client / account shares of the bands within a band type. Returns the groups that do not.
with b as (
    -- the periods the run rebuilt (all of them in a full build), not the whole history
    select * from {{ ref('mart_client_breakdown') }}
    where {{ periods_in_run_window('period_type', 'period_start') }}
),

institution_groups as (
    select
        'account_share of children' as check_name,
        period_type, period_start, band_type, band, product_family, product_group,
        inst_level, parent_inst_code as group_code,
        sum(account_share) as share_total
    from b
    where inst_level > 1
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    having sum(account_count) > 0
),

band_groups as (
    select
        'client_share_in_band_type' as check_name,
        period_type, period_start, band_type, 'all' as band, product_family, product_group,
        inst_level, inst_code as group_code,
        sum(client_share_in_band_type) as share_total
    from b
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    having sum(client_count) > 0
    union all
    select
        'account_share_in_band_type',
        period_type, period_start, band_type, 'all', product_family, product_group,
        inst_level, inst_code,
        sum(account_share_in_band_type)
    from b
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
    having sum(account_count) > 0
)

select * from institution_groups where abs(share_total - 1.0) > 1e-9
union all
select * from band_groups where abs(share_total - 1.0) > 1e-9
