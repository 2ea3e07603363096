with source as (
    select * from {{ source('raw', 'institutions') }}
),

snapshots as (
    {{ snapshot_validity('source') }}
),

renamed as (
    select
        cast(s.inst_code as {{ dbt.type_string() }}) as inst_code,
        cast(s.inst_name as {{ dbt.type_string() }}) as inst_name,
        cast(s.parent_code as {{ dbt.type_string() }}) as parent_code,
        cast(s.inst_level as integer) as inst_level,
        cast(s.region as {{ dbt.type_string() }}) as region,
        cast(s.business_date as date) as valid_from,
        snapshots.next_business_date as valid_to,
        cast(s.business_date as date) as business_date,
        s._source_file,
        s._source_line
    from source as s
    inner join snapshots on cast(s.business_date as date) = snapshots.business_date
)

select * from renamed
