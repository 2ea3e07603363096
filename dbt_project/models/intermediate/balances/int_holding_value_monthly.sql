{{ balance_accumulation(
    day_rows=ref('stg_wealth__holdings'),
    key_column='holding_id',
    date_column='as_of_date',
    amount_column='market_value_cny',
    attribute_columns=['client_id', 'product_code'],
    partition_column='business_date',
) }}
