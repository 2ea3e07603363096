{#- The band types of int_client_band_monthly (its union, and the accepted values its column
    rules test): the breakdown spreads a client's cells over these, one column each. -#}
{% macro client_band_types() -%}
    {{ return(['settlement_band', 'grade', 'loan_balance_band', 'asset_tier']) }}
{%- endmacro %}
