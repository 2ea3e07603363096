{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='call_week_start',
        on_schema_change='fail',
        pre_hook="{{ call_list_clear_window_weeks() }}"
    )
}}

with

-- inlined where it is read, so each read scans only the months it needs
tiers as {{ inline_cte() }} (
    select *
    from {{ ref('mart_client_tier') }}
    where client_type = 'I'
),

-- One list per week the run window touches, drawn as of that week's last date in the
-- window (never past the last loaded date): a range backfill draws each week's list as the
-- week's last nightly run would have left it, and a nightly run redraws its own week.
loaded as (
    select min(month_start) as first_month_start, max(last_business_date) as last_loaded_date
    from {{ ref('int_client_tier_monthly') }}
),

list_dates as (
    select
        cast({{ dbt.date_trunc('week', 'd.calendar_date') }} as date) as call_week_start,
        max(d.calendar_date) as as_of_date
    from {{ ref('dim_date') }} as d
    cross join loaded as l
    where {{ in_run_window('d.calendar_date') }}
        and d.calendar_date between l.first_month_start and l.last_loaded_date
    group by cast({{ dbt.date_trunc('week', 'd.calendar_date') }} as date)
),

-- Tiers of the latest month complete by the as-of date. A month still running is never
-- used: its daily averages are understated, and its tiers hold only the month's latest state,
-- so a range run could not draw a mid-month week as that week's nightly run did. A bank's
-- first month therefore has no list. Chosen among the months (a few rows), and only that
-- month's and the month before's tiers are read: the cost of a list stays that of a month.
tier_months as (
    select distinct month_start, is_month_complete
    from tiers
),

tier_month as (
    select
        a.call_week_start,
        a.as_of_date,
        max(t.month_start) as tier_month_start
    from list_dates as a
    inner join tier_months as t
        on t.is_month_complete and {{ tiers_month_end('t.month_start') }} <= a.as_of_date
    group by a.call_week_start, a.as_of_date
),

current_tiers as (
    select t.*, tm.call_week_start, tm.as_of_date
    from tiers as t
    inner join tier_month as tm on t.month_start = tm.tier_month_start
    where t.rm_id is not null and t.rm_id <> 'UNKNOWN'
),

previous_tiers as (
    select client_id, month_start, final_tier, final_tier_rank
    from tiers
    where month_start in (
        select cast({{ dbt.dateadd('month', -1, 'tier_month_start') }} as date) from tier_month
    )
),

candidates as (
    select
        c.*,
        p.final_tier as previous_final_tier,
        coalesce(c.final_tier_rank < p.final_tier_rank, false) as is_tier_dropped
    from current_tiers as c
    left join previous_tiers as p
        on p.client_id = c.client_id
        and p.month_start = cast({{ dbt.dateadd('month', -1, 'c.month_start') }} as date)
),

reasons as (
    select call_week_start, client_id, 'tier_dropped' as call_reason from candidates where is_tier_dropped
    union all
    select call_week_start, client_id, 'near_next_tier' from candidates where is_near_next_tier
    union all
    select call_week_start, client_id, 'hidden_potential' from candidates where has_hidden_potential
),

last_contacts as (
    select a.call_week_start, ct.client_id, max(ct.contact_date) as last_contact_date
    from {{ ref('stg_crm__contacts') }} as ct
    inner join list_dates as a on ct.contact_date <= a.as_of_date
    group by a.call_week_start, ct.client_id
),

eligible as (
    select
        r.call_week_start,
        r.client_id,
        r.call_reason,
        clr.priority,
        row_number() over (partition by r.call_week_start, r.client_id order by clr.priority) as rn
    from reasons as r
    inner join {{ ref('call_list_rules') }} as clr on clr.call_reason = r.call_reason
    inner join list_dates as a on a.call_week_start = r.call_week_start
    left join last_contacts as lc
        on lc.call_week_start = r.call_week_start and lc.client_id = r.client_id
    where lc.last_contact_date is null
        or {{ dbt.datediff('lc.last_contact_date', 'a.as_of_date', 'day') }} >= clr.cooldown_days
)

select
    c.call_week_start,
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
inner join eligible as e
    on e.call_week_start = c.call_week_start and e.client_id = c.client_id and e.rn = 1
left join last_contacts as lc
    on lc.call_week_start = c.call_week_start and lc.client_id = c.client_id
