{#- Built from the change points only (one row per tier change, departure and loaded month,
    int_client_tier_changes), so its cost follows the number of versions, not clients x
    months of history.

    Incremental by client on DuckDB: a run rewrites the clients whose versions it can
    change, each from all its change points: those with a change point in the months the
    changes model rewrote (the window's months and the month after), those with a stored
    version that starts or ends in them (a point there may have gone), and every current
    version whose months_in_version no longer counts to the latest loaded month (the first
    run of a month). Of those, only the clients whose versions differ from the stored ones
    are written (in a bank's first month every client has a change point in the open month,
    yet on a night at 1M clients 6,178 of 963,431 had a version that changed). So a night
    writes the clients whose tier moved since the night before, not every version ever
    kept. A client left without any version goes in the post-hook
    (macros/tiers/tier_history.sql). On Spark a table, like dim_client: its
    delete+insert overwrites partitions of the key, which a client number cannot be. -#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key='client_id',
        on_schema_change='fail',
        post_hook="{{ tier_history_drop_vanished() }}"
    )
}}

with

changes as (
    select * from {{ ref('int_client_tier_changes') }}
),

latest as (
    select max(month_start) as latest_month_start from changes where change_type = 'loaded'
),

{% if is_incremental() %}
touched as (
    select client_id
    from changes
    where change_type <> 'loaded' and {{ tier_change_months('month_start') }}
    union
    select stored.client_id
    from {{ this }} as stored
    cross join latest as l
    where ({{ tier_change_months('stored.valid_from') }})
        or ({{ tier_change_months('stored.valid_to') }})
        or (stored.is_current
            and cast({{ dbt.dateadd('month', 'stored.months_in_version', 'stored.valid_from') }} as date)
                <> cast({{ dbt.dateadd('month', 1, 'l.latest_month_start') }} as date))
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

{% if is_incremental() %}
-- the touched clients whose versions differ from the stored ones (a version added, changed
-- or gone): the others are written as they are stored, so they are not written at all.
-- Compared by position: the stored table has this select's columns, in its order
-- (on_schema_change fail).
, stored_touched as (
    select * from {{ this }} where client_id in (select client_id from touched)
),

changed as (
    select client_id from (select * from history except select * from stored_touched) as added
    union
    select client_id from (select * from stored_touched except select * from history) as removed
)

select * from history where client_id in (select client_id from changed)
{% else %}
select * from history
{% endif %}
