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
