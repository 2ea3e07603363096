{#-
    `<name> as {{ inline_cte() }} (...)`: a CTE that the database reads where it is used, not
    once into a temporary result.

    DuckDB (1.5) materializes a CTE that is referenced more than once. For a CTE that carries
    day or position rows that means writing millions of rows to memory and, past the build's
    memory limit, to the spill file: a month range of `int_account_balance_monthly` at 1M
    clients (77M day rows, held as `window_rows`, `new_rows`, `new_days` and `day_states`)
    filled the 30 GB of disk that were free, and half a month had spilled 22 GB when stopped
    (docs/benchmark.md, 2026-12-04). Inlined, each reference reads its source with its own
    filters and columns. Only CTEs whose rows are cheaper to read again than to hold take
    it; small lookups (a plan, a month list) stay materialized.

    DuckDB's `NOT MATERIALIZED`; other databases (Spark) decide for themselves, so nothing.
-#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'clientmart')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}
