{#- post-hook of dim_client (incremental runs): a client whose current row came from one of
    the run's dates and who has no record left in any delivery (a corrected file dropped the
    only record that introduced it) leaves the dimension. The deleted keys go to the write
    log, so the publication removes them too. -#}
{% macro dim_client_drop_vanished() -%}
    {%- if is_incremental() and target.type == 'duckdb' -%}
        {{ duckdb__delete_logged(this, 'client_id', in_run_window('last_delivered_date')
            ~ ' and client_id not in (select client_id from ' ~ ref('stg_core__clients') ~ ')') }}
    {%- endif -%}
{%- endmacro %}
