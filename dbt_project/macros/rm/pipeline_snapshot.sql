{#-
    Two CTEs (write them inside a `with`): `pipeline_rows`, the pipeline records of the
    snapshot dates in `snapshot_dates` (a relation or CTE with column snapshot_date), and
    `pipeline` (with `pipeline__redelivered`), those records once per opportunity and
    snapshot: an opportunity in two files of one snapshot (a second extract, a copy re-sent
    under another name or with other line endings) counts as the last file by name has it,
    as deposit balances do. Summed as delivered, a re-sent snapshot doubled every RM's open
    and weighted pipeline. Only the redelivered opportunities are ranked (macro
    latest_delivery_ctes).
-#}
{% macro pipeline_snapshot_ctes(snapshot_dates) -%}
pipeline_rows as (
    select *
    from {{ ref('stg_crm__pipeline') }}
    where business_date in (select snapshot_date from {{ snapshot_dates }})
),

{{ latest_delivery_ctes(
    'pipeline',
    'pipeline_rows',
    ['opportunity_id', 'business_date'],
    ['opportunity_id', 'rm_id', 'client_id', 'product_category', 'expected_amount_cny', 'stage',
     'expected_close_date', 'status', 'created_date', 'business_date'],
) }}
{%- endmacro %}
