{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='call_week_start',
        on_schema_change='fail'
    )
}}

with

tiers as (
    select *
    from {{ ref('mart_client_tier') }}
    where client_type = 'I'
),

-- The list is drawn as of the run window's last date, or the last loaded date if earlier.
as_of as (
    select
        case
            when max(last_business_date) < cast('{{ var("end_date") }}' as date) then max(last_business_date)
            else cast('{{ var("end_date") }}' as date)
        end as as_of_date
    from {{ ref('int_client_tier_monthly') }}
),

-- Tiers of the latest complete month (a month still running understates daily averages);
-- the latest month at all when none is complete yet.
tier_month as (
    select
        a.as_of_date,
        coalesce(
            max(case when t.is_month_complete then t.month_start end),
            max(t.month_start)
        ) as tier_month_start
    from as_of as a
    inner join tiers as t on t.month_start <= a.as_of_date
    group by a.as_of_date
),

current_tiers as (
    select t.*, tm.as_of_date
    from tiers as t
    inner join tier_month as tm on t.month_start = tm.tier_month_start
    where t.rm_id is not null and t.rm_id <> 'UNKNOWN'
),

candidates as (
    select
        c.*,
        p.final_tier as previous_final_tier,
        coalesce(c.final_tier_rank < p.final_tier_rank, false) as is_tier_dropped
    from current_tiers as c
    left join tiers as p
        on p.client_id = c.client_id
        and p.month_start = cast({{ dbt.dateadd('month', -1, 'c.month_start') }} as date)
),

reasons as (
    select client_id, 'tier_dropped' as call_reason from candidates where is_tier_dropped
    union all
    select client_id, 'near_next_tier' from candidates where is_near_next_tier
    union all
    select client_id, 'hidden_potential' from candidates where has_hidden_potential
),

last_contacts as (
    select ct.client_id, max(ct.contact_date) as last_contact_date
    from {{ ref('stg_crm__contacts') }} as ct
    cross join as_of as a
    where ct.contact_date <= a.as_of_date
    group by ct.client_id
),

eligible as (
    select
        r.client_id,
        r.call_reason,
        clr.priority,
        row_number() over (partition by r.client_id order by clr.priority) as rn
    from reasons as r
    inner join {{ ref('call_list_rules') }} as clr on clr.call_reason = r.call_reason
    cross join as_of as a
    left join last_contacts as lc on lc.client_id = r.client_id
    where lc.last_contact_date is null
        or {{ dbt.datediff('lc.last_contact_date', 'a.as_of_date', 'day') }} >= clr.cooldown_days
)

select
    cast({{ dbt.date_trunc('week', 'c.as_of_date') }} as date) as call_week_start,
    c.rm_id,
    c.client_id,
    c.as_of_date,
    c.month_start as tier_month_start,
    c.inst_code,
    e.call_reason,
    e.priority as call_priority,
    c.final_tier,
    c.previous_final_tier,
    c.tier_group,
    c.is_tier_dropped,
    c.is_near_next_tier,
    c.has_hidden_potential,
    c.assets_basis_cny,
    c.next_tier,
    {{ to_money('c.next_tier_min_assets_cny - c.assets_basis_cny') }} as gap_to_next_tier_cny,
    lc.last_contact_date
from candidates as c
inner join eligible as e on e.client_id = c.client_id and e.rn = 1
left join last_contacts as lc on lc.client_id = c.client_id
