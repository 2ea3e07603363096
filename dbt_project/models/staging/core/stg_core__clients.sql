with source as (
    select * from {{ source('raw', 'clients') }}
),

renamed as (
    select
        cast(client_id as varchar) as client_id,
        cast(client_type as varchar) as client_type,
        {{ mask_name('cast(name as varchar)') }} as name_masked,
        {{ pseudonymise('cast(id_number as varchar)') }} as id_number_key,
        {{ mask_id_number('cast(id_number as varchar)') }} as id_number_masked,
        {{ mask_phone('cast(phone as varchar)') }} as phone_masked,
        cast(birth_date as date) as birth_date,
        cast(gender as varchar) as gender,
        cast(open_date as date) as open_date,
        cast(inst_code as varchar) as inst_code,
        cast(rm_id as varchar) as rm_id,
        cast(employer_client_id as varchar) as employer_client_id,
        cast(job_title as varchar) as job_title,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
