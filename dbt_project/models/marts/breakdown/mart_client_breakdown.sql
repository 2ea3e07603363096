{%- set levels = {1: 'head_office', 2: 'branch', 3: 'sub_branch', 4: 'outlet'} -%}
{%- set period_lengths = {'month': 1, 'quarter': 3, 'year': 12} -%}
{%- set cell_keys = ['period_type', 'period_start', 'inst_level', 'inst_code', 'band_type', 'band', 'product_family', 'product_group'] -%}

with month_coverage as (
    select * from {{ ref('int_balance_month_coverage') }}
),

period_months as (
    {%- for period_type in period_lengths %}
    select
        '{{ period_type }}' as period_type,
        cast({{ dbt.date_trunc(period_type, 'month_start') }} as date) as period_start,
        month_start,
        days_covered,
        days_loaded,
        last_business_date
    from month_coverage
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

periods as (
    select
        period_type,
        period_start,
        case period_type
            {%- for period_type, n in period_lengths.items() %}
            when '{{ period_type }}' then cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', n, 'period_start')) }} as date)
            {%- endfor %}
        end as period_end_date,
        case period_type
            {%- for period_type, n in period_lengths.items() %}
            when '{{ period_type }}' then cast({{ dbt.dateadd('month', -n, 'period_start') }} as date)
            {%- endfor %}
        end as previous_period_start,
        max(month_start) as last_month_start,
        max(last_business_date) as last_business_date,
        sum(days_covered) as days_covered,
        sum(days_loaded) as days_loaded
    from period_months
    group by period_type, period_start
),

positions as (
    select * from {{ ref('int_position_balance_monthly') }}
),

position_periods as (
    select
        pm.period_type,
        pm.period_start,
        p.position_type,
        p.position_id,
        p.client_id,
        p.inst_code,
        p.product_family,
        p.product_group,
        cast(sum(case when p.month_start = pr.last_month_start then p.month_end_balance_cny else 0 end) as decimal(24, 2)) as period_end_balance_cny,
        cast(sum(p.balance_sum_cny) as decimal(24, 2)) as balance_sum_cny,
        max(pr.days_covered) as days_covered
    from positions as p
    inner join period_months as pm on p.month_start = pm.month_start
    inner join periods as pr on pm.period_type = pr.period_type and pm.period_start = pr.period_start
    group by pm.period_type, pm.period_start, p.position_type, p.position_id, p.client_id,
        p.inst_code, p.product_family, p.product_group
),

client_period_bands as (
    select period_type, period_start, client_id, band_type, band
    from (
        select
            pm.period_type,
            pm.period_start,
            b.client_id,
            b.band_type,
            b.band,
            row_number() over (
                partition by pm.period_type, pm.period_start, b.client_id, b.band_type
                order by b.month_start desc
            ) as recency
        from {{ ref('int_client_band_monthly') }} as b
        inner join period_months as pm on b.month_start = pm.month_start
    ) as ranked
    where recency = 1
),

client_period_key as (
    select period_type, period_start, client_id, is_key_client
    from (
        select
            pm.period_type,
            pm.period_start,
            k.client_id,
            k.is_key_client,
            row_number() over (
                partition by pm.period_type, pm.period_start, k.client_id order by k.month_start desc
            ) as recency
        from {{ ref('int_client_key_monthly') }} as k
        inner join period_months as pm on k.month_start = pm.month_start
    ) as ranked
    where recency = 1
),

institutions as (
    select * from {{ ref('dim_institution') }}
),

position_paths as (
    select
        pp.*,
        coalesce(k.is_key_client, false) as is_key_client,
        {%- for n, name in levels.items() %}
        {%- if n == 1 %}
        coalesce(i.head_office_code, pp.inst_code) as code_1,
        {%- else %}
        coalesce(i.{{ name }}_code, i.{{ levels[n - 1] }}_code, {% for m in range(n - 2, 0, -1) %}i.{{ levels[m] }}_code, {% endfor %}pp.inst_code) as code_{{ n }},
        {%- endif %}
        i.{{ name }}_code is null as is_direct_{{ n }}{{ "," if not loop.last }}
        {%- endfor %}
    from position_periods as pp
    left join institutions as i on pp.inst_code = i.inst_code
    left join client_period_key as k
        on pp.period_type = k.period_type and pp.period_start = k.period_start and pp.client_id = k.client_id
),

levels as (
    {%- for n in levels %}
    select {{ n }} as inst_level{{ " union all" if not loop.last }}
    {%- endfor %}
),

position_levels as (
    select
        p.*,
        l.inst_level,
        case l.inst_level {% for n in levels %}when {{ n }} then p.code_{{ n }} {% endfor %}end as cell_inst_code,
        case l.inst_level {% for n in levels %}when {{ n }} then p.is_direct_{{ n }} {% endfor %}end as is_direct_booking
    from position_paths as p
    cross join levels as l
),

position_bands as (
    select pl.*, 'all' as band_type, 'all' as band
    from position_levels as pl
    union all
    select pl.*, b.band_type, b.band
    from position_levels as pl
    inner join client_period_bands as b
        on pl.period_type = b.period_type and pl.period_start = b.period_start and pl.client_id = b.client_id
),

position_cells as (
    select
        period_type, period_start, inst_level, cell_inst_code as inst_code, is_direct_booking,
        {%- for n in levels %}
        case when inst_level >= {{ n }} then code_{{ n }} end as {{ levels[n] }}_code,
        {%- endfor %}
        band_type, band, product_family, product_group,
        client_id, is_key_client, period_end_balance_cny, balance_sum_cny, days_covered
    from position_bands
    union all
    select
        period_type, period_start, inst_level, cell_inst_code, is_direct_booking,
        {%- for n in levels %}
        case when inst_level >= {{ n }} then code_{{ n }} end,
        {%- endfor %}
        band_type, band, product_family, 'all',
        client_id, is_key_client, period_end_balance_cny, balance_sum_cny, days_covered
    from position_bands
),

cells as (
    select
        {{ cell_keys | join(', ') }},
        max(case when is_direct_booking then 1 else 0 end) = 1 as is_direct_booking,
        {%- for n in levels %}
        max({{ levels[n] }}_code) as {{ levels[n] }}_code,
        {%- endfor %}
        count(distinct client_id) as client_count,
        count(*) as account_count,
        count(distinct case when is_key_client then client_id end) as key_client_count,
        cast(sum(period_end_balance_cny) as decimal(24, 2)) as period_end_balance_cny,
        cast(sum(balance_sum_cny) as decimal(24, 2)) as balance_sum_cny,
        cast(sum({{ money_divide('balance_sum_cny', 'days_covered') }}) as decimal(24, 2)) as daily_avg_balance_cny
    from position_cells
    group by {{ cell_keys | join(', ') }}
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
        {%- for n in levels %}
        coalesce(c.{{ levels[n] }}_code, p.{{ levels[n] }}_code) as {{ levels[n] }}_code,
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
),

measured as (
    select
        w.*,
        pr.period_end_date,
        pr.last_business_date,
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
left join institutions as i on s.inst_code = i.inst_code
