{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start',
        on_schema_change='fail'
    )
}}

with

tiers as (
    select client_id, month_start, inst_code, final_tier, assets_basis_cny
    from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_after=1, months_before=1) }}
    {% endif %}
),

-- Only months that have tiers: a month not loaded yet must not turn everyone into "lost".
months as (
    select distinct month_start
    from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}
        where {{ months_in_run_window('month_start', months_after=1) }}
    {% endif %}
),

pairs as (
    select
        m.month_start,
        cur.client_id,
        prev.inst_code as prev_inst_code,
        prev.final_tier as prev_tier,
        prev.assets_basis_cny as prev_assets_cny,
        cur.inst_code as cur_inst_code,
        cur.final_tier as cur_tier,
        cur.assets_basis_cny as cur_assets_cny
    from months as m
    inner join tiers as cur
        on cur.month_start = m.month_start
    left join tiers as prev
        on prev.client_id = cur.client_id
        and prev.month_start = cast({{ dbt.dateadd('month', -1, 'm.month_start') }} as date)
),

lost as (
    select
        m.month_start,
        prev.client_id,
        prev.inst_code,
        prev.final_tier,
        prev.assets_basis_cny
    from months as m
    inner join tiers as prev
        on prev.month_start = cast({{ dbt.dateadd('month', -1, 'm.month_start') }} as date)
    where not exists (
        select 1 from tiers as cur
        where cur.client_id = prev.client_id and cur.month_start = m.month_start
    )
),

movements as (
    -- stayed in the same institution (tier kept or changed), or new
    select
        month_start,
        cur_inst_code as inst_code,
        coalesce(prev_tier, 'new') as from_tier,
        cur_tier as to_tier,
        coalesce(prev_assets_cny, 0) as from_assets_cny,
        cur_assets_cny as to_assets_cny
    from pairs
    where prev_inst_code is null or prev_inst_code = cur_inst_code

    union all
    -- moved to another institution: out of the old one...
    select month_start, prev_inst_code, prev_tier, 'transferred_out', prev_assets_cny, 0
    from pairs
    where prev_inst_code <> cur_inst_code

    union all
    -- ...and into the new one
    select month_start, cur_inst_code, 'transferred_in', cur_tier, 0, cur_assets_cny
    from pairs
    where prev_inst_code <> cur_inst_code

    union all
    select month_start, inst_code, final_tier, 'lost', assets_basis_cny, 0
    from lost
)

select
    month_start,
    inst_code,
    from_tier,
    to_tier,
    cast(count(*) as bigint) as client_count,
    {{ to_money('sum(from_assets_cny)') }} as from_assets_cny,
    {{ to_money('sum(to_assets_cny)') }} as to_assets_cny
from movements
group by month_start, inst_code, from_tier, to_tier
