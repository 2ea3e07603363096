{#- Loans only: the product family `loan` of seed product_groups (fixed-asset, working-capital
    and real-estate loans, bill discounting). A letter of guarantee (family `off_balance`)
    arrives in the loan feed too, but lends nothing: counted here, a 66M guarantee made a
    client with no loan and 0.8M of settlement a gold client. -#}
with loan_products as (
    select product_code from {{ ref('dim_product') }} where product_family = 'loan'
)

select
    l.client_id,
    l.month_start,
    count(*) as loan_count,
    cast(sum(l.month_end_balance_cny) as decimal(24, 2)) as loan_month_end_cny,
    cast(sum(l.daily_avg_balance_cny) as decimal(24, 2)) as loan_daily_avg_cny
from {{ ref('int_loan_balance_monthly') }} as l
inner join loan_products as p on l.product_code = p.product_code
{% if is_incremental() %}where {{ months_in_run_window('l.month_start') }}{% endif %}
group by l.client_id, l.month_start
