-- A rate of 1000 CNY or more per unit is a delivery error: the date must not publish.
select * from {{ ref('mart_fx_daily') }} where cny_per_unit >= 1000
