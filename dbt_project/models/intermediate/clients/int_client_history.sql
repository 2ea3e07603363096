{#- Every clients record with the days it is the client's latest one: from its business date
    (valid_from) up to, not including, the business date of the client's next record
    (valid_to; null while it is current). Of two records of one date the later file and line
    wins: the earlier one ends the day it starts and is in force on no day. "The client on a
    day D" is the record with valid_from <= D < valid_to (or valid_to null); point-in-time
    models (int_client_monthly, int_rm_deposit_growth_daily, int_rm_activity_daily) join it
    so, so a past day keeps the client of its own time whatever moved later. record_number 1
    is the record that introduced the client. A table: rebuilt each run from all clients
    records (a clients delivery holds new and changed clients), about 1-2 s per million. -#}
with records as (

    select
        client_id,
        client_type,
        coalesce(inst_code, 'UNKNOWN') as inst_code,
        coalesce(rm_id, 'UNKNOWN') as rm_id,
        business_date as valid_from,
        lead(business_date) over (
            partition by client_id order by business_date, _source_file, _source_line
        ) as valid_to,
        row_number() over (
            partition by client_id order by business_date, _source_file, _source_line
        ) as record_number
    from {{ ref('stg_core__clients') }}

)

select client_id, valid_from, valid_to, record_number, client_type, inst_code, rm_id
from records
