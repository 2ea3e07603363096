{#- Incremental by period: a run rewrites the periods holding its window's months and the
    period after each of them when it exists (its change from the previous period follows a
    late correction); the cells of the periods before those are read for that change. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_id',
        on_schema_change='fail'
    )
}}

{%- set levels = institution_levels() -%}
{%- set cell_keys = ['period_type', 'period_start', 'inst_level', 'inst_code', 'band_type', 'band', 'product_family', 'product_group'] -%}

with periods as (
    select * from {{ ref('int_breakdown_periods') }}
),

rebuilt as (
    select period_type, period_start from periods
    {% if is_incremental() %}
    where {{ periods_in_run_window('period_type', 'period_start') }}
    union
    select following.period_type, following.period_start
    from periods as following
    inner join periods as touched
        on following.period_type = touched.period_type
        and following.previous_period_start = touched.period_start
    where {{ periods_in_run_window('touched.period_type', 'touched.period_start') }}
    {% endif %}
),

cells as (
    select c.*
    from {{ ref('int_breakdown_cells') }} as c
    {% if is_incremental() %}
    inner join (
        select period_type, period_start from rebuilt
        union
        select p.period_type, p.previous_period_start
        from periods as p
        inner join rebuilt as r on p.period_type = r.period_type and p.period_start = r.period_start
    ) as needed
        on c.period_type = needed.period_type and c.period_start = needed.period_start
    {% endif %}
),

-- a period names and places its institutions as they stood in its last loaded month
institutions as (
    select * from {{ ref('int_institution_monthly') }}
),

period_tree as (
    select pr.period_type, pr.period_start, t.*
    from periods as pr
    inner join institutions as t on t.month_start = pr.last_month_start
),

shifted_previous as (
    select
        c.*,
        pr.period_start as next_period_start
    from cells as c
    inner join periods as pr
        on c.period_type = pr.period_type and c.period_start = pr.previous_period_start
),

with_previous as (
    select
        {%- for key in cell_keys %}
        {%- if key == 'period_start' %}
        coalesce(c.period_start, p.next_period_start) as period_start,
        {%- else %}
        coalesce(c.{{ key }}, p.{{ key }}) as {{ key }},
        {%- endif %}
        {%- endfor %}
        coalesce(c.is_direct_booking, p.is_direct_booking) as is_direct_booking,
        {#- a cell only the previous period had (nothing booked there now) goes on this
            period's tree: an outlet moved since is listed under its new parent #}
        {%- for n in levels %}
        coalesce(
            c.{{ levels[n] }}_code,
            case when t.inst_code is not null then {{ institution_level_code('p.inst_code', 't', 'p.inst_level', n) }} end,
            p.{{ levels[n] }}_code
        ) as {{ levels[n] }}_code,
        {%- endfor %}
        coalesce(c.client_count, 0) as client_count,
        coalesce(c.account_count, 0) as account_count,
        coalesce(c.key_client_count, 0) as key_client_count,
        cast(coalesce(c.period_end_balance_cny, 0) as decimal(24, 2)) as period_end_balance_cny,
        cast(coalesce(c.balance_sum_cny, 0) as decimal(24, 2)) as balance_sum_cny,
        cast(coalesce(c.daily_avg_balance_cny, 0) as decimal(24, 2)) as daily_avg_balance_cny,
        p.period_end_balance_cny as previous_period_end_balance_cny,
        p.daily_avg_balance_cny as previous_daily_avg_balance_cny
    from cells as c
    full outer join shifted_previous as p
        on c.period_type = p.period_type
        and c.period_start = p.next_period_start
        {%- for key in cell_keys if key not in ('period_type', 'period_start') %}
        and c.{{ key }} = p.{{ key }}
        {%- endfor %}
    left join period_tree as t
        on c.period_type is null
        and t.period_type = p.period_type
        and t.period_start = p.next_period_start
        and t.inst_code = p.inst_code
),

measured as (
    select
        w.*,
        pr.period_end_date,
        pr.last_business_date,
        pr.last_month_start,
        pr.days_covered,
        pr.last_business_date = pr.period_end_date
            and pr.days_loaded = {{ dbt.datediff('pr.period_start', 'pr.period_end_date', 'day') }} + 1 as is_period_complete,
        prev.period_start is not null as has_previous_period,
        case when prev.period_start is not null
            then cast(w.period_end_balance_cny - coalesce(w.previous_period_end_balance_cny, 0) as decimal(24, 2))
        end as period_end_balance_change_cny,
        case when prev.period_start is not null
            then cast(w.daily_avg_balance_cny - coalesce(w.previous_daily_avg_balance_cny, 0) as decimal(24, 2))
        end as daily_avg_balance_change_cny,
        case w.inst_level
            {%- for n in levels if n > 1 %}
            when {{ n }} then w.{{ levels[n - 1] }}_code
            {%- endfor %}
        end as parent_inst_code
    from with_previous as w
    inner join periods as pr on w.period_type = pr.period_type and w.period_start = pr.period_start
    left join periods as prev on pr.period_type = prev.period_type and pr.previous_period_start = prev.period_start
),

{%- set share_measures = ['client_count', 'account_count', 'key_client_count'] %}

shared as (
    select
        m.*,
        {%- for measure in share_measures %}
        {{ share('m.' ~ measure, 'parent.' ~ measure) }} as {{ measure | replace('_count', '') }}_share,
        {%- endfor %}
        {%- for measure in share_measures %}
        {{ share('m.' ~ measure, 'sum(m.' ~ measure ~ ') over (partition by m.period_type, m.period_start, m.inst_level, m.inst_code, m.band_type, m.product_family, m.product_group)') }} as {{ measure | replace('_count', '') }}_share_in_band_type{{ "," if not loop.last }}
        {%- endfor %}
    from measured as m
    left join measured as parent
        on m.period_type = parent.period_type
        and m.period_start = parent.period_start
        and m.band_type = parent.band_type
        and m.band = parent.band
        and m.product_family = parent.product_family
        and m.product_group = parent.product_group
        and parent.inst_level = m.inst_level - 1
        and parent.inst_code = m.parent_inst_code
)

select
    {{ period_id('s.period_type', 's.period_start') }} as period_id,
    s.period_type,
    s.period_start,
    s.period_end_date,
    s.last_business_date,
    s.is_period_complete,
    cast(s.days_covered as integer) as days_covered,
    cast(s.inst_level as integer) as inst_level,
    case s.inst_level {% for n, name in levels.items() %}when {{ n }} then '{{ name }}' {% endfor %}end as level_name,
    s.inst_code,
    coalesce(i.inst_name, 'Unknown institution') as inst_name,
    s.is_direct_booking,
    s.parent_inst_code,
    {%- for n, name in levels.items() %}
    s.{{ name }}_code,
    {%- endfor %}
    s.band_type,
    s.band,
    s.product_family,
    s.product_group,
    cast(s.client_count as bigint) as client_count,
    s.client_share,
    s.client_share_in_band_type,
    cast(s.account_count as bigint) as account_count,
    s.account_share,
    s.account_share_in_band_type,
    cast(s.key_client_count as bigint) as key_client_count,
    s.key_client_share,
    s.key_client_share_in_band_type,
    s.period_end_balance_cny,
    s.previous_period_end_balance_cny,
    s.period_end_balance_change_cny,
    s.balance_sum_cny,
    s.daily_avg_balance_cny,
    s.previous_daily_avg_balance_cny,
    s.daily_avg_balance_change_cny,
    s.has_previous_period
from shared as s
inner join rebuilt as r on s.period_type = r.period_type and s.period_start = r.period_start
left join institutions as i on s.inst_code = i.inst_code and s.last_month_start = i.month_start
