/* depends_on: {{ ref('int_rm_late_months') }} */
{#- RM target attainment per working day, rolled up the institution tree (see the YAML for
    definitions of plans, actuals, status and pipeline coverage). Incremental by month
    (macro rm_months_to_rebuild), from the earlier of the run window's first month and the
    month of the first day the previous run had not loaded: the days between the two runs'
    last loaded days change from planned to actual, even across a gap in deliveries. -#}
{%- set rebuild_from = none %}
{%- if is_incremental() %}
    {%- set rebuild_from -%}
        least(
            {{ run_window_month_start() }},
            coalesce(
                (select cast({{ dbt.date_trunc('month', dbt.dateadd('day', 1, 'max(calendar_date)')) }} as date)
                 from {{ this }}
                 where is_actual_loaded),
                {{ run_window_month_start() }}
            )
        )
    {%- endset %}
{%- endif %}
with plan_days as (

    select * from {{ ref('int_rm_plan_daily') }}
    where {{ rm_months_to_rebuild('month_start', rebuild_from) }}

),

-- metrics a pipeline deal can count towards: those a product category maps to (the
-- amounts; not the counts new_clients and activity_count)
pipeline_metrics as (

    select distinct metric from {{ ref('rm_metric_product_categories') }}

),

-- the loaded days: through the latest, not the run's end date (a re-run of an earlier date,
-- a corrected delivery, must not turn the later days it does not touch back into plan), and
-- from the bank's first delivered day (the days before it have no actuals, not zero ones)
data_through as (

    select
        min(balance_date) as data_from_date,
        max(balance_date) as data_through_date
    from {{ ref('fct_deposit_balance_daily') }}

),

calendar as (

    select calendar_date, month_start, reporting_working_day_of_month
    from {{ ref('int_calendar') }}

),

flow_activity as (

    select
        activity.rm_id,
        activity.metric,
        calendar.month_start,
        calendar.reporting_working_day_of_month,
        activity.metric_value
    from {{ ref('int_rm_activity_daily') }} as activity
    inner join calendar
        on activity.activity_date = calendar.calendar_date
    cross join data_through
    where activity.activity_date <= data_through.data_through_date
      and {{ rm_months_to_rebuild('activity.month_start', rebuild_from) }}

),

flow_cumulative as (

    select
        plan_days.rm_id,
        plan_days.metric,
        plan_days.calendar_date,
        sum(flow_activity.metric_value) as actual_cum_value
    from plan_days
    inner join flow_activity
        on plan_days.rm_id = flow_activity.rm_id
        and plan_days.metric = flow_activity.metric
        and plan_days.month_start = flow_activity.month_start
        and flow_activity.reporting_working_day_of_month <= plan_days.working_day_of_month
    group by plan_days.rm_id, plan_days.metric, plan_days.calendar_date

),

deposit_days as (

    select
        growth.rm_id,
        growth.balance_date,
        growth.deposit_growth_cny,
        calendar.month_start,
        calendar.reporting_working_day_of_month
    from {{ ref('int_rm_deposit_growth_daily') }} as growth
    inner join calendar
        on growth.balance_date = calendar.calendar_date
    cross join data_through
    where growth.balance_date <= data_through.data_through_date
      and {{ rm_months_to_rebuild('growth.month_start', rebuild_from) }}

),

deposit_latest as (

    select
        plan_days.rm_id,
        plan_days.metric,
        plan_days.calendar_date,
        deposit_days.deposit_growth_cny,
        row_number() over (
            partition by plan_days.rm_id, plan_days.calendar_date
            order by deposit_days.balance_date desc
        ) as recency_rank
    from plan_days
    inner join deposit_days
        on plan_days.rm_id = deposit_days.rm_id
        and plan_days.month_start = deposit_days.month_start
        and deposit_days.reporting_working_day_of_month <= plan_days.working_day_of_month
    where plan_days.metric = 'deposit_growth'

),

rm_days as (

    select
        plan_days.rm_id,
        plan_days.metric,
        plan_days.month_start,
        plan_days.calendar_date,
        plan_days.working_day_of_month,
        plan_days.working_days_in_month,
        plan_days.week_of_month,
        plan_days.calendar_date between data_through.data_from_date and data_through.data_through_date
            as is_actual_loaded,
        plan_days.target_value,
        plan_days.plan_linear_cum_value,
        plan_days.plan_front_loaded_cum_value,
        case
            when plan_days.calendar_date > data_through.data_through_date then null
            when plan_days.calendar_date < data_through.data_from_date then null
            when plan_days.metric = 'deposit_growth' then deposit_latest.deposit_growth_cny
            else coalesce(flow_cumulative.actual_cum_value, 0)
        end as actual_cum_value,
        -- null for a metric no pipeline deal can count towards, not 0 of a gap never covered
        case
            when pipeline_metrics.metric is not null
                then coalesce(pipeline.weighted_pipeline_cny, 0)
        end as weighted_pipeline_value,
        coalesce(rms.inst_code, 'UNKNOWN') as inst_code,
        institutions.sub_branch_code,
        institutions.branch_code,
        institutions.head_office_code
    from plan_days
    cross join data_through
    left join flow_cumulative
        on plan_days.rm_id = flow_cumulative.rm_id
        and plan_days.metric = flow_cumulative.metric
        and plan_days.calendar_date = flow_cumulative.calendar_date
    left join deposit_latest
        on plan_days.rm_id = deposit_latest.rm_id
        and plan_days.metric = deposit_latest.metric
        and plan_days.calendar_date = deposit_latest.calendar_date
        and deposit_latest.recency_rank = 1
    left join {{ ref('int_rm_pipeline_daily') }} as pipeline
        on plan_days.rm_id = pipeline.rm_id
        and plan_days.metric = pipeline.metric
        and plan_days.calendar_date = pipeline.calendar_date
    left join pipeline_metrics
        on plan_days.metric = pipeline_metrics.metric
    left join {{ ref('dim_rm') }} as rms
        on plan_days.rm_id = rms.rm_id
    left join {{ ref('dim_institution') }} as institutions
        on coalesce(rms.inst_code, 'UNKNOWN') = institutions.inst_code

),

{%- set measures = [
    'target_value', 'plan_linear_cum_value', 'plan_front_loaded_cum_value',
    'actual_cum_value', 'weighted_pipeline_value'
] %}
{%- set levels = [
    ('sub_branch', 'sub_branch_code'),
    ('branch', 'branch_code'),
    ('head_office', 'head_office_code'),
] %}

all_levels as (

    select
        'rm' as attainment_level,
        rm_id as entity_code,
        rm_id,
        inst_code,
        metric,
        month_start,
        calendar_date,
        working_day_of_month,
        working_days_in_month,
        week_of_month,
        is_actual_loaded,
        {% for measure in measures -%}
        {{ measure }},
        {% endfor -%}
        1 as rm_count
    from rm_days
    {% for level_name, code_column in levels %}
    union all

    select
        '{{ level_name }}' as attainment_level,
        {{ code_column }} as entity_code,
        cast(null as {{ dbt.type_string() }}) as rm_id,
        {{ code_column }} as inst_code,
        metric,
        month_start,
        calendar_date,
        working_day_of_month,
        working_days_in_month,
        week_of_month,
        is_actual_loaded,
        {% for measure in measures -%}
        sum({{ measure }}) as {{ measure }},
        {% endfor -%}
        count(*) as rm_count
    from rm_days
    where {{ code_column }} is not null
    group by
        {{ code_column }}, metric, month_start, calendar_date, working_day_of_month,
        working_days_in_month, week_of_month, is_actual_loaded
    {% endfor %}

),

measured as (

    select
        all_levels.*,
        case
            when plan_front_loaded_cum_value <> 0
                then {{ ratio('actual_cum_value', 'plan_front_loaded_cum_value') }}
            when actual_cum_value > 0 then 999998
            when actual_cum_value < 0 then -999998
            when actual_cum_value is not null then 1
        end as front_loaded_plan_ratio_raw,
        case
            when actual_cum_value is not null and target_value > actual_cum_value
                then target_value - actual_cum_value
            when actual_cum_value is not null then 0
        end as remaining_gap_raw
    from all_levels

)

select
    measured.attainment_level,
    measured.entity_code,
    measured.rm_id,
    measured.inst_code,
    measured.metric,
    metrics.metric_unit,
    measured.month_start,
    measured.calendar_date,
    cast(measured.working_day_of_month as integer) as working_day_of_month,
    cast(measured.working_days_in_month as integer) as working_days_in_month,
    cast(measured.week_of_month as integer) as week_of_month,
    measured.is_actual_loaded,
    cast(measured.rm_count as integer) as rm_count,
    {{ to_money('measured.target_value') }} as target_value,
    {{ to_money('measured.plan_linear_cum_value') }} as plan_linear_cum_value,
    {{ to_money('measured.plan_front_loaded_cum_value') }} as plan_front_loaded_cum_value,
    {{ to_money('measured.actual_cum_value') }} as actual_cum_value,
    case
        when measured.target_value <> 0
            then {{ ratio('measured.actual_cum_value', 'measured.target_value') }}
    end as attainment_rate,
    {{ to_money('measured.plan_linear_cum_value - measured.actual_cum_value') }} as gap_to_linear_plan_value,
    {{ to_money('measured.plan_front_loaded_cum_value - measured.actual_cum_value') }}
        as gap_to_front_loaded_plan_value,
    cast(measured.front_loaded_plan_ratio_raw as decimal(24, 6)) as front_loaded_plan_ratio,
    status_rules.status,
    {{ to_money('measured.remaining_gap_raw') }} as remaining_gap_value,
    {{ to_money('measured.weighted_pipeline_value') }} as weighted_pipeline_value,
    case
        when measured.remaining_gap_raw > 0
            then {{ ratio('measured.weighted_pipeline_value', 'measured.remaining_gap_raw') }}
    end as pipeline_gap_coverage_rate
from measured
left join {{ ref('rm_metrics') }} as metrics
    on measured.metric = metrics.metric
left join {{ ref('attainment_status_rules') }} as status_rules
    on measured.front_loaded_plan_ratio_raw >= status_rules.min_ratio_to_plan
    and measured.front_loaded_plan_ratio_raw < status_rules.max_ratio_to_plan
