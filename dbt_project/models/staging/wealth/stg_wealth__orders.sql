with source as (
    select * from {{ source('raw', 'wealth_orders') }}
),

renamed as (
    select
        cast(order_id as varchar) as order_id,
        cast(trade_date as date) as trade_date,
        cast(client_id as varchar) as client_id,
        cast(product_code as varchar) as product_code,
        cast(rm_id as varchar) as rm_id,
        cast(side as varchar) as side,
        cast(amount as decimal(24, 2)) as amount_cny,
        cast(status as varchar) as status,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
