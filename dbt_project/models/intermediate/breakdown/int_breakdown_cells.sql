{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_id',
        on_schema_change='fail'
    )
}}

{%- set levels = institution_levels() -%}
{%- set kinds = period_types().keys() | list -%}
{%- set cell_keys = ['client_id', 'inst_code', 'product_family', 'product_group'] -%}
{%- set position_keys = ['position_type', 'position_id'] + cell_keys -%}
{%- set sums = ['period_end_balance_cny', 'balance_sum_cny', 'daily_avg_balance_cny'] -%}
{%- set period_sums = ['balance_sum_cny', 'daily_avg_balance_cny'] -%}
{%- set band_types = client_band_types() -%}
{%- set band_columns_wide = [] -%}
{%- for band_type in band_types %}{% for kind in kinds %}{% do band_columns_wide.append(band_type ~ '_' ~ kind ~ '_band') %}{% endfor %}{% endfor -%}
{%- set figures = ['account_count', 'key_client_count'] + sums -%}
{%- set last_month_bounds -%}
    month_start between {{ run_window_month_start() }}
        and cast({{ dbt.dateadd('month', 11, dbt.date_trunc('year', "cast('" ~ run_end_date() ~ "' as date)")) }} as date)
{%- endset -%}

{#- How it stays cheap at millions of positions.
    1. One pass for the three period types. A month, its quarter and its year that end on the
       same loaded month (a night: the window's month) share that month's positions, so the
       positions are read once per such slot, one row each with the figures of every period
       type side by side (`<kind>_...` columns), and folded once per client and product cell.
    2. A client is counted once per cell without a count(distinct) over every position x
       level x band fan-out: a client's product cell (a family, or one product group of it)
       booked at one institution is added up per booking institution and band (few groups),
       and that small table is rolled up the hierarchy. Only a product cell booked at two or
       more institutions is expanded to every level and folded per client again, so that it
       counts once at a common ancestor. Cells of a family depend only on the client's
       positions in that family, so each product cell takes its own path.
    3. The month's positions and the quarter's and year's prior ones are one union folded by
       position (and the bands, by client), not two full outer joins each, whose hash tables
       held every prior row beside the month's: a 200k-client night's peak buffer memory went
       from 2.2 to 1.1 GB, and under a 600 MB limit it spilled nothing instead of about 250 MB
       (docs/benchmark.md).
    4. A client's cells meet its bands in one join: one row per client (`client_info`) holds
       its key flags and its band of every band type (client_band_types()) and period type
       side by side. The cells booked at one institution are summed per institution and band
       profile (a few rows per product cell, whatever the clients) and only then spread over
       the band types; joining every client cell to each of its band rows made 3.8M rows at 1M
       clients, and the model alone took a fifth more CPU and spilled 0.6 GB under the 3 GB
       limit (docs/benchmark.md, "The breakdown's bands in one join"). Positions carry no
       position id past the fold by position. -#}

with periods as (
    select * from {{ ref('int_breakdown_periods') }}
    {% if is_incremental() %}where {{ periods_in_run_window('period_type', 'period_start') }}{% endif %}
),

-- one row per last loaded month (slot) with the rebuilt month, quarter and year ending on it
slots as (
    select
        last_month_start as slot_month,
        {%- for kind in kinds %}
        max(case when period_type = '{{ kind }}' then period_start end) as {{ kind }}_start,
        max(case when period_type = '{{ kind }}' then days_covered end) as {{ kind }}_days{{ "," if not loop.last }}
        {%- endfor %}
    from periods
    group by last_month_start
),

-- the positions of each slot's month
slot_positions as (
    select
        s.slot_month,
        {%- for key in position_keys %}
        m.{{ key }},
        {%- endfor %}
        m.month_end_balance_cny,
        m.balance_sum_cny
    from {{ ref('int_position_balance_monthly') }} as m
    inner join slots as s on m.month_start = s.slot_month
    {% if is_incremental() %}where m.{{ last_month_bounds }}{% endif %}
),

-- the 积数 of a quarter's or year's months before its last loaded month, by slot
prior_positions as (
    select pr.last_month_start as slot_month, p.*
    from {{ ref('int_breakdown_position_prior') }} as p
    inner join periods as pr on p.period_type = pr.period_type and p.period_start = pr.period_start
    {% if is_incremental() %}where {{ periods_in_run_window('p.period_type', 'p.period_start') }}{% endif %}
),

-- one row per slot and position: its month row and its prior 积数 of the quarter and year side
-- by side, pivoted from one narrow union (point 3 above; a source holds a position once)
positions as (
    select
        slot_month,
        {%- for key in position_keys %}
        {{ key }},
        {%- endfor %}
        max(case when source = 'month' then 1 else 0 end) as in_month_rows,
        max(case when source = 'quarter' then 1 else 0 end) as in_quarter_prior,
        max(case when source = 'year' then 1 else 0 end) as in_year_prior,
        max(month_end_balance_cny) as month_end_balance_cny,
        max(case when source = 'month' then balance_sum_cny end) as month_sum_cny,
        max(case when source = 'quarter' then balance_sum_cny end) as quarter_prior_sum_cny,
        max(case when source = 'year' then balance_sum_cny end) as year_prior_sum_cny
    from (
        select
            slot_month,
            {%- for key in position_keys %}
            {{ key }},
            {%- endfor %}
            'month' as source,
            month_end_balance_cny,
            balance_sum_cny
        from slot_positions
        union all
        select
            slot_month,
            {%- for key in position_keys %}
            {{ key }},
            {%- endfor %}
            period_type as source,
            cast(null as decimal(24, 2)) as month_end_balance_cny,
            balance_sum_cny
        from prior_positions
        where period_type in ('quarter', 'year')
    ) as sources
    group by
        slot_month
        {%- for key in position_keys %}, {{ key }}{% endfor %}
),

-- whether a position belongs to each period type's period of its slot: a month holds its
-- own rows, a quarter or year also those of its prior months. Read twice (the single and the
-- multi-institution paths), so DuckDB would hold its 2.9M rows at 1M clients; inlined, it
-- holds the fold by position instead, and the model takes about 1.4 CPU-s less
-- (docs/benchmark.md, "The tier history compares change points").
position_periods as {{ inline_cte() }} (
    select
        p.slot_month,
        {%- for key in cell_keys %}
        p.{{ key }},
        {%- endfor %}
        p.month_end_balance_cny,
        p.month_sum_cny,
        p.quarter_prior_sum_cny,
        p.year_prior_sum_cny,
        case when s.month_start is not null and p.in_month_rows = 1 then 1 end as in_month,
        case when s.quarter_start is not null and (p.in_month_rows = 1 or p.in_quarter_prior = 1) then 1 end as in_quarter,
        case when s.year_start is not null and (p.in_month_rows = 1 or p.in_year_prior = 1) then 1 end as in_year,
        {%- for kind in kinds %}
        s.{{ kind }}_days{{ "," if not loop.last }}
        {%- endfor %}
    from positions as p
    inner join slots as s on p.slot_month = s.slot_month
),

-- per position: its balance at the slot's month-end (0 when it has no row in that month:
-- the period-end balance of every period type it is in) and, per period type, its 积数 and
-- daily average (per position, rounded half-up), null when the position is not in that
-- period. DECIMAL(18, 2) up to the client's product cell (a position's 积数 for a year fits
-- up to 10^16 CNY; DuckDB raises an error beyond, it never wraps): sums of 64-bit decimals
-- cost a fraction of 128-bit ones.
position_figures as (
    select
        slot_month,
        {%- for key in cell_keys %}
        {{ key }},
        {%- endfor %}
        cast(coalesce(month_end_balance_cny, 0) as decimal(18, 2)) as period_end_balance_cny,
        {%- for kind in kinds %}
        {%- set period_sum = 'month_sum_cny' if kind == 'month' else 'coalesce(month_sum_cny, 0) + coalesce(' ~ kind ~ '_prior_sum_cny, 0)' %}
        in_{{ kind }},
        case when in_{{ kind }} = 1 then cast({{ period_sum }} as decimal(18, 2)) end as {{ kind }}_balance_sum_cny,
        case when in_{{ kind }} = 1 then cast({{ money_divide(period_sum, kind ~ '_days') }} as decimal(18, 2)) end as {{ kind }}_daily_avg_balance_cny{{ "," if not loop.last }}
        {%- endfor %}
    from position_periods
),

-- one row per slot, client and product cell (each product group, and 'all' of the family):
-- the booking institutions of its positions (first and last, over every period type), the
-- month-end balance and, per period type, the positions and their sums
client_products as (
    select
        slot_month,
        client_id,
        product_family,
        coalesce(product_group, 'all') as product_group,
        min(inst_code) as inst_code,
        max(inst_code) as last_inst_code,
        cast(sum(period_end_balance_cny) as decimal(18, 2)) as period_end_balance_cny,
        {%- for kind in kinds %}
        count(in_{{ kind }}) as {{ kind }}_account_count,
        {%- for col in period_sums %}
        cast(sum({{ kind }}_{{ col }}) as decimal(18, 2)) as {{ kind }}_{{ col }}{{ "," if not (loop.last and kind == kinds[-1]) }}
        {%- endfor %}
        {%- endfor %}
    from position_figures
    group by grouping sets (
        (slot_month, client_id, product_family, product_group),
        (slot_month, client_id, product_family)
    )
),

-- a client's bands by slot: the last loaded month's, else (quarter, year) the latest prior
-- month's of that band type
slot_bands as (
    select s.slot_month, b.client_id, b.band_type, b.band, b.is_key_band
    from {{ ref('int_client_band_monthly') }} as b
    inner join slots as s on b.month_start = s.slot_month
    {% if is_incremental() %}where b.{{ last_month_bounds }}{% endif %}
),

prior_bands as (
    select pr.last_month_start as slot_month, p.*
    from {{ ref('int_breakdown_client_band_prior') }} as p
    inner join periods as pr on p.period_type = pr.period_type and p.period_start = pr.period_start
    {% if is_incremental() %}where {{ periods_in_run_window('p.period_type', 'p.period_start') }}{% endif %}
),

-- per slot, client and band type: its band in the last loaded month and the latest prior one
-- of the quarter and the year side by side, one union folded by client (point 3 above)
{%- set band_columns = ['band', 'is_key_band', 'band_month_start'] %}
band_rows as (
    select
        slot_month,
        client_id,
        band_type,
        max(case when source = 'month' then 1 else 0 end) as in_month_rows,
        {%- for source in kinds %}
        {%- set source_loop = loop %}
        {%- for name in band_columns %}
        max(case when source = '{{ source }}' then {{ name }} end) as {{ source }}_{{ name }}{{ "," if not (loop.last and source_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from (
        select slot_month, client_id, band_type, 'month' as source, band, is_key_band, slot_month as band_month_start
        from slot_bands
        union all
        select slot_month, client_id, band_type, period_type as source, band, is_key_band, latest_month_start as band_month_start
        from prior_bands
        where period_type in ('quarter', 'year')
    ) as sources
    group by slot_month, client_id, band_type
),

client_bands as (
    select
        b.slot_month,
        b.client_id,
        b.band_type,
        {#- per period type: the last loaded month's band, else (quarter, year) the prior one #}
        {%- for kind in kinds %}
        {%- set kind_loop = loop %}
        {%- for name in band_columns %}
        case
            when s.{{ kind }}_start is null then null
            when b.in_month_rows = 1 then b.month_{{ name }}
            {%- if kind != 'month' %}
            else b.{{ kind }}_{{ name }}
            {%- endif %}
        end as {{ kind }}_{{ name }}{{ "," if not (loop.last and kind_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from band_rows as b
    inner join slots as s on b.slot_month = s.slot_month
),

-- per slot and client: key client per period type (a key band in its latest banded month: the
-- latest month of a key band is its latest banded month), and its band of each band type
-- per period type side by side, so that a client product cell meets its client's bands in
-- one join and is summed per band profile before it is spread over the band types
client_info as (
    select
        slot_month,
        client_id,
        {%- for kind in kinds %}
        case
            when max(case when {{ kind }}_is_key_band then {{ kind }}_band_month_start end) = max({{ kind }}_band_month_start) then 1
            else 0
        end as {{ kind }}_is_key_client,
        {%- endfor %}
        {%- for band_type in band_types %}
        {%- set type_loop = loop %}
        {%- for kind in kinds %}
        max(case when band_type = '{{ band_type }}' then {{ kind }}_band end) as {{ band_type }}_{{ kind }}_band{{ "," if not (loop.last and type_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from client_bands
    group by slot_month, client_id
),

-- product cells booked at one institution: per period type, the client (0 or 1), its
-- positions, whether it is a key client, and the sums; with the client's bands
single_products as (
    select
        c.slot_month,
        c.inst_code,
        c.product_family,
        c.product_group,
        {%- for column in band_columns_wide %}
        k.{{ column }},
        {%- endfor %}
        {%- for kind in kinds %}
        case when c.{{ kind }}_account_count > 0 then 1 else 0 end as {{ kind }}_client_count,
        c.{{ kind }}_account_count,
        case when c.{{ kind }}_account_count > 0 then coalesce(k.{{ kind }}_is_key_client, 0) else 0 end as {{ kind }}_key_client_count,
        case when c.{{ kind }}_account_count > 0 then c.period_end_balance_cny end as {{ kind }}_period_end_balance_cny,
        {%- for col in period_sums %}
        c.{{ kind }}_{{ col }}{{ "," if not (loop.last and kind == kinds[-1]) }}
        {%- endfor %}
        {%- endfor %}
    from client_products as c
    left join client_info as k on c.slot_month = k.slot_month and c.client_id = k.client_id
    where c.inst_code = c.last_inst_code
),

-- summed per booking institution and band profile (the client's bands of every band type and
-- period type): a few rows per cell, whatever the number of clients
{%- set counted = ['client_count'] + figures %}
single_profile_cells as (
    select
        slot_month,
        inst_code,
        product_family,
        product_group,
        {%- for column in band_columns_wide %}
        {{ column }},
        {%- endfor %}
        {%- for kind in kinds %}
        {%- for col in counted %}
        sum({{ kind }}_{{ col }}) as {{ kind }}_{{ col }}{{ "," if not (loop.last and kind == kinds[-1]) }}
        {%- endfor %}
        {%- endfor %}
    from single_products
    group by
        slot_month, inst_code, product_family, product_group
        {%- for column in band_columns_wide %}, {{ column }}{% endfor %}
),

-- summed per booking institution (and band), every period type side by side
single_wide_cells as (
    select
        slot_month,
        inst_code,
        product_family,
        product_group,
        'all' as band_type,
        {%- for kind in kinds %}
        'all' as {{ kind }}_band,
        {%- for col in counted %}
        sum({{ kind }}_{{ col }}) as {{ kind }}_{{ col }}{{ "," if not (loop.last and kind == kinds[-1]) }}
        {%- endfor %}
        {%- endfor %}
    from single_profile_cells
    group by slot_month, inst_code, product_family, product_group
    {%- for band_type in band_types %}
    union all
    select
        slot_month,
        inst_code,
        product_family,
        product_group,
        '{{ band_type }}',
        {%- for kind in kinds %}
        {{ band_type }}_{{ kind }}_band,
        {%- for col in counted %}
        sum(case when {{ band_type }}_{{ kind }}_band is not null then {{ kind }}_{{ col }} end){{ "," if not (loop.last and kind == kinds[-1]) }}
        {%- endfor %}
        {%- endfor %}
    from single_profile_cells
    where {% for kind in kinds %}{{ band_type }}_{{ kind }}_band is not null{{ " or " if not loop.last }}{% endfor %}
    group by
        slot_month, inst_code, product_family, product_group
        {%- for kind in kinds %}, {{ band_type }}_{{ kind }}_band{% endfor %}
    {%- endfor %}
),

single_leaf_cells as (
    select
        period_type,
        period_start,
        slot_month,
        inst_code,
        product_family,
        product_group,
        band_type,
        band,
        sum(client_count) as client_count,
        {%- for col in figures %}
        sum({{ col }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from (
        {{ period_type_rows('single_wide_cells', 'slots', ['inst_code', 'product_family', 'product_group', 'band_type'], ['band', 'client_count'] + figures, 'client_count') }}
    ) as by_period
    group by period_type, period_start, slot_month, inst_code, product_family, product_group, band_type, band
),

-- a period rolls up on the tree of its last loaded month
institutions as (
    select s.slot_month, i.*
    from slots as s
    inner join {{ ref('int_institution_monthly') }} as i on i.month_start = s.slot_month
),

levels as (
    {%- for n in levels %}
    select {{ n }} as inst_level{{ " union all" if not loop.last }}
    {%- endfor %}
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
        {%- for col in figures %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from single_leaf_cells as c
    left join institutions as i on c.slot_month = i.slot_month and c.inst_code = i.inst_code
    cross join levels as l
),

-- product cells booked at two or more institutions (few): their positions per booking
-- institution, then one row per period
multi_products as (
    select
        slot_month,
        client_id,
        product_family,
        product_group
    from client_products
    where inst_code <> last_inst_code
),


multi_wide_products as (
    select
        f.slot_month,
        f.client_id,
        f.inst_code,
        f.product_family,
        mp.product_group,
        sum(f.period_end_balance_cny) as period_end_balance_cny,
        {%- for kind in kinds %}
        count(f.in_{{ kind }}) as {{ kind }}_account_count,
        {%- for col in period_sums %}
        sum(f.{{ kind }}_{{ col }}) as {{ kind }}_{{ col }}{{ "," if not (loop.last and kind == kinds[-1]) }}
        {%- endfor %}
        {%- endfor %}
    from position_figures as f
    inner join multi_products as mp
        on f.slot_month = mp.slot_month and f.client_id = mp.client_id and f.product_family = mp.product_family
    where mp.product_group = 'all' or mp.product_group = f.product_group
    group by f.slot_month, f.client_id, f.inst_code, f.product_family, mp.product_group
),

multi_inst_products as (
    {{ period_type_rows('multi_wide_products', 'slots', ['client_id', 'inst_code', 'product_family', 'product_group', 'period_end_balance_cny'], ['account_count'] + period_sums, 'account_count') }}
),

multi_inst_levels as (
    select
        c.period_type,
        c.period_start,
        c.slot_month,
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
    left join institutions as i on c.slot_month = i.slot_month and c.inst_code = i.inst_code
    cross join levels as l
),

multi_inst_client_cells as (
    select
        period_type,
        period_start,
        slot_month,
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
    group by period_type, period_start, slot_month, inst_level, level_inst_code, product_family, product_group, client_id
),

-- the key flag and bands of a row's period type, from its slot's rows
multi_client_keys as (
    select
        c.*,
        coalesce(case c.period_type
            {%- for kind in kinds %}
            when '{{ kind }}' then k.{{ kind }}_is_key_client
            {%- endfor %}
        end, 0) as key_client_count
    from multi_inst_client_cells as c
    left join client_info as k on c.slot_month = k.slot_month and c.client_id = k.client_id
),

multi_client_bands as (
    select
        c.period_type,
        c.period_start,
        c.slot_month,
        c.client_id,
        b.band_type,
        case c.period_type
            {%- for kind in kinds %}
            when '{{ kind }}' then b.{{ kind }}_band
            {%- endfor %}
        end as band
    from (select distinct period_type, period_start, slot_month, client_id from multi_inst_products) as c
    inner join client_bands as b on c.slot_month = b.slot_month and c.client_id = b.client_id
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
        c.key_client_count,
        {%- for col in sums %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from multi_client_keys as c
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
        c.key_client_count,
        {%- for col in sums %}
        c.{{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from multi_client_keys as c
    inner join multi_client_bands as b
        on c.period_type = b.period_type
        and c.period_start = b.period_start
        and c.client_id = b.client_id
    where b.band is not null
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
