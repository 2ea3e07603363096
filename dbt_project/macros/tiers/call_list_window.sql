{#- pre-hook of mart_call_list (incremental runs): remove the lists of every week the
    run window touches before they are drawn again. dbt's delete+insert deletes only the keys
    its batch holds, so a week whose redrawn list is empty (its one client was contacted the
    next day and cools down) would keep the rows of the earlier draw. The keys removed go to
    the write log, so the publication removes them too; on Spark the weeks are partitions and
    are dropped (delete_logged). -#}
{% macro call_list_clear_window_weeks() -%}
    {%- if is_incremental() -%}
        {%- set weeks -%}
            call_week_start between cast({{ dbt.date_trunc('week', "cast('" ~ run_start_date() ~ "' as date)") }} as date)
                and cast({{ dbt.date_trunc('week', "cast('" ~ run_end_date() ~ "' as date)") }} as date)
        {%- endset -%}
        {{ delete_logged(this, 'call_week_start', weeks) }}
    {%- endif -%}
{%- endmacro %}
