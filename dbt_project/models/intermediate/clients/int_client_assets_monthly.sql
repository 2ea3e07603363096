with deposits as (
    select
        client_id,
        month_start,
        cast(sum(month_end_balance_cny) as decimal(24, 2)) as deposit_month_end_cny,
        cast(sum(daily_avg_balance_cny) as decimal(24, 2)) as deposit_daily_avg_cny
    from {{ ref('int_account_balance_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
    group by client_id, month_start
),

wealth as (
    select
        client_id,
        month_start,
        cast(sum(month_end_balance_cny) as decimal(24, 2)) as wealth_month_end_cny,
        cast(sum(daily_avg_balance_cny) as decimal(24, 2)) as wealth_daily_avg_cny
    from {{ ref('int_holding_value_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
    group by client_id, month_start
),

months as (
    select distinct month_start, last_business_date, is_month_complete
    from {{ ref('int_account_balance_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

client_months as (
    select client_id, month_start from deposits
    union
    select client_id, month_start from wealth
),

-- the client as it stood on the month's last loaded day
clients as (
    select client_id, month_start, client_type, inst_code, rm_id
    from {{ ref('int_client_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
)

select
    cm.client_id,
    cm.month_start,
    coalesce(c.client_type, 'U') as client_type,
    coalesce(c.inst_code, 'UNKNOWN') as inst_code,
    coalesce(c.rm_id, 'UNKNOWN') as rm_id,
    coalesce(d.deposit_month_end_cny, 0) as deposit_month_end_cny,
    coalesce(d.deposit_daily_avg_cny, 0) as deposit_daily_avg_cny,
    coalesce(w.wealth_month_end_cny, 0) as wealth_month_end_cny,
    coalesce(w.wealth_daily_avg_cny, 0) as wealth_daily_avg_cny,
    cast(coalesce(d.deposit_month_end_cny, 0) + coalesce(w.wealth_month_end_cny, 0) as decimal(24, 2)) as total_month_end_cny,
    cast(coalesce(d.deposit_daily_avg_cny, 0) + coalesce(w.wealth_daily_avg_cny, 0) as decimal(24, 2)) as total_daily_avg_cny,
    coalesce(m.is_month_complete, false) as is_month_complete,
    m.last_business_date
from client_months as cm
left join deposits as d on cm.client_id = d.client_id and cm.month_start = d.month_start
left join wealth as w on cm.client_id = w.client_id and cm.month_start = w.month_start
left join clients as c on cm.client_id = c.client_id and cm.month_start = c.month_start
left join months as m on cm.month_start = m.month_start
