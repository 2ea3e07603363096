{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_id',
        on_schema_change='fail'
    )
}}

{%- set levels = institution_levels() -%}
{%- set position_keys = ['position_type', 'position_id', 'client_id', 'inst_code', 'product_family', 'product_group'] -%}
{%- set cell_keys = ['period_type', 'period_start', 'inst_level', 'inst_code', 'band_type', 'band', 'product_family', 'product_group'] -%}
{%- set sums = ['period_end_balance_cny', 'balance_sum_cny', 'daily_avg_balance_cny'] -%}
{%- set last_month_bounds -%}
    month_start between {{ run_window_month_start() }}
        and cast({{ dbt.dateadd('month', 11, dbt.date_trunc('year', "cast('" ~ run_end_date() ~ "' as date)")) }} as date)
{%- endset -%}

{#- How a client is counted once per cell without a count(distinct) over every position x
    level x band fan-out: positions are folded into one row per client and product cell
    first. Almost every client books everything at one institution: those rows are added up
    per booking institution and band (few groups), and the small table of those sums is
    rolled up the hierarchy. Only clients with positions at two or more institutions are
    expanded to every level and folded per client again, so they count once at a common
    ancestor. -#}

with periods as (
    select * from {{ ref('int_breakdown_periods') }}
    {% if is_incremental() %}where {{ periods_in_run_window('period_type', 'period_start') }}{% endif %}
),

-- the positions of each rebuilt period's last loaded month (a night: the window's month)
last_month_positions as (
    select
        pr.period_type,
        pr.period_start,
        {%- for key in position_keys %}
        m.{{ key }},
        {%- endfor %}
        m.month_end_balance_cny,
        m.balance_sum_cny
    from {{ ref('int_position_balance_monthly') }} as m
    inner join periods as pr on m.month_start = pr.last_month_start
    {% if is_incremental() %}where m.{{ last_month_bounds }}{% endif %}
),

-- the 积数 of a quarter's or year's months before its last loaded month
prior_positions as (
    select p.*
    from {{ ref('int_breakdown_position_prior') }} as p
    inner join periods as pr on p.period_type = pr.period_type and p.period_start = pr.period_start
    {% if is_incremental() %}where {{ periods_in_run_window('p.period_type', 'p.period_start') }}{% endif %}
),

positions as (
    select
        coalesce(m.period_type, p.period_type) as period_type,
        coalesce(m.period_start, p.period_start) as period_start,
        {%- for key in position_keys %}
        coalesce(m.{{ key }}, p.{{ key }}) as {{ key }},
        {%- endfor %}
        coalesce(m.month_end_balance_cny, 0) as period_end_balance_cny,
        coalesce(m.balance_sum_cny, 0) + coalesce(p.balance_sum_cny, 0) as balance_sum_cny
    from last_month_positions as m
    full outer join prior_positions as p
        on m.period_type = p.period_type
        and m.period_start = p.period_start
        {%- for key in position_keys %}
        and m.{{ key }} = p.{{ key }}
        {%- endfor %}
),

position_figures as (
    select
        p.period_type,
        p.period_start,
        p.client_id,
        p.inst_code,
        p.product_family,
        p.product_group,
        cast(p.period_end_balance_cny as decimal(24, 2)) as period_end_balance_cny,
        cast(p.balance_sum_cny as decimal(24, 2)) as balance_sum_cny,
        {{ money_divide('p.balance_sum_cny', 'pr.days_covered') }} as daily_avg_balance_cny
    from positions as p
    inner join periods as pr on p.period_type = pr.period_type and p.period_start = pr.period_start
),

-- one row per client and product cell (each product group, and 'all' of the family)
client_products as (
    select
        period_type,
        period_start,
        client_id,
        product_family,
        coalesce(product_group, 'all') as product_group,
        min(inst_code) as inst_code,
        max(inst_code) as last_inst_code,
        count(*) as account_count,
        {%- for col in sums %}
        sum({{ col }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from position_figures
    group by grouping sets (
        (period_type, period_start, client_id, product_family, product_group),
        (period_type, period_start, client_id, product_family)
    )
),

-- a client's band of each type in the period: the one of its latest month with that type
last_month_bands as (
    select
        pr.period_type,
        pr.period_start,
        b.client_id,
        b.band_type,
        b.band,
        b.is_key_band,
        b.month_start as band_month_start
    from {{ ref('int_client_band_monthly') }} as b
    inner join periods as pr on b.month_start = pr.last_month_start
    {% if is_incremental() %}where b.{{ last_month_bounds }}{% endif %}
),

prior_bands as (
    select p.*
    from {{ ref('int_breakdown_client_band_prior') }} as p
    inner join periods as pr on p.period_type = pr.period_type and p.period_start = pr.period_start
    {% if is_incremental() %}where {{ periods_in_run_window('p.period_type', 'p.period_start') }}{% endif %}
),

client_bands as (
    select
        coalesce(m.period_type, p.period_type) as period_type,
        coalesce(m.period_start, p.period_start) as period_start,
        coalesce(m.client_id, p.client_id) as client_id,
        coalesce(m.band_type, p.band_type) as band_type,
        case when m.client_id is not null then m.band else p.band end as band,
        case when m.client_id is not null then m.is_key_band else p.is_key_band end as is_key_band,
        coalesce(m.band_month_start, p.latest_month_start) as band_month_start
    from last_month_bands as m
    full outer join prior_bands as p
        on m.period_type = p.period_type
        and m.period_start = p.period_start
        and m.client_id = p.client_id
        and m.band_type = p.band_type
),

-- per client and period: key client (a key band in its latest banded month: the latest
-- month of a key band is its latest banded month) and whether it books at several
-- institutions (one group-by each, no window over the band rows)
client_keys as (
    select
        period_type,
        period_start,
        client_id,
        case
            when max(case when is_key_band then band_month_start end) = max(band_month_start) then 1
            else 0
        end as is_key_client
    from client_bands
    group by period_type, period_start, client_id
),

multi_inst_clients as (
    select distinct period_type, period_start, client_id
    from client_products
    where inst_code <> last_inst_code
),

single_inst_products as (
    select c.*, coalesce(k.is_key_client, 0) as is_key_client
    from client_products as c
    left join multi_inst_clients as mc
        on c.period_type = mc.period_type and c.period_start = mc.period_start and c.client_id = mc.client_id
    left join client_keys as k
        on c.period_type = k.period_type and c.period_start = k.period_start and c.client_id = k.client_id
    where mc.client_id is null
),

-- a period rolls up on the tree of its last loaded month
institutions as (
    select pr.period_type, pr.period_start, i.*
    from periods as pr
    inner join {{ ref('int_institution_monthly') }} as i on i.month_start = pr.last_month_start
),

levels as (
    {%- for n in levels %}
    select {{ n }} as inst_level{{ " union all" if not loop.last }}
    {%- endfor %}
),


-- single-institution clients: summed per booking institution and band, then rolled up
single_leaf_cells as (
    select
        s.period_type,
        s.period_start,
        s.inst_code,
        s.product_family,
        s.product_group,
        'all' as band_type,
        'all' as band,
        count(*) as client_count,
        sum(s.account_count) as account_count,
        sum(s.is_key_client) as key_client_count,
        {%- for col in sums %}
        sum(s.{{ col }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from single_inst_products as s
    group by s.period_type, s.period_start, s.inst_code, s.product_family, s.product_group
    union all
    select
        s.period_type,
        s.period_start,
        s.inst_code,
        s.product_family,
        s.product_group,
        b.band_type,
        b.band,
        count(*),
        sum(s.account_count),
        sum(s.is_key_client),
        {%- for col in sums %}
        sum(s.{{ col }}){{ "," if not loop.last }}
        {%- endfor %}
    from single_inst_products as s
    inner join client_bands as b
        on s.period_type = b.period_type and s.period_start = b.period_start and s.client_id = b.client_id
    group by s.period_type, s.period_start, s.inst_code, s.product_family, s.product_group, b.band_type, b.band
),

single_cells as (
    select
        c.period_type,
        c.period_start,
        l.inst_level,
        {{ institution_level_columns('c.inst_code', 'i', 'l.inst_level') }}
        c.band_type,
        c.band,
        c.product_family,
        c.product_group,
        c.client_count,
        c.account_count,
        c.key_client_count,
        {%- for col in sums %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from single_leaf_cells as c
    left join institutions as i
        on c.period_type = i.period_type and c.period_start = i.period_start and c.inst_code = i.inst_code
    cross join levels as l
),

-- clients with positions at two or more institutions: one row per client and cell first
multi_inst_products as (
    select
        f.period_type,
        f.period_start,
        f.client_id,
        f.inst_code,
        f.product_family,
        coalesce(f.product_group, 'all') as product_group,
        count(*) as account_count,
        {%- for col in sums %}
        sum(f.{{ col }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from position_figures as f
    inner join multi_inst_clients as mc
        on f.period_type = mc.period_type and f.period_start = mc.period_start and f.client_id = mc.client_id
    group by grouping sets (
        (f.period_type, f.period_start, f.client_id, f.inst_code, f.product_family, f.product_group),
        (f.period_type, f.period_start, f.client_id, f.inst_code, f.product_family)
    )
),

multi_inst_levels as (
    select
        c.period_type,
        c.period_start,
        c.client_id,
        l.inst_level,
        {{ institution_level_columns('c.inst_code', 'i', 'l.inst_level') }}
        c.product_family,
        c.product_group,
        c.account_count,
        {%- for col in sums %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from multi_inst_products as c
    left join institutions as i
        on c.period_type = i.period_type and c.period_start = i.period_start and c.inst_code = i.inst_code
    cross join levels as l
),

multi_inst_client_cells as (
    select
        period_type,
        period_start,
        inst_level,
        level_inst_code,
        product_family,
        product_group,
        client_id,
        max(is_direct_booking) as is_direct_booking,
        {%- for name in levels.values() %}
        max({{ name }}_code) as {{ name }}_code,
        {%- endfor %}
        sum(account_count) as account_count,
        {%- for col in sums %}
        sum({{ col }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from multi_inst_levels
    group by period_type, period_start, inst_level, level_inst_code, product_family, product_group, client_id
),

multi_cells as (
    select
        c.period_type,
        c.period_start,
        c.inst_level,
        c.level_inst_code,
        c.is_direct_booking,
        {%- for name in levels.values() %}
        c.{{ name }}_code,
        {%- endfor %}
        'all' as band_type,
        'all' as band,
        c.product_family,
        c.product_group,
        1 as client_count,
        c.account_count,
        coalesce(k.is_key_client, 0) as key_client_count,
        {%- for col in sums %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from multi_inst_client_cells as c
    left join client_keys as k
        on c.period_type = k.period_type and c.period_start = k.period_start and c.client_id = k.client_id
    union all
    select
        c.period_type,
        c.period_start,
        c.inst_level,
        c.level_inst_code,
        c.is_direct_booking,
        {%- for name in levels.values() %}
        c.{{ name }}_code,
        {%- endfor %}
        b.band_type,
        b.band,
        c.product_family,
        c.product_group,
        1,
        c.account_count,
        coalesce(k.is_key_client, 0),
        {%- for col in sums %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from multi_inst_client_cells as c
    inner join client_bands as b
        on c.period_type = b.period_type and c.period_start = b.period_start and c.client_id = b.client_id
    left join client_keys as k
        on c.period_type = k.period_type and c.period_start = k.period_start and c.client_id = k.client_id
),

{%- set cell_columns -%}
    period_type, period_start, inst_level, level_inst_code, is_direct_booking,
    {% for name in levels.values() %}{{ name }}_code, {% endfor %}band_type, band, product_family, product_group,
    client_count, account_count, key_client_count, {{ sums | join(', ') }}
{%- endset %}

all_cells as (
    select {{ cell_columns }} from single_cells
    union all
    select {{ cell_columns }} from multi_cells
)

select
    {{ period_id('period_type', 'period_start') }} as period_id,
    period_type,
    period_start,
    cast(inst_level as integer) as inst_level,
    level_inst_code as inst_code,
    band_type,
    band,
    product_family,
    product_group,
    max(is_direct_booking) = 1 as is_direct_booking,
    {%- for name in levels.values() %}
    max({{ name }}_code) as {{ name }}_code,
    {%- endfor %}
    cast(sum(client_count) as bigint) as client_count,
    cast(sum(account_count) as bigint) as account_count,
    cast(sum(key_client_count) as bigint) as key_client_count,
    {%- for col in sums %}
    cast(sum({{ col }}) as decimal(24, 2)) as {{ col }}{{ "," if not loop.last }}
    {%- endfor %}
from all_cells
group by period_type, period_start, inst_level, level_inst_code, band_type, band, product_family, product_group
