with source as (
    select * from {{ source('raw', 'products') }}
),

snapshots as (
    {{ snapshot_validity('source') }}
),

renamed as (
    select
        cast(s.product_code as {{ dbt.type_string() }}) as product_code,
        cast(s.product_name as {{ dbt.type_string() }}) as product_name,
        cast(s.product_category as {{ dbt.type_string() }}) as product_category,
        upper(cast(s.currency as {{ dbt.type_string() }})) as currency,
        cast(s.risk_level as {{ dbt.type_string() }}) as risk_level,
        cast(s.business_date as date) as valid_from,
        snapshots.next_business_date as valid_to,
        cast(s.business_date as date) as business_date,
        s._source_file,
        s._source_line
    from source as s
    inner join snapshots on cast(s.business_date as date) = snapshots.business_date
)

select * from renamed
