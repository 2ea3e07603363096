select
    cast(date_trunc('month', rate_date) as date) as month_start,
    currency,
    count(*) as days_loaded,
    cast(sum(cny_per_unit) as decimal(24, 6)) as cny_per_unit_sum
from {{ ref('mart_fx_daily') }}
group by 1, 2
