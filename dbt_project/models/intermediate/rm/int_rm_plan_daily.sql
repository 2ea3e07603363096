/* depends_on: {{ ref('int_rm_late_months') }} */
{#- Cumulative plans per working day. Linear: target x working day / working days in the
    month. Front-loaded: the curve's share of the weeks before, plus this week's share spread
    evenly over the week's working days (the last week absorbs weeks the month lacks). -#}
with targets as (

    select month_start, rm_id, metric, target_value
    from {{ ref('int_rm_targets') }}
    where {{ rm_months_to_rebuild('month_start') }}

),

working_days as (

    select
        calendar_date,
        month_start,
        working_day_of_month,
        working_days_in_month,
        week_of_month,
        row_number() over (
            partition by month_start, week_of_month order by calendar_date
        ) as day_of_week_in_month,
        count(*) over (partition by month_start, week_of_month) as working_days_in_week,
        max(week_of_month) over (partition by month_start) as last_week_of_month
    from {{ ref('int_calendar') }}
    where is_workday

),

curve as (

    select
        week_of_month,
        week_share,
        sum(week_share) over () as curve_total_share,
        coalesce(sum(week_share) over (
            order by week_of_month
            rows between unbounded preceding and 1 preceding
        ), 0) as share_before_week
    from {{ ref('plan_curves') }}
    where curve_id = 'front_loaded'

),

day_shares as (

    select
        working_days.*,
        curve.share_before_week,
        case
            when working_days.week_of_month = working_days.last_week_of_month
                then curve.curve_total_share - curve.share_before_week
            else curve.week_share
        end as effective_week_share
    from working_days
    inner join curve
        on working_days.week_of_month = curve.week_of_month

)

select
    targets.rm_id,
    targets.metric,
    targets.month_start,
    day_shares.calendar_date,
    day_shares.working_day_of_month,
    day_shares.working_days_in_month,
    day_shares.week_of_month,
    {{ to_money('targets.target_value') }} as target_value,
    {{ money_divide('targets.target_value * day_shares.working_day_of_month', 'day_shares.working_days_in_month') }}
        as plan_linear_cum_value,
    {#- the weeks before plus this week's share spread over its working days, as one exact
        quotient over the week's working days (money: 2 decimals x a share's 6) -#}
    {{ ratio(
        'targets.target_value * day_shares.share_before_week * day_shares.working_days_in_week'
        ~ ' + targets.target_value * day_shares.effective_week_share * day_shares.day_of_week_in_month',
        'day_shares.working_days_in_week',
        scale=2,
        input_scale=8
    ) }} as plan_front_loaded_cum_value
from targets
inner join day_shares
    on targets.month_start = day_shares.month_start
