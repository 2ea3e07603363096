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

{#- Why two group-bys: a client is counted once per cell, so positions are first folded into
    one row per client and cell (a high-cardinality group-by DuckDB can spill), then the
    clients into the cells (few groups), instead of one count(distinct) over every
    position × level × band × product fan-out. -#}

with periods as (
    select * from {{ ref('int_breakdown_periods') }}
    {% if is_incremental() %}where {{ periods_in_run_window('period_type', 'period_start') }}{% endif %}
),

positions as (
    select
        p.period_type,
        p.period_start,
        p.client_id,
        p.inst_code,
        p.product_family,
        p.product_group,
        cast(coalesce(
            {{ slot_at('p.month_end_balance_cny', dbt.datediff('p.period_start', 'pr.last_month_start', 'month') ~ ' + 1') }},
            0
        ) as decimal(24, 2)) as period_end_balance_cny,
        cast({{ slot_sum('p.balance_sum_cny') }} as decimal(24, 2)) as balance_sum_cny,
        pr.days_covered
    from {{ ref('int_breakdown_position_period') }} as p
    inner join periods as pr on p.period_type = pr.period_type and p.period_start = pr.period_start
    {#- filtered on the slot table itself too, so a night reads only its periods' rows #}
    {% if is_incremental() %}where {{ periods_in_run_window('p.period_type', 'p.period_start') }}{% endif %}
),

client_bands as (
    select
        b.period_type,
        b.period_start,
        b.client_id,
        b.band_type,
        {{ slot_at('b.band', 'b.last_slot') }} as band,
        {{ slot_at('b.is_key_band', 'b.last_slot') }} as is_key_band,
        b.last_slot,
        max(b.last_slot) over (partition by b.period_type, b.period_start, b.client_id) as client_last_slot
    from {{ ref('int_breakdown_client_band_period') }} as b
    inner join periods as pr on b.period_type = pr.period_type and b.period_start = pr.period_start
    {% if is_incremental() %}where {{ periods_in_run_window('b.period_type', 'b.period_start') }}{% endif %}
),

-- Key client in a period: any of the client's bands of their latest banded month is a key band.
client_keys as (
    select
        period_type,
        period_start,
        client_id,
        max(case when is_key_band then 1 else 0 end) = 1 as is_key_client
    from client_bands
    where last_slot = client_last_slot
    group by period_type, period_start, client_id
),

institutions as (
    select * from {{ ref('dim_institution') }}
),

position_paths as (
    select
        p.*,
        {{ money_divide('p.balance_sum_cny', 'p.days_covered') }} as daily_avg_balance_cny,
        {%- for n, name in levels.items() %}
        {%- if n == 1 %}
        coalesce(i.head_office_code, p.inst_code) as code_1,
        {%- else %}
        coalesce(i.{{ name }}_code, i.{{ levels[n - 1] }}_code, {% for m in range(n - 2, 0, -1) %}i.{{ levels[m] }}_code, {% endfor %}p.inst_code) as code_{{ n }},
        {%- endif %}
        i.{{ name }}_code is null as is_direct_{{ n }}{{ "," if not loop.last }}
        {%- endfor %}
    from positions as p
    left join institutions as i on p.inst_code = i.inst_code
),

levels as (
    {%- for n in levels %}
    select {{ n }} as inst_level{{ " union all" if not loop.last }}
    {%- endfor %}
),

position_levels as (
    select
        p.period_type,
        p.period_start,
        p.client_id,
        p.product_family,
        p.product_group,
        p.period_end_balance_cny,
        p.balance_sum_cny,
        p.daily_avg_balance_cny,
        l.inst_level,
        case l.inst_level {% for n in levels %}when {{ n }} then p.code_{{ n }} {% endfor %}end as inst_code,
        case l.inst_level {% for n in levels %}when {{ n }} then p.is_direct_{{ n }} {% endfor %}end as is_direct_booking,
        {%- for n in levels %}
        case when l.inst_level >= {{ n }} then p.code_{{ n }} end as {{ levels[n] }}_code{{ "," if not loop.last }}
        {%- endfor %}
    from position_paths as p
    cross join levels as l
),

position_products as (
    select * from position_levels
    union all
    select
        period_type, period_start, client_id, product_family, 'all',
        period_end_balance_cny, balance_sum_cny, daily_avg_balance_cny,
        inst_level, inst_code, is_direct_booking,
        {%- for n in levels %}
        {{ levels[n] }}_code{{ "," if not loop.last }}
        {%- endfor %}
    from position_levels
),

-- One row per client and (period, institution, product) cell.
client_cells as (
    select
        period_type,
        period_start,
        inst_level,
        inst_code,
        product_family,
        product_group,
        client_id,
        max(case when is_direct_booking then 1 else 0 end) as is_direct_booking,
        {%- for n in levels %}
        max({{ levels[n] }}_code) as {{ levels[n] }}_code,
        {%- endfor %}
        count(*) as account_count,
        sum(period_end_balance_cny) as period_end_balance_cny,
        sum(balance_sum_cny) as balance_sum_cny,
        sum(daily_avg_balance_cny) as daily_avg_balance_cny
    from position_products
    group by period_type, period_start, inst_level, inst_code, product_family, product_group, client_id
),

client_cell_bands as (
    select c.*, coalesce(k.is_key_client, false) as is_key_client, 'all' as band_type, 'all' as band
    from client_cells as c
    left join client_keys as k
        on c.period_type = k.period_type and c.period_start = k.period_start and c.client_id = k.client_id
    union all
    select c.*, coalesce(k.is_key_client, false), b.band_type, b.band
    from client_cells as c
    inner join client_bands as b
        on c.period_type = b.period_type and c.period_start = b.period_start and c.client_id = b.client_id
    left join client_keys as k
        on c.period_type = k.period_type and c.period_start = k.period_start and c.client_id = k.client_id
)

select
    {{ period_id('period_type', 'period_start') }} as period_id,
    period_type,
    period_start,
    cast(inst_level as integer) as inst_level,
    inst_code,
    band_type,
    band,
    product_family,
    product_group,
    max(is_direct_booking) = 1 as is_direct_booking,
    {%- for n in levels %}
    max({{ levels[n] }}_code) as {{ levels[n] }}_code,
    {%- endfor %}
    cast(count(*) as bigint) as client_count,
    cast(sum(account_count) as bigint) as account_count,
    cast(sum(case when is_key_client then 1 else 0 end) as bigint) as key_client_count,
    cast(sum(period_end_balance_cny) as decimal(24, 2)) as period_end_balance_cny,
    cast(sum(balance_sum_cny) as decimal(24, 2)) as balance_sum_cny,
    cast(sum(daily_avg_balance_cny) as decimal(24, 2)) as daily_avg_balance_cny
from client_cell_bands
group by {{ cell_keys | join(', ') }}
