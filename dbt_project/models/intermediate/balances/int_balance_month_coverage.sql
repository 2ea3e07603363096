select distinct
    month_start,
    days_in_month,
    days_covered,
    days_loaded,
    last_business_date,
    is_month_complete
from {{ ref('int_account_balance_monthly') }}
{% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
