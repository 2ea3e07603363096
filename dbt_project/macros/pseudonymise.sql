{#- Keyed hash of a personal identifier: sha256(key || value) as lowercase hex.
    The key comes from DBT_CLIENTMART_PSEUDONYM_KEY and never lives in the repository, so the
    same person gets the same key in every model but the key cannot be reversed or
    recomputed by anyone without the secret. Null stays null. The key is never written into
    the SQL: compiled SQL, manifest.json, run_results.json, dbt's log and view definitions
    are read by more people than the secret (dbt docs serve serves target/). On DuckDB it is
    the function clientmart_pseudonym_key() (clientmart/pseudonym_key.py, a dbt-duckdb
    plugin); on Spark, Spark's substitution of the driver's environment variable. -#}
{% macro pseudonymise(col) -%}
    {{ return(adapter.dispatch('pseudonymise', 'clientmart')(col)) }}
{%- endmacro %}

{% macro default__pseudonymise(col) -%}
    case when {{ col }} is null then null
         else lower(sha2({{ dbt.concat(["'${env:DBT_CLIENTMART_PSEUDONYM_KEY}'", col]) }}, 256)) end
{%- endmacro %}

{% macro duckdb__pseudonymise(col) -%}
    case when {{ col }} is null then null
         else sha256({{ dbt.concat(["clientmart_pseudonym_key()", col]) }}) end
{%- endmacro %}
