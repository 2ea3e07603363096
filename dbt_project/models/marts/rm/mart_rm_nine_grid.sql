{#- The RM's client pool in the nine-grid (familiarity band x attitude) from the latest
    contact of each pool client by that RM (see the YAML for bands and ordering). -#}
{#- As of the latest loaded day, not the run's end date: a corrected delivery re-runs an
    earlier date after later ones, and the grid must not roll back to it. -#}
with as_of as (

    select max(last_business_date) as as_of_date
    from {{ ref('int_client_assets_monthly') }}

),

contacts as (

    select
        contacts.rm_id,
        contacts.client_id,
        contacts.contact_date,
        contacts.familiarity,
        contacts.attitude,
        row_number() over (
            partition by contacts.rm_id, contacts.client_id
            order by
                contacts.contact_date desc,
                contacts.business_date desc,
                contacts._source_file desc,
                contacts._source_line desc
        ) as recency_rank
    from {{ ref('stg_crm__contacts') }} as contacts
    cross join as_of
    where contacts.contact_date <= as_of.as_of_date

),

pool as (

    select
        clients.rm_id,
        clients.client_id,
        clients.name_masked,
        clients.gender,
        clients.birth_date,
        clients.open_date,
        contacts.contact_date as last_contact_date,
        contacts.familiarity,
        contacts.attitude
    from {{ ref('dim_client') }} as clients
    inner join contacts
        on clients.rm_id = contacts.rm_id
        and clients.client_id = contacts.client_id
        and contacts.recency_rank = 1

),

-- the pool clients' assets in their latest month on or before the as-of date: one aggregate
-- over the pool's rows, not a sort of every client's every month (which grew with history)
latest_assets as (

    select
        assets.client_id,
        {{ value_at_max('assets.total_month_end_cny', 'assets.month_start') }} as total_month_end_cny
    from {{ ref('int_client_assets_monthly') }} as assets
    cross join as_of
    where assets.month_start <= as_of.as_of_date
        and assets.client_id in (select pool.client_id from pool)
    group by assets.client_id

),

rm_behind as (

    select
        rm_id,
        max(case when status = 'behind' then 1 else 0 end) as is_behind_flag
    from {{ ref('mart_rm_attainment') }}
    where attainment_level = 'rm'
      and calendar_date = (
          select max(calendar_date)
          from {{ ref('mart_rm_attainment') }}
          where attainment_level = 'rm' and is_actual_loaded
      )
    group by rm_id

),

graded as (

    select
        pool.*,
        bands.familiarity_band,
        bands.band_order,
        steps.next_step,
        coalesce(rm_behind.is_behind_flag, 0) = 1 as is_rm_behind_plan,
        case
            when coalesce(rm_behind.is_behind_flag, 0) = 1 then steps.behind_plan_priority
            else steps.on_plan_priority
        end as cell_priority,
        coalesce(latest_assets.total_month_end_cny, 0) > 0 as has_funds,
        as_of.as_of_date
    from pool
    cross join as_of
    inner join {{ ref('familiarity_bands') }} as bands
        on pool.familiarity between bands.min_familiarity and bands.max_familiarity
    left join {{ ref('nine_grid_next_steps') }} as steps
        on bands.familiarity_band = steps.familiarity_band
        and pool.attitude = steps.attitude
    left join rm_behind
        on pool.rm_id = rm_behind.rm_id
    left join latest_assets
        on pool.client_id = latest_assets.client_id

)

select
    rm_id,
    client_id,
    familiarity_band,
    attitude,
    cast(familiarity as integer) as familiarity,
    cast(count(*) over (partition by rm_id, familiarity_band, attitude) as integer) as cell_client_count,
    cast(row_number() over (
        partition by rm_id
        order by cell_priority, last_contact_date, client_id
    ) as integer) as list_rank,
    is_rm_behind_plan,
    name_masked,
    gender,
    cast(
        extract(year from as_of_date) - extract(year from birth_date)
        - case
            when extract(month from as_of_date) * 100 + extract(day from as_of_date)
                < extract(month from birth_date) * 100 + extract(day from birth_date)
                then 1
            else 0
        end
        as integer
    ) as age_years,
    open_date,
    has_funds,
    last_contact_date,
    next_step,
    as_of_date
from graded
