{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='balance_date',
        on_schema_change='fail'
    )
}}

with balances as (
    select
        *,
        row_number() over (
            partition by balance_date, account_id order by _source_file desc, _source_line desc
        ) as delivery_rank
    from {{ ref('stg_core__deposit_balances') }}
    where {{ in_run_window('business_date') }}
)

select
    balance_date,
    account_id,
    client_id,
    inst_code,
    product_code,
    currency,
    balance,
    cny_per_unit,
    balance_cny,
    business_date
from balances
where delivery_rank = 1
