with source as (
    select * from {{ source('raw', 'clients') }}
),

renamed as (
    select
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        cast(client_type as {{ dbt.type_string() }}) as client_type,
        {{ mask_name(dbt.cast('name', dbt.type_string())) }} as name_masked,
        {{ pseudonymise(dbt.cast('id_number', dbt.type_string())) }} as id_number_key,
        {{ mask_id_number(dbt.cast('id_number', dbt.type_string())) }} as id_number_masked,
        {{ mask_phone(dbt.cast('phone', dbt.type_string())) }} as phone_masked,
        cast(birth_date as date) as birth_date,
        cast(gender as {{ dbt.type_string() }}) as gender,
        cast(open_date as date) as open_date,
        cast(inst_code as {{ dbt.type_string() }}) as inst_code,
        cast(rm_id as {{ dbt.type_string() }}) as rm_id,
        cast(employer_client_id as {{ dbt.type_string() }}) as employer_client_id,
        cast(job_title as {{ dbt.type_string() }}) as job_title,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
