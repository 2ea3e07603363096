{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='rate_date') }}
select rate_date, currency, cny_per_unit from {{ ref('stg_raw__fx_rates') }}
