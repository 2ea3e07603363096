{#-
    The raw layer as dbt sources on every target.

    DuckDB reads the Parquet files in place through each source's `external_location`
    (models/staging/_raw__sources.yml), so nothing is registered there. Spark has no such
    hook: at the start of every invocation (on-run-start) each source of `raw` becomes an
    external Parquet table `raw.<feed>` over `<DBT_CLIENTMART_RAW_ROOT>/<feed>`, partitioned by
    the `business_date=YYYY-MM-DD` folders, with the contract's schema
    (raw_feed_schemas(), generated from ingest/feeds.yml). Tables are external: dropping
    one never touches the files. Partitions are re-discovered on every run, so a date ingest
    added since the last run is visible, and a feed never delivered reads as an empty table.
-#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'clientmart')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
    select 1 as raw_sources_read_in_place
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set raw_root = env_var('DBT_CLIENTMART_RAW_ROOT', '') -%}
        {#- Spark resolves a relative location under its own warehouse folder, where no feed
            is: the build would pass over empty tables. clientmart dbt sets an absolute one. -#}
        {%- if not (raw_root.startswith('/') or '://' in raw_root) -%}
            {%- do exceptions.raise_compiler_error(
                "DBT_CLIENTMART_RAW_ROOT must be an absolute path or a URI on Spark (it is '"
                ~ raw_root ~ "'): run dbt through `clientmart dbt`, which sets it, or export "
                ~ "the environment of Settings.dbt_env() (docs/scale-out.md)") -%}
        {%- endif -%}
        {%- set schemas = raw_feed_schemas() -%}
        {%- set sources = graph.sources.values() | selectattr('source_name', 'equalto', 'raw') | list -%}
        {%- if sources -%}
            {%- do run_query('create database if not exists ' ~ sources[0].schema) -%}
        {%- endif -%}
        {%- for source in sources -%}
            {%- if source.name not in schemas -%}
                {%- do exceptions.raise_compiler_error(
                    "source raw." ~ source.name ~ ": no schema in macros/spark/raw_feed_schemas.sql; "
                    ~ "re-run dbt_project/scripts/build_spark_raw_schemas.py") -%}
            {%- endif -%}
            {%- set table = source.schema ~ '.' ~ source.identifier -%}
            {%- set columns = [] -%}
            {%- for column in schemas[source.name] -%}
                {%- do columns.append('`' ~ column[0] ~ '` ' ~ column[1]) -%}
            {%- endfor -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query(
                'create table ' ~ table ~ ' (' ~ columns | join(', ') ~ ', business_date date)'
                ~ ' using parquet partitioned by (business_date)'
                ~ " location '" ~ raw_root ~ '/' ~ source.name ~ "'") -%}
            {%- do run_query('alter table ' ~ table ~ ' recover partitions') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as raw_sources_registered
{%- endmacro %}


{#- Spark side of read_parquet_folder (macros/read_parquet_folder.sql): every Parquet file
    under the folder, at any depth, read with the given schema (so an empty folder is an
    empty table). business_date comes from the file's `business_date=` folder, as DuckDB's
    hive partitioning gives it. -#}
{% macro spark__read_parquet_folder(folder, depth, columns) -%}
    {%- set view = '__clientmart_folder_' ~ local_md5(folder) -%}
    {%- set file_columns = [] -%}
    {%- for name, type in columns.items() if name != 'business_date' -%}
        {%- do file_columns.append('`' ~ name ~ '` ' ~ spark_sql_type(type)) -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- do run_query(
            'create or replace temporary view ' ~ view ~ ' (' ~ file_columns | join(', ') ~ ')'
            ~ " using parquet options (path '" ~ folder ~ "', recursiveFileLookup 'true')") -%}
    {%- endif %}
    select
    {%- for name, type in columns.items() %}
        {%- if name == 'business_date' %}
        cast(regexp_extract(input_file_name(), 'business_date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date) as business_date
        {%- else %}
        cast({{ name }} as {{ spark_sql_type(type) }}) as {{ name }}
        {%- endif %}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ view }}
{%- endmacro %}
