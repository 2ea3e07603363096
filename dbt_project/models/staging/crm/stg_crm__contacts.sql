with source as (
    select * from {{ source('raw', 'contacts') }}
),

renamed as (
    select
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(rm_id as {{ dbt.type_string() }}) as rm_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(contact_date as date) as contact_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(familiarity as integer) as familiarity,
        cast(attitude as {{ dbt.type_string() }}) as attitude,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
