{#- Read every Parquet file under a folder tree with hive partitions (business_date=...),
    or an empty typed relation when no file exists yet (quarantine and audit folders
    appear only once ingest has something to say). `columns` maps column name -> SQL type
    and fixes the output schema either way. DuckDB reads the files directly, taking the
    columns from the first file, the folder's `business_date=1900-01-01/_schema.parquet`
    (ingest keeps every file holding them: ingest.store.ensure_table_schema); a Spark target
    points the same call at the same Parquet with its own reader. -#}
{% macro read_parquet_folder(folder, depth, columns) -%}
    {{ return(adapter.dispatch('read_parquet_folder', 'clientmart')(folder, depth, columns)) }}
{%- endmacro %}

{% macro default__read_parquet_folder(folder, depth, columns) -%}
    select {% for name, type in columns.items() %}cast({{ name }} as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
    from parquet.`{{ folder }}`
{%- endmacro %}

{% macro duckdb__read_parquet_folder(folder, depth, columns) -%}
    {%- set pattern = folder ~ ("/*" * depth) ~ ".parquet" -%}
    {%- set has_files = false -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
        {%- set has_files = found.columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if has_files %}
    select {% for name, type in columns.items() %}cast({{ name }} as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
    from read_parquet('{{ pattern }}', hive_partitioning = true)
    {%- else %}
    select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}
