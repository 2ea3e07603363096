{#- Each client's type, home institution and RM as they stood on each loaded month's last
    loaded business date: the int_client_history record in force that day (the latest
    clients record delivered on or before it). The month figures (client assets, positions,
    corporate grades, tiers) take a client's institution and RM from here, on (client_id,
    month_start), not from dim_client's current row: a month written by last night's run and
    the same month written by a backfill range carry the same institution and RM, whatever
    moved later. A run rebuilds the months of its window. -#}

with months as (
    select month_start, last_business_date
    from {{ ref('int_balance_month_coverage') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
)

select
    history.client_id,
    months.month_start,
    history.client_type,
    history.inst_code,
    history.rm_id
from months
inner join {{ ref('int_client_history') }} as history
    on {{ in_force('history', 'months.last_business_date') }}
