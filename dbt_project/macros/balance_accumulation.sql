{#-
    Month accumulation (积数) of daily end-of-day balances, maintained from the day's rows.

    One row per entity (`key_column`) and month with the month's running state: the 积数 so
    far (`balance_sum_cny`), the days with a balance, and the entity's latest day in the month
    with its balance (`last_balance_date`, `last_balance_cny`) and attributes. Each month the
    run window touches is brought up to date in one of two ways:

      append     every window date of the month is later than the month's stored last
                 covered day (a night: the next date): the stored state joined to the
                 window's rows, one per entity (folded first when the window holds several
                 dates), the window's latest balance and attributes winning;
      recompute  anything else (a re-run or corrected date, a late earlier date, a first
                 build, window dates that now have no rows): the month's state is rebuilt
                 from every day row of that month in `day_rows`, which holds each date's
                 current delivery (so a corrected delivery that drops an account is
                 honoured).

    So a night reads the day's rows and one row per entity of the open month, never the
    month's daily history; a re-run reads the month's days once. Re-running a date never
    double-counts. Derived figures (month-end, average, coverage) follow in the same
    statement. An entity delivered twice for one date (in two files of the date's folder:
    a second extract, a copy re-sent under another name or with other line endings) counts
    once, as the last file by name has it, as for deposit balances in
    fct_deposit_balance_daily: its rows added up counted a re-sent holding twice.

    The month's progress is month-wide. Its covered range runs from the first calendar day
    of the month for which any entity has a balance to the last (`last_business_date`), and
    `days_covered` counts it: the 1st to the latest loaded day in a month loaded from its
    start, but from the first delivered day in the month a bank's data begins in (a bank
    that goes live on the 25th has no balances of the 1st to the 24th, known to be zero or
    otherwise, so they do not divide its average). `days_loaded` counts the days of the
    month for which any entity has a balance; the month is complete when every calendar day
    is loaded. Missing days inside the covered range count as zero balance (a closed
    account, an account not yet opened).

    Arguments: day_rows (relation with the columns below, one row per entity and day),
    key_column, date_column, amount_column, attribute_columns (taken from the entity's
    latest day in the month) and optionally partition_column (the raw layer's business_date,
    so that only the window's Parquet partitions are read) and one_row_per_entity_day (true
    when day_rows is unique per entity and date, as a tested fact table is: the day rows are
    then not grouped again; otherwise `file_column` names the delivering file, whose last by
    name wins).
-#}
{% macro balance_accumulation(day_rows, key_column, date_column, amount_column, attribute_columns, partition_column=none, one_row_per_entity_day=false, file_column='_source_file') %}
{%- set attributes = attribute_columns | join(', ') -%}
{%- set day_columns -%}
        {{ key_column }} as entity_key,
        cast({{ dbt.date_trunc('month', date_column) }} as date) as month_start,
        {{ date_column }} as balance_date,
        {{ amount_column }} as amount_cny,
        {%- if not one_row_per_entity_day %}
        {{ file_column }} as source_file,
        {%- endif %}
        {{ attributes }}
{%- endset -%}

{%- set window_cte -%}
window_rows as {{ inline_cte() }} (
    select
        {{ day_columns }}
    from {{ day_rows }}
    where {{ in_run_window(date_column) }}
    {%- if partition_column %}
        and {{ in_run_window(partition_column) }}
    {%- endif %}
)
{%- endset -%}
{#- the stored month's days before its covered range (0 in a month loaded from its 1st) -#}
{%- set stored_columns = {
    'stored_days_loaded': 'max(days_loaded)',
    'stored_days_before_covered': 'max(' ~ dbt.datediff('month_start', 'last_business_date', 'day') ~ ' + 1 - days_covered)',
} -%}
{#- the plan decided first: a night's statement then has no branch summing a month again -#}
{%- set decided = decided_month_plan('with ' ~ window_cte ~ ',\n' ~ month_plan_ctes('window_rows', 'balance_date', stored_columns=stored_columns), [day_rows]) -%}

with {{ window_cte }},

{{ month_plan_ctes('window_rows', 'balance_date', stored_columns=stored_columns, decided=decided) }},

new_rows as {{ inline_cte() }} (
    {%- if is_incremental() %}
    select r.*, 'append' as action
    from window_rows as r
    where {{ in_planned_months('r.month_start', 'append', decided) }}
    union all
    -- a recomputed month: every day of it, whether inside the window or not
    select r.*, 'recompute' as action
    from (
        select
            {{ day_columns }}
        from {{ day_rows }}
        where {{ date_column }} between {{ run_window_month_start() }} and {{ run_window_month_end() }}
        {%- if partition_column %}
            and {{ partition_column }} between {{ run_window_month_start() }} and {{ run_window_month_end() }}
        {%- endif %}
    ) as r
    where {{ in_planned_months('r.month_start', 'recompute', decided) }}
    {%- else %}
    -- a first build: every month of the window is recomputed
    select r.*, 'recompute' as action
    from window_rows as r
    {%- endif %}
),

-- one row per entity and day (an entity in several files of the date: the last file's row)
new_days as {{ inline_cte() }} (
    {%- if one_row_per_entity_day %}
    select * from new_rows
    {%- else %}
    select
        entity_key,
        month_start,
        balance_date,
        action,
        {{ value_at_max('amount_cny', 'source_file') }} as amount_cny,
        {%- for col in attribute_columns %}
        {{ value_at_max(col, 'source_file') }} as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from new_rows
    group by entity_key, month_start, balance_date, action
    {%- endif %}
),

-- a day row as the state of its entity and month after that day
day_states as {{ inline_cte() }} (
    select
        entity_key,
        month_start,
        action,
        balance_date as last_balance_date,
        amount_cny as last_balance_cny,
        amount_cny as balance_sum_cny,
        1 as days_with_balance,
        {{ attributes }}
    from new_days
),

-- a recomputed month: its days folded per entity
recomputed as (
    {{ fold_day_states("action = 'recompute'", attribute_columns) }}
),

{% if is_incremental() %}
-- an appended month: the window's days folded per entity (a one-date window has one row per
-- entity and month already), then added to the stored state with one join (the window's
-- days are later than the stored ones, so their latest balance and attributes win)
appended_days as (
    {%- if run_start_date() == run_end_date() %}
    select * from day_states where action = 'append'
    {%- else %}
    {{ fold_day_states("action = 'append'", attribute_columns) }}
    {%- endif %}
),

appended as (
    select
        coalesce(n.entity_key, s.{{ key_column }}) as entity_key,
        coalesce(n.month_start, s.month_start) as month_start,
        coalesce(n.last_balance_date, s.last_balance_date) as last_balance_date,
        coalesce(n.last_balance_cny, s.last_balance_cny) as last_balance_cny,
        coalesce(n.balance_sum_cny, 0) + coalesce(s.balance_sum_cny, 0) as balance_sum_cny,
        coalesce(n.days_with_balance, 0) + coalesce(s.days_with_balance, 0) as days_with_balance,
        {%- for col in attribute_columns %}
        coalesce(n.{{ col }}, s.{{ col }}) as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from (
        select s.*
        from {{ this }} as s
        where {{ in_planned_months('s.month_start', 'append', decided) }}
            and s.month_start between {{ run_window_month_start() }} and cast('{{ run_end_date() }}' as date)
    ) as s
    full outer join appended_days as n
        on s.{{ key_column }} = n.entity_key and s.month_start = n.month_start
),
{% endif %}

folded as (
    select
        entity_key, month_start, last_balance_date, last_balance_cny, balance_sum_cny,
        days_with_balance, {{ attributes }}
    from recomputed
    {%- if is_incremental() %}
    union all
    select
        entity_key, month_start, last_balance_date, last_balance_cny, balance_sum_cny,
        days_with_balance, {{ attributes }}
    from appended
    {%- endif %}
),

new_dates as (
    select month_start, count(distinct balance_date) as dates_loaded, min(balance_date) as first_date
    from new_days
    group by month_start
),

-- the month's covered range: an appended month keeps its stored first day, a recomputed one
-- starts on the first day of it that has any balance
month_progress as (
    select
        mf.month_start,
        case
            when p.action = 'append'
                then cast({{ dbt.dateadd('day', 'p.stored_days_before_covered', 'mf.month_start') }} as date)
            else nd.first_date
        end as first_covered_date,
        mf.last_business_date,
        case when p.action = 'append' then p.stored_days_loaded else 0 end as kept_days_loaded,
        coalesce(nd.dates_loaded, 0) as new_dates_loaded
    from (
        select month_start, max(last_balance_date) as last_business_date
        from folded
        group by month_start
    ) as mf
    inner join plan as p on mf.month_start = p.month_start
    left join new_dates as nd on mf.month_start = nd.month_start
),

measured as (
    select
        f.*,
        mp.last_business_date,
        cast({{ dbt.datediff('f.month_start', dbt.dateadd('month', 1, 'f.month_start'), 'day') }} as integer) as days_in_month,
        cast({{ dbt.datediff('mp.first_covered_date', 'mp.last_business_date', 'day') }} + 1 as integer) as days_covered,
        cast(mp.kept_days_loaded + mp.new_dates_loaded as integer) as days_loaded
    from folded as f
    inner join month_progress as mp on f.month_start = mp.month_start
)

select
    entity_key as {{ key_column }},
    month_start,
    {%- for col in attribute_columns %}
    {{ col }},
    {%- endfor %}
    last_business_date,
    days_in_month,
    days_covered,
    cast(days_with_balance as integer) as days_with_balance,
    days_loaded,
    days_covered = days_in_month and days_loaded = days_in_month as is_month_complete,
    cast(case when last_balance_date = last_business_date then last_balance_cny else 0 end as decimal(24, 2)) as month_end_balance_cny,
    cast(balance_sum_cny as decimal(24, 2)) as balance_sum_cny,
    {{ money_divide('balance_sum_cny', 'days_covered') }} as daily_avg_balance_cny,
    last_balance_date,
    cast(last_balance_cny as decimal(24, 2)) as last_balance_cny
from measured
{% endmacro %}

{#- Day states (of `day_states`) matching `condition`, folded per entity and month: the
    latest day's balance and attributes (non-null), the 积数 and the days with a balance. -#}
{% macro fold_day_states(condition, attribute_columns) -%}
    select
        entity_key,
        month_start,
        max(last_balance_date) as last_balance_date,
        {{ value_at_max('last_balance_cny', 'last_balance_date') }} as last_balance_cny,
        sum(balance_sum_cny) as balance_sum_cny,
        sum(days_with_balance) as days_with_balance,
        {%- for col in attribute_columns %}
        {{ value_at_max(col, 'last_balance_date') }} as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from day_states
    where {{ condition }}
    group by entity_key, month_start
{%- endmacro %}

{#- The value of `value` on the row where `order` is greatest, in an aggregate
    (DuckDB arg_max, Spark max_by). -#}
{% macro value_at_max(value, order) -%}
    {{ return(adapter.dispatch('value_at_max', 'clientmart')(value, order)) }}
{%- endmacro %}

{% macro default__value_at_max(value, order) -%}
    max_by({{ value }}, {{ order }})
{%- endmacro %}

{% macro duckdb__value_at_max(value, order) -%}
    arg_max({{ value }}, {{ order }})
{%- endmacro %}
