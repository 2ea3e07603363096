with source as (
    select * from {{ source('raw', 'loan_balances') }}
),

renamed as (
    select
        cast(balance_date as date) as balance_date,
        cast(loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(inst_code as {{ dbt.type_string() }}) as inst_code,
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        {{ raw_money('balance') }} as balance_cny,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
