with deliveries as (

    select
        month_start,
        rm_id,
        metric,
        target_value,
        business_date,
        _source_file,
        _source_line,
        row_number() over (
            partition by month_start, rm_id, metric
            order by business_date desc, _source_file desc, _source_line desc
        ) as delivery_rank
    from {{ ref('stg_crm__rm_targets') }}

)

select
    month_start,
    rm_id,
    metric,
    cast(target_value as {{ dbt.type_numeric() }}) as target_value,
    business_date as delivered_date,
    _source_file as source_file
from deliveries
where delivery_rank = 1
