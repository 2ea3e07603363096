-- Each rule set is one basis and a ladder: ranks 1..n without gaps or repeats, thresholds
-- strictly increasing with rank. Returns the rule sets that break this.
with ranked as (
    select
        rule_set_id,
        tier_rank,
        min_assets_cny,
        lag(min_assets_cny) over (partition by rule_set_id order by tier_rank) as lower_min,
        row_number() over (partition by rule_set_id order by tier_rank) as position
    from {{ ref('tier_rules') }}
)

select rule_set_id, 'thresholds must increase with rank, ranks must be 1..n' as problem
from ranked
where tier_rank <> position or (lower_min is not null and min_assets_cny <= lower_min)

union all

select rule_set_id, 'one basis per rule set' as problem
from {{ ref('tier_rules') }}
group by rule_set_id
having count(distinct basis) > 1

union all

select rule_set_id, 'a rule set needs a mid_high tier (executive override) and a mass tier' as problem
from {{ ref('tier_rules') }}
group by rule_set_id
having sum(case when tier_group = 'mid_high' then 1 else 0 end) = 0
    or sum(case when tier_group = 'mass' then 1 else 0 end) = 0
