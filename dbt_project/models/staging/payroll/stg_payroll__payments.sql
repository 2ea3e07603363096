with source as (
    select * from {{ source('raw', 'payroll') }}
),

renamed as (
    select
        cast(employer_client_id as varchar) as employer_client_id,
        cast(batch_id as varchar) as batch_id,
        cast(account_id as varchar) as account_id,
        {{ pseudonymise('cast(id_number as varchar)') }} as employee_key,
        {{ mask_name('cast(employee_name as varchar)') }} as employee_name_masked,
        cast(amount as decimal(24, 2)) as amount_cny,
        cast(pay_date as date) as pay_date,
        cast(business_date as date) as business_date,
        _source_file,
        _source_line
    from source
)

select * from renamed
