{{ balance_accumulation(
    day_rows=ref('stg_core__loan_balances'),
    key_column='loan_id',
    date_column='balance_date',
    amount_column='balance_cny',
    attribute_columns=['client_id', 'inst_code', 'product_code'],
    partition_column='business_date',
) }}
