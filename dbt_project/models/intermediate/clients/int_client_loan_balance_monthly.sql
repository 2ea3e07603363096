select
    client_id,
    month_start,
    count(*) as loan_count,
    cast(sum(month_end_balance_cny) as decimal(24, 2)) as loan_month_end_cny,
    cast(sum(daily_avg_balance_cny) as decimal(24, 2)) as loan_daily_avg_cny
from {{ ref('int_loan_balance_monthly') }}
{% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
group by client_id, month_start
