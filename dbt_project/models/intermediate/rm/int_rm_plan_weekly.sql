/* depends_on: {{ ref('int_rm_late_months') }} */
{#- The material's weekly view: linear = the 'linear_weekly' curve (1/4 a week),
    front-loaded = the 'front_loaded' curve. The last week with working days absorbs the
    share of any later week the month does not have, so every month's plan reaches 100%. -#}
with targets as (

    select month_start, rm_id, metric, target_value
    from {{ ref('int_rm_targets') }}
    where {{ rm_months_to_rebuild('month_start') }}

),

month_weeks as (

    select
        month_start,
        week_of_month,
        min(calendar_date) as week_start_date,
        max(calendar_date) as week_end_date,
        count(*) as working_days_in_week,
        max(max(week_of_month)) over (partition by month_start) as last_week_of_month
    from {{ ref('int_calendar') }}
    where is_workday
    group by month_start, week_of_month

),

curves as (

    select
        curve_id,
        week_of_month,
        week_share,
        sum(week_share) over (partition by curve_id) as curve_total_share,
        coalesce(sum(week_share) over (
            partition by curve_id
            order by week_of_month
            rows between unbounded preceding and 1 preceding
        ), 0) as share_before_week
    from {{ ref('plan_curves') }}

),

week_shares as (

    select
        month_weeks.month_start,
        month_weeks.week_of_month,
        month_weeks.week_start_date,
        month_weeks.week_end_date,
        month_weeks.working_days_in_week,
        curves.curve_id,
        curves.share_before_week,
        case
            when month_weeks.week_of_month = month_weeks.last_week_of_month
                then curves.curve_total_share - curves.share_before_week
            else curves.week_share
        end as effective_week_share
    from month_weeks
    inner join curves
        on month_weeks.week_of_month = curves.week_of_month

),

pivoted as (

    select
        month_start,
        week_of_month,
        week_start_date,
        week_end_date,
        working_days_in_week,
        max(case when curve_id = 'linear_weekly' then share_before_week end) as linear_share_before,
        max(case when curve_id = 'linear_weekly' then effective_week_share end) as linear_share,
        max(case when curve_id = 'front_loaded' then share_before_week end) as front_share_before,
        max(case when curve_id = 'front_loaded' then effective_week_share end) as front_share
    from week_shares
    group by month_start, week_of_month, week_start_date, week_end_date, working_days_in_week

)

select
    targets.rm_id,
    targets.metric,
    targets.month_start,
    pivoted.week_of_month,
    pivoted.week_start_date,
    pivoted.week_end_date,
    pivoted.working_days_in_week,
    {{ to_money('targets.target_value') }} as target_value,
    {{ to_money('targets.target_value * pivoted.linear_share') }} as plan_linear_week_value,
    {{ to_money('targets.target_value * (pivoted.linear_share_before + pivoted.linear_share)') }}
        as plan_linear_cum_value,
    {{ to_money('targets.target_value * pivoted.front_share') }} as plan_front_loaded_week_value,
    {{ to_money('targets.target_value * (pivoted.front_share_before + pivoted.front_share)') }}
        as plan_front_loaded_cum_value
from targets
inner join pivoted
    on targets.month_start = pivoted.month_start
