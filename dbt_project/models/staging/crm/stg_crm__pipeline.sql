with source as (
    select * from {{ source('raw', 'pipeline') }}
),

renamed as (
    select
        cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
        cast(rm_id as {{ dbt.type_string() }}) as rm_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(product_category as {{ dbt.type_string() }}) as product_category,
        {{ raw_money('expected_amount') }} as expected_amount_cny,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(expected_close_date as date) as expected_close_date,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(created_date as date) as created_date,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
