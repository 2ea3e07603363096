with current_products as (
    select product_code, product_name, product_category, currency, risk_level
    from {{ ref('stg_reference__products') }}
    where valid_to is null
),

groups as (
    select * from {{ ref('product_groups') }}
),

grouped as (
    select
        p.product_code,
        p.product_name,
        p.product_category,
        p.currency,
        p.currency <> 'CNY' as is_fx,
        p.risk_level,
        g.product_group,
        g.product_group_label,
        g.product_family
    from current_products as p
    left join groups as g
        on p.product_category = g.product_category
        and (
            g.currency_scope = 'ANY'
            or (g.currency_scope = 'CNY' and p.currency = 'CNY')
            or (g.currency_scope = 'FX' and p.currency <> 'CNY')
        )
)

select * from grouped
union all
select
    'UNKNOWN', 'Unknown product', cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), cast(null as boolean),
    cast(null as {{ dbt.type_string() }}), 'unknown', 'Unknown product', 'unknown'
