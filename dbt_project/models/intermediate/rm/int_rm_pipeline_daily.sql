/* depends_on: {{ ref('int_rm_late_months') }} */
{#- Weighted open pipeline per RM, metric and working day of a month with targets: from the
    latest pipeline snapshot on or before the day, open opportunities expected to close by the
    month's end (overdue open ones included), expected amount x stage weight. -#}
with snapshots as (

    select distinct business_date as snapshot_date
    from {{ ref('stg_crm__pipeline') }}

),

target_days as (

    select distinct
        calendar.calendar_date,
        calendar.month_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'calendar.month_start')) }} as date) as month_end_date
    from {{ ref('int_calendar') }} as calendar
    inner join {{ ref('int_rm_targets') }} as targets
        on calendar.month_start = targets.month_start
    where calendar.is_workday
      and {{ rm_months_to_rebuild('calendar.month_start') }}

),

day_snapshot as (

    select
        target_days.calendar_date,
        target_days.month_start,
        target_days.month_end_date,
        max(snapshots.snapshot_date) as snapshot_date
    from target_days
    inner join snapshots
        on snapshots.snapshot_date <= target_days.calendar_date
    group by target_days.calendar_date, target_days.month_start, target_days.month_end_date

),

{{ pipeline_snapshot_ctes('day_snapshot') }}

select
    pipeline.rm_id,
    categories.metric,
    day_snapshot.calendar_date,
    day_snapshot.month_start,
    day_snapshot.snapshot_date,
    count(*) as open_opportunity_count,
    {{ to_money('sum(pipeline.expected_amount_cny)') }} as open_pipeline_cny,
    {{ to_money('sum(pipeline.expected_amount_cny * weights.stage_weight)') }} as weighted_pipeline_cny
from day_snapshot
inner join pipeline
    on pipeline.business_date = day_snapshot.snapshot_date
inner join {{ ref('pipeline_stage_weights') }} as weights
    on pipeline.stage = weights.stage
inner join {{ ref('rm_metric_product_categories') }} as categories
    on pipeline.product_category = categories.product_category
where pipeline.status = 'open'
  and pipeline.expected_close_date <= day_snapshot.month_end_date
group by
    pipeline.rm_id,
    categories.metric,
    day_snapshot.calendar_date,
    day_snapshot.month_start,
    day_snapshot.snapshot_date
