{#-
    Incremental by client on DuckDB: a run recomputes the clients its dates delivered, and
    those whose current row came from one of its dates (a corrected or re-delivered file may
    have dropped or changed their record there), each from the client's whole history, so a
    late file for an earlier date never overwrites a newer record. A night costs its delivery
    (new and changed clients), not the client base. On Spark (the scale-out path) a table:
    its delete+insert overwrites partitions of the key, which a client number cannot be.
    A client left with no record at all is removed by the post-hook (macros/dim_client.sql).
-#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key='client_id',
        on_schema_change='fail',
        post_hook="{{ dim_client_drop_vanished() }}"
    )
}}

with

{% if is_incremental() %}
touched as (
    select client_id from {{ ref('stg_core__clients') }} where {{ in_run_window('business_date') }}
    union
    select client_id from {{ this }} where {{ in_run_window('last_delivered_date') }}
),
{% endif %}

records as (
    select
        *,
        row_number() over (
            partition by client_id order by business_date desc, _source_file desc, _source_line desc
        ) as recency
    from {{ ref('stg_core__clients') }}
    {% if is_incremental() %}
    where client_id in (select client_id from touched)
    {% endif %}
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
