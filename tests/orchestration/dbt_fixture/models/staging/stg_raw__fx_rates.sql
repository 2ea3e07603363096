select rate_date, currency, cast(cny_per_unit as decimal(24, 6)) as cny_per_unit, business_date
from {{ source('raw', 'fx_rates') }}
where business_date between cast('{{ var("start_date") }}' as date)
    and cast('{{ var("end_date") }}' as date)
