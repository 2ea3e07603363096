{#- Each client's type, home institution and RM as they stood on each loaded month's last
    loaded business date: the latest clients record delivered on or before it (a clients
    delivery holds new and changed clients). The month figures (client assets, positions,
    corporate grades, tiers) take a client's institution and RM from here, on (client_id,
    month_start), not from dim_client's current row: a month written by last night's run and
    the same month written by a backfill range carry the same institution and RM, whatever
    moved later. A run rebuilds the months of its window. -#}

with months as (
    select month_start, last_business_date
    from {{ ref('int_balance_month_coverage') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

records as (
    select
        m.month_start,
        c.client_id,
        c.client_type,
        c.inst_code,
        c.rm_id,
        row_number() over (
            partition by m.month_start, c.client_id
            order by c.business_date desc, c._source_file desc, c._source_line desc
        ) as recency
    from {{ ref('stg_core__clients') }} as c
    inner join months as m on c.business_date <= m.last_business_date
)

select
    client_id,
    month_start,
    client_type,
    coalesce(inst_code, 'UNKNOWN') as inst_code,
    coalesce(rm_id, 'UNKNOWN') as rm_id
from records
where recency = 1
