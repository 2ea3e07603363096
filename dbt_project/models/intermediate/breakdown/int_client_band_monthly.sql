{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start',
        on_schema_change='fail'
    )
}}

with corporate as (
    select * from {{ ref('int_corporate_grade_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

individual as (
    select * from {{ ref('int_client_tier_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

{#- A band type added here goes into macro client_band_types() too: int_breakdown_cells
    spreads a client's cells over that list, and this model's column rules accept only it. #}
bands as (
    select client_id, month_start, 'C' as client_type, 'settlement_band' as band_type, settlement_band as band
    from corporate
    union all
    select client_id, month_start, 'C', 'grade', grade
    from corporate
    union all
    select client_id, month_start, 'C', 'loan_balance_band', loan_balance_band
    from corporate
    union all
    select client_id, month_start, 'I', 'asset_tier', final_tier
    from individual
),

rules as (
    select client_type, band_type, band from {{ ref('key_client_rules') }}
)

select
    b.client_id,
    b.month_start,
    b.client_type,
    b.band_type,
    coalesce(b.band, 'unbanded') as band,
    r.band is not null as is_key_band
from bands as b
left join rules as r
    on b.client_type = r.client_type
    and b.band_type = r.band_type
    and b.band = r.band
