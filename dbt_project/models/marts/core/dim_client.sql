with records as (
    select
        *,
        row_number() over (
            partition by client_id order by business_date desc, _source_file desc, _source_line desc
        ) as recency
    from {{ ref('stg_core__clients') }}
)

select
    client_id,
    client_type,
    name_masked,
    id_number_key,
    gender,
    birth_date,
    open_date,
    coalesce(inst_code, 'UNKNOWN') as inst_code,
    coalesce(rm_id, 'UNKNOWN') as rm_id,
    employer_client_id,
    job_title,
    business_date as last_delivered_date
from records
where recency = 1
