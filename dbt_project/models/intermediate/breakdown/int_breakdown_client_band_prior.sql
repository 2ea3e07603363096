{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period_id',
        on_schema_change='fail'
    )
}}

{{ period_prior_accumulation(
    monthly_rows=ref('int_client_band_monthly'),
    key_columns=['client_id', 'band_type'],
    latest_columns=['band', 'is_key_band'],
) }}
