{#- Built from the change points only (one row per tier change, departure and loaded month,
    int_client_tier_changes), so its nightly cost follows the number of versions, not
    clients x months of history. -#}

with

changes as (
    select * from {{ ref('int_client_tier_changes') }}
),

latest as (
    select max(month_start) as latest_month_start from changes where change_type = 'loaded'
),

client_changes as (
    select
        *,
        lead(month_start) over (partition by client_id order by month_start) as next_change_month_start
    from changes
    where change_type in ('start', 'stop')
),

versions as (
    select
        client_id,
        row_number() over (partition by client_id order by month_start) as version_number,
        month_start as valid_from,
        next_change_month_start as valid_to,
        final_tier,
        computed_tier,
        tier_group,
        override_source,
        rule_set_id
    from client_changes
    where change_type = 'start'
)

select
    v.client_id,
    cast(v.version_number as integer) as version_number,
    v.valid_from,
    v.valid_to,
    v.valid_to is null as is_current,
    v.final_tier,
    v.computed_tier,
    v.tier_group,
    v.override_source,
    v.rule_set_id,
    cast({{ dbt.datediff('v.valid_from', "coalesce(v.valid_to, " ~ dbt.dateadd('month', 1, 'l.latest_month_start') ~ ")", 'month') }} as integer) as months_in_version
from versions as v
cross join latest as l
