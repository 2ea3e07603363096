/* depends_on: {{ ref('int_rm_late_months') }} */
{#- Pre-month pipeline goals: for each RM target of month M, the share of the target that
    should be secured in the pipeline by the end of week 3 and week 4 of month M-1 (seed
    pipeline_goal_rules), and the weighted open pipeline expected to close in M as of the
    latest snapshot on or before each checkpoint. -#}
with targets as (

    select
        month_start,
        rm_id,
        metric,
        target_value,
        cast({{ dbt.dateadd('month', -1, 'month_start') }} as date) as previous_month_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as month_end_date
    from {{ ref('int_rm_targets') }}
    where {{ rm_months_to_rebuild('month_start') }}
      -- a pipeline deal is an amount of a product category: only metrics the seed maps
      -- categories to can be secured by one (not the counts new_clients, activity_count)
      and metric in (select metric from {{ ref('rm_metric_product_categories') }})

),

week_ends as (

    select month_start, week_of_month, max(calendar_date) as week_end_date
    from {{ ref('int_calendar') }}
    where is_workday
    group by month_start, week_of_month

),

checkpoints as (

    select
        targets.*,
        rules.checkpoint,
        rules.min_share_of_target,
        rules.max_share_of_target,
        week_ends.week_end_date as checkpoint_date
    from targets
    cross join {{ ref('pipeline_goal_rules') }} as rules
    left join week_ends
        on targets.previous_month_start = week_ends.month_start
        and rules.week_of_previous_month = week_ends.week_of_month

),

snapshots as (

    select distinct business_date as snapshot_date
    from {{ ref('stg_crm__pipeline') }}

),

checkpoint_snapshot as (

    select
        checkpoints.month_start,
        checkpoints.rm_id,
        checkpoints.metric,
        checkpoints.checkpoint,
        max(snapshots.snapshot_date) as snapshot_date
    from checkpoints
    inner join snapshots
        on snapshots.snapshot_date <= checkpoints.checkpoint_date
    group by checkpoints.month_start, checkpoints.rm_id, checkpoints.metric, checkpoints.checkpoint

),

{{ pipeline_snapshot_ctes('checkpoint_snapshot') }},

secured as (

    select
        checkpoint_snapshot.month_start,
        checkpoint_snapshot.rm_id,
        checkpoint_snapshot.metric,
        checkpoint_snapshot.checkpoint,
        sum(pipeline.expected_amount_cny * weights.stage_weight) as weighted_pipeline_cny
    from checkpoint_snapshot
    inner join pipeline
        on pipeline.business_date = checkpoint_snapshot.snapshot_date
        and pipeline.rm_id = checkpoint_snapshot.rm_id
    inner join {{ ref('pipeline_stage_weights') }} as weights
        on pipeline.stage = weights.stage
    inner join {{ ref('rm_metric_product_categories') }} as categories
        on pipeline.product_category = categories.product_category
        and categories.metric = checkpoint_snapshot.metric
    inner join targets
        on targets.month_start = checkpoint_snapshot.month_start
        and targets.rm_id = checkpoint_snapshot.rm_id
        and targets.metric = checkpoint_snapshot.metric
    where pipeline.status = 'open'
      and pipeline.expected_close_date between targets.month_start and targets.month_end_date
    group by
        checkpoint_snapshot.month_start,
        checkpoint_snapshot.rm_id,
        checkpoint_snapshot.metric,
        checkpoint_snapshot.checkpoint

)

select
    checkpoints.rm_id,
    checkpoints.metric,
    checkpoints.month_start,
    checkpoints.checkpoint,
    checkpoints.checkpoint_date,
    checkpoint_snapshot.snapshot_date,
    {{ to_money('checkpoints.target_value') }} as target_value,
    {{ to_money('checkpoints.target_value * checkpoints.min_share_of_target') }} as goal_min_value,
    {{ to_money('checkpoints.target_value * checkpoints.max_share_of_target') }} as goal_max_value,
    case
        when checkpoint_snapshot.snapshot_date is not null
            then {{ to_money('coalesce(secured.weighted_pipeline_cny, 0)') }}
    end as secured_pipeline_value,
    case
        when checkpoint_snapshot.snapshot_date is null then null
        when coalesce(secured.weighted_pipeline_cny, 0) < checkpoints.target_value * checkpoints.min_share_of_target
            then 'below_goal'
        when coalesce(secured.weighted_pipeline_cny, 0) > checkpoints.target_value * checkpoints.max_share_of_target
            then 'above_goal'
        else 'within_goal'
    end as goal_status
from checkpoints
left join checkpoint_snapshot
    on checkpoints.month_start = checkpoint_snapshot.month_start
    and checkpoints.rm_id = checkpoint_snapshot.rm_id
    and checkpoints.metric = checkpoint_snapshot.metric
    and checkpoints.checkpoint = checkpoint_snapshot.checkpoint
left join secured
    on checkpoints.month_start = secured.month_start
    and checkpoints.rm_id = secured.rm_id
    and checkpoints.metric = secured.metric
    and checkpoints.checkpoint = secured.checkpoint
