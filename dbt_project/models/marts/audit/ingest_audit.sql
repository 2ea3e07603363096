{#- Incremental by business date: a run reads the audit files of its own dates (DuckDB opens
    only the business_date=... folders the filter keeps), not every file ever delivered.
    Every audit row of a date is written by the ingest of a run whose window holds it. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='business_date',
        on_schema_change='fail',
        meta={'test_window': 'business_date in_run_window'}
    )
}}

select * from (
{{ read_parquet_folder(
    env_var('DBT_CLIENTMART_RAW_ROOT', 'data/raw') ~ '/_ingest_audit',
    2,
    {
        'feed': 'varchar',
        'business_date': 'date',
        'file_name': 'varchar',
        'checksum': 'varchar',
        'encoding': 'varchar',
        'file_format': 'varchar',
        'delimiter': 'varchar',
        'control_count': 'bigint',
        'records_read': 'bigint',
        'records_kept': 'bigint',
        'records_quarantined': 'bigint',
        'status': 'varchar',
        'message': 'varchar',
        'started_at': 'timestamp',
        'finished_at': 'timestamp',
    }
) }}
) as audit
{% if is_incremental() %}
where {{ in_run_window('business_date') }}
{% endif %}
