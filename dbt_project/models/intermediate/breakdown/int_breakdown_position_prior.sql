{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_id',
        on_schema_change='fail'
    )
}}

{{ period_prior_accumulation(
    monthly_rows=ref('int_position_balance_monthly'),
    key_columns=['position_type', 'position_id', 'client_id', 'inst_code', 'product_family', 'product_group'],
    sum_columns=['balance_sum_cny'],
) }}
