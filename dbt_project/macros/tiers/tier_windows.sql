{#- Last day of the month that starts at `month_start_expr`. -#}
{% macro tiers_month_end(month_start_expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start_expr)) }} as date)
{%- endmacro %}

{#- The longest pass-through window of seed hidden_potential_rules, in days: how far after a
    payroll/pension credit its debits can count, so how far before the run's first date a
    credit the run's dates can change may lie. 0 while not executing (parsing). -#}
{% macro passthrough_reach_days() -%}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set longest = run_query(
        "select max(passthrough_window_days) from " ~ ref('hidden_potential_rules')
    ).columns[0].values()[0] -%}
    {{ return((longest or 0) | int) }}
{%- endmacro %}

{#- How many months before the run window's first month the hidden-potential flags (and
    mart_client_tier, which carries them) rebuild: 1 when a payroll/pension credit of that
    month can have its pass-through window (up to the longest `passthrough_window_days` of
    seed hidden_potential_rules) reach the run's first date, else 0. So only the nights of a
    month's first days rewrite the month before; the others write their own month only.
    Called in incremental runs only (it reads the seed). -#}
{% macro hidden_potential_months_before() -%}
    {%- if not execute -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set first = modules.datetime.date.fromisoformat((run_start_date() | string)[:10]) -%}
    {%- set reached = first - modules.datetime.timedelta(days=passthrough_reach_days()) -%}
    {{ return(0 if (reached.year, reached.month) == (first.year, first.month) else 1) }}
{%- endmacro %}

{#- int_hidden_potential_txns: true when this run follows its dates (an incremental run whose
    stored credits carry exactly the window lengths the seed has now), false when it rebuilds
    every transaction (a first build, a full refresh, or a seed whose window lengths changed:
    the stored outflows were measured over other windows). -#}
{% macro hidden_potential_txns_follow_dates() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set seeded = run_query(
        "select distinct passthrough_window_days from " ~ ref('hidden_potential_rules')
        ~ " where passthrough_window_days is not null"
    ).columns[0].values() | map('int') | list -%}
    {%- set stored = run_query(
        "select distinct window_days from " ~ this ~ " where window_days is not null"
    ).columns[0].values() | map('int') | list -%}
    {%- if stored and (stored | sort) != (seeded | sort) -%}
        {%- do log("int_hidden_potential_txns: pass-through windows " ~ (stored | sort) ~ " stored, "
            ~ (seeded | sort) ~ " in seed hidden_potential_rules: rebuilding every credit", info=true) -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}

{#- int_hidden_potential_txns: the first transaction date a run rewrites. A run's dates change
    the outflow of every credit up to the longest window before them. -#}
{% macro hidden_potential_txns_first_date() -%}
    cast({{ dbt.dateadd('day', -passthrough_reach_days(), "cast('" ~ run_start_date() ~ "' as date)") }} as date)
{%- endmacro %}

{#- int_hidden_potential_txns: the dates a run rewrites, for the model's rows and the pre-hook's
    delete alike (from the first date above to the run's last). -#}
{% macro hidden_potential_txns_rewritten(date_column) -%}
    {{ date_column }} between {{ hidden_potential_txns_first_date() }} and cast('{{ run_end_date() }}' as date)
{%- endmacro %}

{#- Pre-hook of int_hidden_potential_txns: delete the dates the run rewrites (all of them when
    it rebuilds every transaction), logged, so a date that now has no such transaction loses
    its old rows; dbt's delete+insert replaces only the dates the new rows hold. On Spark
    the dates are partitions and are dropped (delete_logged). -#}
{% macro hidden_potential_txns_clear() -%}
    {%- if is_incremental() -%}
        {%- if hidden_potential_txns_follow_dates() -%}
            {{ delete_logged(this, 'txn_date', hidden_potential_txns_rewritten('txn_date')) }}
        {%- else -%}
            {{ delete_logged(this, 'txn_date', '1 = 1') }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The months a run of int_client_tier_changes writes: a month's changes depend on it and
    the month before, so a run rewrites its window's months and the month after. The tier
    history rewrites the clients whose change points lie there (mart_client_tier_history). -#}
{% macro tier_change_months(month_column) -%}
    {{ months_in_run_window(month_column, months_after=1) }}
{%- endmacro %}
