with source as (
    select * from {{ source('raw', 'wealth_orders') }}
),

renamed as (
    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(trade_date as date) as trade_date,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        cast(rm_id as {{ dbt.type_string() }}) as rm_id,
        cast(side as {{ dbt.type_string() }}) as side,
        {{ raw_money('amount') }} as amount_cny,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
