{#-
    The months of a quarter or a year before its last loaded month, kept folded per key.

    A period's figures are those of its last loaded month (month L, read from the monthly
    model each night) plus those of the months before it. This macro keeps the second part:
    one row per quarter or year and key with the sum of `sum_columns` over the months from
    the period's start to L - 1, the `latest_columns` of the key's latest such month
    (`latest_month_start`), and `through_month_start` = L - 1. It is maintained, per period
    holding a month of the run window, by one of:

      keep     the stored rows already run through L - 1 and the window touches no month
               before L: nothing is read or written (every night but a month's first);
      extend   the stored rows run through L - 2 and the window touches no month before
               L - 1 (the first night of a new month): stored rows + month L - 1's rows;
      rebuild  anything else (first build, a corrected or late earlier month): the months
               from the period's start to L - 1, read from `monthly_rows`.

    So a night reads one month of positions (in the cells) and no prior months, a month's
    first night reads one month more, and a correction re-reads the months of its own
    quarter and year. Periods whose last loaded month is their first have no prior rows.

    Arguments: monthly_rows (relation with month_start and the columns below, one row per
    key and month), key_columns (non-null), sum_columns, latest_columns.
-#}
{% macro period_prior_accumulation(monthly_rows, key_columns, sum_columns=[], latest_columns=[]) %}
{%- set keys = key_columns | join(', ') -%}
with periods as (
    select
        period_type,
        period_start,
        cast({{ dbt.dateadd('month', -1, 'last_month_start') }} as date) as through_month_start
    from {{ ref('int_breakdown_periods') }}
    where period_type <> 'month'
        and last_month_start > period_start
        {% if is_incremental() %}and {{ periods_in_run_window('period_type', 'period_start') }}{% endif %}
),

{% if is_incremental() %}
stored as (
    select period_type, period_start, max(through_month_start) as stored_through_month_start
    from {{ this }}
    where {{ periods_in_run_window('period_type', 'period_start') }}
    group by period_type, period_start
),
{% endif %}

plan as (
    select
        p.period_type,
        p.period_start,
        p.through_month_start,
        {%- if is_incremental() %}
        case
            when s.stored_through_month_start = p.through_month_start
                and not ({{ run_window_touches_months('p.period_start', 'p.through_month_start') }})
                then 'keep'
            when s.stored_through_month_start = cast({{ dbt.dateadd('month', -1, 'p.through_month_start') }} as date)
                and not ({{ run_window_touches_months('p.period_start', 's.stored_through_month_start') }})
                then 'extend'
            else 'rebuild'
        end as action
        {%- else %}
        'rebuild' as action
        {%- endif %}
    from periods as p
    {% if is_incremental() %}
    left join stored as s on p.period_type = s.period_type and p.period_start = s.period_start
    {% endif %}
),

-- the (period, month) pairs to read: every prior month of a rebuilt period, the one new
-- month of an extended period, none of a kept one
plan_months as (
    select pl.period_type, pl.period_start, m.month_start
    from plan as pl
    inner join {{ ref('int_balance_month_coverage') }} as m
        on m.month_start between pl.period_start and pl.through_month_start
    where pl.action = 'rebuild'
    union all
    select period_type, period_start, through_month_start
    from plan
    where action = 'extend'
),

inputs as (
    select
        pm.period_type,
        pm.period_start,
        {{ keys }},
        {%- for col in sum_columns + latest_columns %}
        r.{{ col }},
        {%- endfor %}
        r.month_start as latest_month_start
    from {{ monthly_rows }} as r
    inner join plan_months as pm on r.month_start = pm.month_start
    {% if is_incremental() %}
    {#- constant bounds (the years of the window), so that no other year is scanned at all #}
    where r.month_start >= cast({{ dbt.date_trunc('year', "cast('" ~ run_start_date() ~ "' as date)") }} as date)
        and r.month_start <= cast({{ dbt.dateadd('month', 11, dbt.date_trunc('year', "cast('" ~ run_end_date() ~ "' as date)")) }} as date)
    union all
    select
        s.period_type,
        s.period_start,
        {{ keys }},
        {%- for col in sum_columns + latest_columns %}
        s.{{ col }},
        {%- endfor %}
        s.latest_month_start
    from {{ this }} as s
    inner join plan as pl
        on s.period_type = pl.period_type and s.period_start = pl.period_start
    where pl.action = 'extend'
        and {{ periods_in_run_window('s.period_type', 's.period_start') }}
    {% endif %}
),

folded as (
    {%- if latest_columns %}
    select
        period_type,
        period_start,
        {{ keys }},
        {%- for col in sum_columns %}
        sum({{ col }}) over (partition by period_type, period_start, {{ keys }}) as {{ col }},
        {%- endfor %}
        {%- for col in latest_columns %}
        {{ col }},
        {%- endfor %}
        latest_month_start,
        row_number() over (
            partition by period_type, period_start, {{ keys }} order by latest_month_start desc
        ) as recency
    from inputs
    {%- else %}
    select
        period_type,
        period_start,
        {{ keys }},
        {%- for col in sum_columns %}
        sum({{ col }}) as {{ col }},
        {%- endfor %}
        max(latest_month_start) as latest_month_start,
        1 as recency
    from inputs
    group by period_type, period_start, {{ keys }}
    {%- endif %}
)

select
    {{ period_id('f.period_type', 'f.period_start') }} as period_id,
    f.period_type,
    f.period_start,
    {%- for key in key_columns %}
    f.{{ key }},
    {%- endfor %}
    {%- for col in sum_columns %}
    cast(f.{{ col }} as decimal(24, 2)) as {{ col }},
    {%- endfor %}
    {%- for col in latest_columns %}
    f.{{ col }},
    {%- endfor %}
    f.latest_month_start,
    pl.through_month_start
from folded as f
inner join plan as pl on f.period_type = pl.period_type and f.period_start = pl.period_start
where f.recency = 1
{% endmacro %}

{#- True when the run window (run_start_date .. run_end_date) touches a month between the SQL
    date expressions `first_month` and `last_month` (first days of months, inclusive). -#}
{% macro run_window_touches_months(first_month, last_month) -%}
    {{ run_window_month_start() }} <= {{ last_month }}
    and cast({{ dbt.date_trunc('month', "cast('" ~ run_end_date() ~ "' as date)") }} as date) >= {{ first_month }}
{%- endmacro %}

{#- One row per period type of each slot row of `wide` (a relation keyed by slot_month, with
    `<kind>_<column>` for every period type): the period type and start from `slots`, the
    `columns` as they are, the `kind_columns` of that period type under their plain names,
    for the period types where `<kind>_<present>` is above 0. -#}
{% macro period_type_rows(wide, slots, columns, kind_columns, present) -%}
    {%- for kind in period_types() %}
    select
        '{{ kind }}' as period_type,
        s.{{ kind }}_start as period_start,
        w.slot_month,
        {%- for col in columns %}
        w.{{ col }},
        {%- endfor %}
        {%- for col in kind_columns %}
        w.{{ kind }}_{{ col }} as {{ col }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ wide }} as w
    inner join {{ slots }} as s on w.slot_month = s.slot_month
    where w.{{ kind }}_{{ present }} > 0
    {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}
