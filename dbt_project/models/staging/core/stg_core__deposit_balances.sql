with source as (
    select * from {{ source('raw', 'deposit_balances') }}
),

fx_rates as (
    select * from {{ ref('stg_reference__fx_rates') }}
),

renamed as (
    select
        cast(balance_date as date) as balance_date,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(inst_code as {{ dbt.type_string() }}) as inst_code,
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        upper(cast(currency as {{ dbt.type_string() }})) as currency,
        {{ raw_money('balance') }} as balance,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
),

converted as (
    select
        renamed.balance_date,
        renamed.account_id,
        renamed.client_id,
        renamed.inst_code,
        renamed.product_code,
        renamed.currency,
        renamed.balance,
        fx_rates.cny_per_unit,
        -- rate 1 (CNY): the balance itself, without a DECIMAL(38) product per row
        case
            when fx_rates.cny_per_unit = 1 then renamed.balance
            else {{ to_money('renamed.balance * fx_rates.cny_per_unit') }}
        end as balance_cny,
        renamed.business_date,
        renamed._source_file,
        renamed._source_line
    from renamed
    left join fx_rates
        on renamed.balance_date = fx_rates.rate_date
        and renamed.currency = fx_rates.currency
)

select * from converted
