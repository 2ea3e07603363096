{#- post-hook of mart_client_tier_history (incremental runs): a version that starts in the
    months the run's changes rewrote must have its start there. delete+insert replaces only
    the clients its batch holds, so a client whose every start was in those months and who
    has none left (a corrected month took its tiers away) would keep its old versions; they
    go here, and the deleted keys go to the write log, so the publication removes them too. -#}
{% macro tier_history_drop_vanished() -%}
    {%- if is_incremental() and target.type == 'duckdb' -%}
        {{ duckdb__delete_logged(this, 'client_id', '(' ~ months_in_run_window('valid_from', months_after=1)
            ~ ') and not exists (select 1 from ' ~ ref('int_client_tier_changes') ~ ' as c'
            ~ ' where c.change_type = \'start\' and c.client_id = ' ~ this.identifier ~ '.client_id'
            ~ ' and c.month_start = ' ~ this.identifier ~ '.valid_from)') }}
    {%- endif -%}
{%- endmacro %}
