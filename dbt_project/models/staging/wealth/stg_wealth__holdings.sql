with source as (
    select * from {{ source('raw', 'wealth_holdings') }}
),

renamed as (
    select
        cast(as_of_date as date) as as_of_date,
        cast(holding_id as {{ dbt.type_string() }}) as holding_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        cast(units as decimal(24, 6)) as units,
        {{ raw_money('market_value') }} as market_value_cny,
        {{ raw_money('cost') }} as cost_cny,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
