{#- Built from the change points only (one row per tier change, departure and loaded month,
    int_client_tier_changes), so its cost follows the number of versions, not clients x
    months of history.

    Incremental by client on DuckDB: a run rewrites the clients whose versions it changes,
    each from all its change points. The changes model rewrote the window's months and the
    month after, and left the months before as they were. So a client's versions change
    when its change points in those months differ from the ones its stored versions imply
    there (a version's start is a start point; its end, where no version of the client
    starts, a stop point), or when its current version's months_in_version no longer counts
    to the latest loaded month (the first run of a month). Comparing the points costs one
    join over the rewritten months; the versions are then built only for the clients that
    differ (in a bank's first month every client has a change point in the
    open month, yet on a night at 1M clients about 6,000 of 963,431 had a version that
    changed). A client left without any version goes in the post-hook
    (macros/tiers/tier_history.sql). On Spark a table, like dim_client: its delete+insert
    overwrites partitions of the key, which a client number cannot be. -#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key='client_id',
        on_schema_change='fail',
        post_hook="{{ tier_history_drop_vanished() }}"
    )
}}
{%- set attributes = tier_version_attributes() %}

with

changes as (
    select * from {{ ref('int_client_tier_changes') }}
),

latest as (
    select max(month_start) as latest_month_start from changes where change_type = 'loaded'
),

{% if is_incremental() %}
-- the change points of the rewritten months, as the changes model has them now
new_points as (
    select client_id, month_start, change_type, {{ attributes | join(', ') }}
    from changes
    where change_type <> 'loaded' and {{ tier_change_months('month_start') }}
),

-- and as the stored versions imply them: each version's start, and its end where no version
-- of the client starts (a stop)
stored_window as (
    select client_id, valid_from, valid_to, {{ attributes | join(', ') }}
    from {{ this }}
    where ({{ tier_change_months('valid_from') }}) or ({{ tier_change_months('valid_to') }})
),

stored_points as (
    select client_id, valid_from as month_start, 'start' as change_type, {{ attributes | join(', ') }}
    from stored_window
    where {{ tier_change_months('valid_from') }}
    union all
    select
        e.client_id,
        e.valid_to,
        'stop',
        {%- for col in attributes %}
        cast(null as {{ dbt.type_string() }}){{ "," if not loop.last }}
        {%- endfor %}
    from stored_window as e
    left join stored_window as s on s.client_id = e.client_id and s.valid_from = e.valid_to
    where ({{ tier_change_months('e.valid_to') }}) and s.client_id is null
),

-- a client holds one point a month: one keyed join finds the points added, gone or changed
-- (two set differences over every column took twice the CPU at 1M clients)
touched as (
    select coalesce(n.client_id, s.client_id) as client_id
    from new_points as n
    full outer join stored_points as s on n.client_id = s.client_id and n.month_start = s.month_start
    where n.client_id is null
        or s.client_id is null
        {%- for col in ['change_type'] + attributes %}
        or n.{{ col }} is distinct from s.{{ col }}
        {%- endfor %}
    union
    select stored.client_id
    from {{ this }} as stored
    cross join latest as l
    where stored.is_current
        and cast({{ dbt.dateadd('month', 'stored.months_in_version', 'stored.valid_from') }} as date)
            <> cast({{ dbt.dateadd('month', 1, 'l.latest_month_start') }} as date)
),
{% endif %}

client_changes as (
    select
        *,
        lead(month_start) over (partition by client_id order by month_start) as next_change_month_start
    from changes
    where change_type in ('start', 'stop')
    {% if is_incremental() %}
        and client_id in (select client_id from touched)
    {% endif %}
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
),

history as (
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
)

select * from history
