{#-
    The incremental write log: which key values (`unique_key` of a delete+insert model) each
    run replaced, and which tables it rebuilt whole. The publish step reads it to copy into
    the serving file only what changed since the last publication (clientmart/serving/
    publish.py), so publishing costs the night's rows, not the history's.

      relation_name  the model's relation (schema.identifier), as in the warehouse
      key_column     its unique_key; key_value the value replaced, cast to text
      key_value      '*' when the table was built whole (first build, full refresh)

    Written on DuckDB only (the serving file is DuckDB); on other targets these are no-ops.
-#}
{% macro incremental_writes_relation() -%}
    {{ target.schema }}.incremental_writes
{%- endmacro %}

{#- on-run-start: the log table and its id sequence. -#}
{% macro create_incremental_writes() -%}
    {{ return(adapter.dispatch('create_incremental_writes', 'clientmart')()) }}
{%- endmacro %}

{% macro default__create_incremental_writes() -%}
    select 1 as incremental_writes_not_logged
{%- endmacro %}

{% macro duckdb__create_incremental_writes() -%}
    create sequence if not exists {{ target.schema }}.incremental_writes_id;
    create table if not exists {{ incremental_writes_relation() }} (
        write_id bigint default nextval('{{ target.schema }}.incremental_writes_id'),
        relation_name varchar,
        key_column varchar,
        key_value varchar,
        invocation_id varchar,
        written_at timestamp with time zone default current_timestamp
    )
{%- endmacro %}

{#- pre-hook of every model: an incremental model about to be built whole logs '*'. Why a
    pre-hook: in a post-hook is_incremental() is already true after a first build. -#}
{% macro log_whole_rebuild() -%}
    {%- if execute and model.config.materialized == 'incremental' and not is_incremental() -%}
        {{ return(adapter.dispatch('log_incremental_write', 'clientmart')(this, config.get('unique_key'), none)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__log_incremental_write(relation, key_column, source) -%}
{%- endmacro %}

{% macro duckdb__log_incremental_write(relation, key_column, source) -%}
    insert into {{ incremental_writes_relation() }} (relation_name, key_column, key_value, invocation_id)
    {% if source is none -%}
    values ('{{ relation.schema }}.{{ relation.identifier }}', '{{ key_column }}', '*', '{{ invocation_id }}')
    {%- else -%}
    select distinct '{{ relation.schema }}.{{ relation.identifier }}', '{{ key_column }}',
        cast({{ key_column }} as varchar), '{{ invocation_id }}'
    from {{ source }}
    {%- endif %}
{%- endmacro %}

{#- dbt's delete+insert on DuckDB, followed by the log of the key values it replaced (the
    rows of the batch it inserted: the keys it deleted are exactly these). Overrides the
    adapter's implementation of dbt's get_incremental_delete_insert_sql. -#}
{% macro duckdb__get_incremental_delete_insert_sql(arg_dict) -%}
    {{ dbt.default__get_incremental_delete_insert_sql(arg_dict) }};
    {% if arg_dict["unique_key"] is string -%}
    {{ duckdb__log_incremental_write(arg_dict["target_relation"], arg_dict["unique_key"], arg_dict["temp_relation"]) }}
    {%- else -%}
    {{ duckdb__log_incremental_write(arg_dict["target_relation"], none, none) }}
    {%- endif %}
{%- endmacro %}

{#- Delete the rows of `relation` that match `where`, for deletes outside dbt's delete+insert:
    the pre-hooks that clear every key a run rebuilds, so a key whose rebuilt batch is empty
    loses its old rows (delete+insert replaces only the keys its batch holds). On DuckDB the
    key values are logged first, so the publication removes them too; on Spark the keys are
    the table's partitions and are dropped (macros/spark/incremental.sql). -#}
{% macro delete_logged(relation, key_column, where) -%}
    {{ return(adapter.dispatch('delete_logged', 'clientmart')(relation, key_column, where)) }}
{%- endmacro %}

{% macro default__delete_logged(relation, key_column, where) -%}
    delete from {{ relation }} where {{ where }}
{%- endmacro %}

{% macro duckdb__delete_logged(relation, key_column, where) -%}
    {{ duckdb__log_incremental_write(relation, key_column, '(select ' ~ key_column ~ ' from ' ~ relation ~ ' where ' ~ where ~ ') as deleted') }};
    delete from {{ relation }} where {{ where }}
{%- endmacro %}
