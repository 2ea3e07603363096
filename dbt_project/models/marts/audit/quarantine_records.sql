{#- Readable only by the data-engineering role: raw_record holds personal data as delivered. -#}
with quarantined as (
    {{ read_parquet_folder(
        env_var('DBT_CLIENTMART_QUARANTINE_ROOT', 'data/quarantine'),
        3,
        {
            'business_date': 'date',
            '_source_file': 'varchar',
            '_source_line': 'bigint',
            '_delivery_checksum': 'varchar',
            'rules': 'varchar',
            'raw_record': 'varchar',
        }
    ) }}
)

select
    {{ dbt.split_part('_source_file', "'/'", 1) }} as feed,
    business_date,
    _source_file as source_file,
    _source_line as source_line,
    _delivery_checksum as delivery_checksum,
    rules,
    raw_record
from quarantined
