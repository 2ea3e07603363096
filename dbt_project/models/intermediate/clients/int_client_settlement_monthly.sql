-- corporates as they stood on the month's last loaded day
with corporate_clients as (
    select client_id, month_start from {{ ref('int_client_monthly') }}
    where client_type = 'C'
    {% if is_incremental() %}and {{ months_in_run_window('month_start') }}{% endif %}
)

select
    s.client_id,
    s.month_start,
    s.settlement_txn_count,
    s.settlement_amount_cny
from {{ ref('int_client_settlement_state') }} as s
inner join corporate_clients as c on s.client_id = c.client_id and s.month_start = c.month_start
{% if is_incremental() %}where {{ months_in_run_window('s.month_start') }}{% endif %}
