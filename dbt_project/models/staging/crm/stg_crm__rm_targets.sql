with source as (
    select * from {{ source('raw', 'rm_targets') }}
),

renamed as (
    select
        cast({{ dbt.date_trunc('month', 'cast(month as date)') }} as date) as month_start,
        cast(rm_id as {{ dbt.type_string() }}) as rm_id,
        cast(metric as {{ dbt.type_string() }}) as metric,
        {{ raw_money('target_value') }} as target_value,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
