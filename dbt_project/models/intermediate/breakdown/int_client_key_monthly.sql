select
    client_id,
    month_start,
    max(case when is_key_band then 1 else 0 end) = 1 as is_key_client
from {{ ref('int_client_band_monthly') }}
group by client_id, month_start
