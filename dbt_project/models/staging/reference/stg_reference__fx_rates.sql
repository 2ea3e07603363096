with source as (
    select * from {{ source('raw', 'fx_rates') }}
),

renamed as (
    select
        cast(rate_date as date) as rate_date,
        upper(cast(currency as {{ dbt.type_string() }})) as currency,
        cast(cny_per_unit as decimal(28, 10)) as cny_per_unit,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
),

cny as (
    select distinct
        rate_date,
        'CNY' as currency,
        cast(1 as decimal(28, 10)) as cny_per_unit,
        business_date,
        cast(null as {{ dbt.type_string() }}) as _source_file,
        cast(null as bigint) as _source_line
    from renamed
    where not exists (
        select 1 from renamed as r
        where r.rate_date = renamed.rate_date and r.currency = 'CNY'
    )
)

select * from renamed
union all
select * from cny
