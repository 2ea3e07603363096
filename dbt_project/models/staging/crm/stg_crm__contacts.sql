with source as (
    select * from {{ source('raw', 'contacts') }}
),

renamed as (
    select
        cast(contact_id as varchar) as contact_id,
        cast(rm_id as varchar) as rm_id,
        cast(client_id as varchar) as client_id,
        cast(contact_date as date) as contact_date,
        cast(channel as varchar) as channel,
        cast(familiarity as integer) as familiarity,
        cast(attitude as varchar) as attitude,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
