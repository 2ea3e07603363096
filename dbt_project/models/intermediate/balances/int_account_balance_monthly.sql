{{ balance_accumulation(
    day_rows=ref('fct_deposit_balance_daily'),
    key_column='account_id',
    date_column='balance_date',
    amount_column='balance_cny',
    attribute_columns=['client_id', 'inst_code', 'product_code', 'currency'],
    one_row_per_entity_day=true,
) }}
