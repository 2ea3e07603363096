{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='balance_date',
        on_schema_change='fail'
    )
}}

with balances as (
    select *
    from {{ ref('stg_core__deposit_balances') }}
    where {{ in_run_window('business_date') }}
),

-- A date delivered in several files: the last file (by name) wins per account. A date in
-- one file has one row per account already (ingest quarantines duplicate keys), so the
-- ranking, a sort of the day's millions of rows, is spent only on several-file dates.
file_counts as (
    select balance_date, count(distinct _source_file) as files
    from balances
    group by balance_date
),

one_file as (
    select b.*
    from balances as b
    inner join file_counts as f on b.balance_date = f.balance_date
    where f.files = 1
),

several_files as (
    select *
    from (
        select
            b.*,
            row_number() over (
                partition by b.balance_date, b.account_id order by b._source_file desc, b._source_line desc
            ) as delivery_rank
        from balances as b
        inner join file_counts as f on b.balance_date = f.balance_date
        where f.files > 1
    ) as ranked
    where delivery_rank = 1
),

{%- set columns = ['balance_date', 'account_id', 'client_id', 'inst_code', 'product_code', 'currency', 'balance', 'cny_per_unit', 'balance_cny', 'business_date'] %}

kept as (
    select {{ columns | join(', ') }} from one_file
    union all
    select {{ columns | join(', ') }} from several_files
)

select * from kept
