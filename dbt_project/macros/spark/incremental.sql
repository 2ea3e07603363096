{#-
    Incremental models on Spark.

    The project's incremental models use `delete+insert` on a single date column
    (`unique_key`: balance_date, month_start, call_week_start): a run replaces every key value
    its batch holds and keeps the others. Plain Parquet tables on Spark cannot DELETE, so on
    the Spark target the same contract is met by partitioning the table by that column and
    overwriting only the partitions present in the batch (`insert overwrite` with dynamic
    partition overwrite). Cost stays proportional to the batch, as on DuckDB, and the models
    keep one config for both targets. Other strategies keep dbt-spark's behaviour.

    These override dbt-spark's own (non-dispatched) macros of the same names, which its
    incremental materialization calls; their other branches repeat dbt-spark 1.11's code.
-#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy == 'delete+insert' -%}
        {%- set key = config.get('unique_key') -%}
        {%- if key is none or (key is not string and key | length != 1) -%}
            {%- do exceptions.raise_compiler_error(
                "delete+insert on Spark needs a single-column unique_key (it becomes the partition column): "
                ~ model.unique_id) -%}
        {%- endif -%}
        {%- do return(raw_strategy) -%}
    {%- endif -%}
    {%- if raw_strategy not in ['append', 'merge', 'insert_overwrite', 'microbatch'] -%}
        {%- do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: " ~ raw_strategy
            ~ ". Expected one of: 'append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'") -%}
    {%- endif -%}
    {%- if raw_strategy == 'merge' and file_format not in ['delta', 'iceberg', 'hudi'] -%}
        {%- do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: merge. You can only choose this strategy when "
            ~ "file_format is set to 'delta' or 'iceberg' or 'hudi'") -%}
    {%- endif -%}
    {%- if raw_strategy in ['insert_overwrite', 'microbatch'] and target.endpoint -%}
        {%- do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: " ~ raw_strategy
            ~ ". You cannot use this strategy when connecting via endpoint") -%}
    {%- endif -%}
    {%- do return(raw_strategy) -%}
{% endmacro %}


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'delete+insert' -%}
        {%- do run_query('set spark.sql.sources.partitionOverwriteMode = DYNAMIC') -%}
        {{ get_insert_overwrite_sql(source, target, existing) }}
    {%- elif strategy == 'append' -%}
        {{ get_insert_into_sql(source, target) }}
    {%- elif strategy in ['insert_overwrite', 'microbatch'] -%}
        {%- if strategy == 'microbatch' and not config.get('partition_by') -%}
            {%- do exceptions.raise_compiler_error(
                "dbt-spark 'microbatch' incremental strategy requires a `partition_by` config.") -%}
        {%- endif -%}
        {{ get_insert_overwrite_sql(source, target, existing) }}
    {%- elif strategy == 'merge' -%}
        {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
    {%- else -%}
        {%- do exceptions.raise_compiler_error("No known SQL for the incremental strategy provided: " ~ strategy) -%}
    {%- endif -%}
{% endmacro %}


{#- Partition columns: as configured, else a delete+insert model's unique_key (see above). -#}
{% macro spark__partition_cols(label, required=false) %}
    {%- set cols = config.get('partition_by', validator=validation.any[list, basestring]) -%}
    {%- if cols is none
          and config.get('materialized') == 'incremental'
          and config.get('incremental_strategy') == 'delete+insert' -%}
        {%- set cols = config.get('unique_key') -%}
    {%- endif -%}
    {%- if cols is not none %}
        {%- if cols is string -%}
            {%- set cols = [cols] -%}
        {%- endif -%}
    {{ label }} ({{ cols | join(', ') }})
    {%- endif %}
{%- endmacro %}


{#- Tables and seeds are Parquet unless a model says otherwise (dbt-spark would otherwise
    leave the format to the cluster's default, Hive text on a Hive-enabled session). -#}
{% macro spark__file_format_clause() %}
    using {{ config.get('file_format', validator=validation.any[basestring]) or 'parquet' }}
{%- endmacro %}


{#- delete_logged on Spark (the pre-hooks that clear the keys a run rebuilds): plain Parquet
    tables cannot DELETE, and a delete+insert model is partitioned by its unique_key, so the
    key values that match are dropped as partitions. The drop runs while the hook renders;
    the hook's own SQL is then empty. Without it a month, week or date whose rebuilt batch
    is empty kept its old rows, the partition overwrite touching only the batch's keys. -#}
{% macro spark__delete_logged(relation, key_column, where) -%}
    {%- if key_column != config.get('unique_key') -%}
        {%- do exceptions.raise_compiler_error(
            "delete_logged on Spark drops partitions: " ~ key_column
            ~ " is not the partition column (unique_key) of " ~ relation) -%}
    {%- endif -%}
    {%- if execute -%}
        {%- set found = run_query(
            'select distinct cast(' ~ key_column ~ ' as string) from ' ~ relation
            ~ ' where ' ~ where ~ ' and ' ~ key_column ~ ' is not null') -%}
        {%- set partitions = [] -%}
        {%- for key in found.columns[0].values() -%}
            {%- do partitions.append("partition (" ~ key_column ~ " = '" ~ key ~ "')") -%}
        {%- endfor -%}
        {%- if partitions -%}
            {%- do run_query('alter table ' ~ relation ~ ' drop if exists ' ~ partitions | join(', ')) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
