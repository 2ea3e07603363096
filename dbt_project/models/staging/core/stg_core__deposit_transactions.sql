with source as (
    select * from {{ source('raw', 'deposit_transactions') }}
),

renamed as (
    select
        cast(txn_id as {{ dbt.type_string() }}) as txn_id,
        cast(txn_date as date) as txn_date,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        {{ raw_money('amount') }} as amount_cny,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(txn_type as {{ dbt.type_string() }}) as txn_type,
        cast(channel as {{ dbt.type_string() }}) as channel,
        counterparty is not null as has_counterparty,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
