{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start',
        on_schema_change='fail'
    )
}}

with assets as (
    select * from {{ ref('int_client_assets_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

-- the tree of each month
institutions as (
    select * from {{ ref('int_institution_monthly') }}
    {% if is_incremental() %}where {{ months_in_run_window('month_start') }}{% endif %}
),

rms as (
    select * from {{ ref('dim_rm') }}
)

select
    a.client_id,
    a.month_start,
    a.client_type,
    a.inst_code,
    i.inst_name,
    i.branch_code,
    i.sub_branch_code,
    a.rm_id,
    r.rm_name,
    a.deposit_month_end_cny,
    a.deposit_daily_avg_cny,
    a.wealth_month_end_cny,
    a.wealth_daily_avg_cny,
    a.total_month_end_cny,
    a.total_daily_avg_cny,
    a.is_month_complete,
    a.last_business_date
from assets as a
left join institutions as i on a.inst_code = i.inst_code and a.month_start = i.month_start
left join rms as r on a.rm_id = r.rm_id
