select
    rm_id,
    metric,
    month_start,
    checkpoint,
    checkpoint_date,
    snapshot_date,
    target_value,
    goal_min_value,
    goal_max_value,
    secured_pipeline_value,
    goal_status
from {{ ref('int_rm_pipeline_goals') }}
