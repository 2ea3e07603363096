{#- A month's changes depend on it and the month before: a run reads one month more before
    its window and writes one month more after it (a corrected month moves the next
    month's changes too). -#}
{%- set attributes = tier_version_attributes() -%}

with tiers as (
    select client_id, month_start, {{ attributes | join(', ') }}
    from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start', months_after=1, months_before=1) }}{% endif %}
),

loaded_months as (
    select distinct month_start from tiers
),

compared as (
    select
        c.*,
        p.client_id as previous_client_id,
        {%- for col in attributes %}
        p.{{ col }} as previous_{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from tiers as c
    left join tiers as p
        on p.client_id = c.client_id
        and p.month_start = cast({{ dbt.dateadd('month', -1, 'c.month_start') }} as date)
),

starts as (
    select
        month_start,
        client_id,
        'start' as change_type,
        {{ attributes | join(', ') }}
    from compared
    where previous_client_id is null
        {%- for col in attributes %}
        or previous_{{ col }} <> {{ col }}
        {%- endfor %}
),

stops as (
    select
        m.month_start,
        p.client_id,
        'stop' as change_type,
        {%- for col in attributes %}
        cast(null as {{ dbt.type_string() }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from tiers as p
    inner join loaded_months as m
        on m.month_start = cast({{ dbt.dateadd('month', 1, 'p.month_start') }} as date)
    left join tiers as c on c.client_id = p.client_id and c.month_start = m.month_start
    where c.client_id is null
),

-- one marker per loaded month, so that a month left without changes by a correction still
-- replaces its stored rows (delete+insert replaces the months its rows hold)
loaded as (
    select
        month_start,
        cast(null as {{ dbt.type_string() }}) as client_id,
        'loaded' as change_type,
        {%- for col in attributes %}
        cast(null as {{ dbt.type_string() }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from loaded_months
),

changes as (
    select * from starts
    union all
    select * from stops
    union all
    select * from loaded
)

select *
from changes
{% if is_incremental() %}where {{ tier_change_months('month_start') }}{% endif %}
