with source as (
    select * from {{ source('raw', 'relationship_managers') }}
),

snapshots as (
    {{ snapshot_validity('source') }}
),

renamed as (
    select
        cast(s.rm_id as {{ dbt.type_string() }}) as rm_id,
        cast(s.rm_name as {{ dbt.type_string() }}) as rm_name,
        cast(s.inst_code as {{ dbt.type_string() }}) as inst_code,
        cast(s.status as {{ dbt.type_string() }}) as status,
        cast(s.business_date as date) as valid_from,
        snapshots.next_business_date as valid_to,
        cast(s.business_date as date) as business_date,
        s._source_file,
        s._source_line
    from source as s
    inner join snapshots on cast(s.business_date as date) = snapshots.business_date
)

select * from renamed
