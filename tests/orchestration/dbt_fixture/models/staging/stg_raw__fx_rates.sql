select rate_date, currency, cast(cny_per_unit as decimal(24, 6)) as cny_per_unit, business_date
from {{ source('raw', 'fx_rates') }}
-- the run window the pipeline's dbt step sets (as the real project's run_start_date/end_date)
where business_date between cast('{{ env_var("CLIENTMART_RUN_START_DATE", "1900-01-01") }}' as date)
    and cast('{{ env_var("CLIENTMART_RUN_END_DATE", "2999-12-31") }}' as date)
