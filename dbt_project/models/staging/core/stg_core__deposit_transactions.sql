with source as (
    select * from {{ source('raw', 'deposit_transactions') }}
),

renamed as (
    select
        cast(txn_id as varchar) as txn_id,
        cast(txn_date as date) as txn_date,
        cast(account_id as varchar) as account_id,
        cast(client_id as varchar) as client_id,
        cast(amount as decimal(24, 2)) as amount_cny,
        cast(direction as varchar) as direction,
        cast(txn_type as varchar) as txn_type,
        cast(channel as varchar) as channel,
        counterparty is not null as has_counterparty,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
