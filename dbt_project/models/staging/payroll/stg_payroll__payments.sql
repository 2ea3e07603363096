with source as (
    select * from {{ source('raw', 'payroll') }}
),

renamed as (
    select
        cast(employer_client_id as {{ dbt.type_string() }}) as employer_client_id,
        cast(batch_id as {{ dbt.type_string() }}) as batch_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        {{ pseudonymise(dbt.cast('id_number', dbt.type_string())) }} as employee_key,
        {{ mask_name(dbt.cast('employee_name', dbt.type_string())) }} as employee_name_masked,
        {{ raw_money('amount') }} as amount_cny,
        cast(pay_date as date) as pay_date,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
