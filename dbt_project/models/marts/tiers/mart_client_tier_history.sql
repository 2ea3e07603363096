with

tiers as (
    select client_id, month_start, final_tier, computed_tier, tier_group, override_source, rule_set_id
    from {{ ref('int_client_tier_monthly') }}
),

latest as (
    select max(month_start) as latest_month_start from tiers
),

flagged as (
    select
        t.*,
        case
            when lag(t.month_start) over w is null then 1
            when lag(t.month_start) over w <> cast({{ dbt.dateadd('month', -1, 't.month_start') }} as date) then 1
            when lag(t.final_tier) over w <> t.final_tier then 1
            when lag(t.computed_tier) over w <> t.computed_tier then 1
            when lag(t.override_source) over w <> t.override_source then 1
            when lag(t.rule_set_id) over w <> t.rule_set_id then 1
            else 0
        end as is_new_version
    from tiers as t
    window w as (partition by t.client_id order by t.month_start)
),

versioned as (
    select
        *,
        sum(is_new_version) over (
            partition by client_id order by month_start rows between unbounded preceding and current row
        ) as version_number
    from flagged
),

islands as (
    select
        client_id,
        version_number,
        min(month_start) as valid_from,
        max(month_start) as last_month_start,
        max(final_tier) as final_tier,
        max(computed_tier) as computed_tier,
        max(tier_group) as tier_group,
        max(override_source) as override_source,
        max(rule_set_id) as rule_set_id,
        count(*) as months_in_version
    from versioned
    group by client_id, version_number
)

select
    i.client_id,
    cast(i.version_number as integer) as version_number,
    i.valid_from,
    case
        when i.last_month_start = l.latest_month_start then cast(null as date)
        else cast({{ dbt.dateadd('month', 1, 'i.last_month_start') }} as date)
    end as valid_to,
    i.last_month_start = l.latest_month_start as is_current,
    i.final_tier,
    i.computed_tier,
    i.tier_group,
    i.override_source,
    i.rule_set_id,
    cast(i.months_in_version as integer) as months_in_version
from islands as i
cross join latest as l
