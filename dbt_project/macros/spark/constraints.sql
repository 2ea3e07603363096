{#-
    Contract constraints on Spark. dbt-spark enforces a column's `not_null` constraint with
    `ALTER TABLE .. SET NOT NULL`, which only Delta tables accept (plain Parquet tables fail
    the build), and its default file format check treats an unset format as Delta. Here a
    Delta table keeps dbt-spark's behaviour; any other format is checked after the build:
    a null in a `not_null` column fails the model, naming table and column, so the contract
    means the same as on DuckDB (where the column is created NOT NULL).
-#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced -%}
        {%- if config.get('file_format') == 'delta' -%}
            {%- do alter_table_add_constraints(relation, model.constraints) -%}
            {%- do alter_column_set_constraints(relation, model.columns) -%}
        {%- else -%}
            {%- do spark_check_not_null_constraints(relation, model.columns) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{% macro spark_check_not_null_constraints(relation, column_dict) %}
    {%- set checked = [] -%}
    {%- for column_name in column_dict -%}
        {%- for constraint in column_dict[column_name]['constraints'] if constraint.type == 'not_null' -%}
            {%- do checked.append(column_name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if checked -%}
        {%- set counts = [] -%}
        {%- for column_name in checked -%}
            {%- do counts.append('count_if(' ~ column_name ~ ' is null) as `' ~ column_name ~ '`') -%}
        {%- endfor -%}
        {%- set result = run_query('select ' ~ counts | join(', ') ~ ' from ' ~ relation) -%}
        {%- for column_name in checked -%}
            {%- set nulls = result.columns[loop.index0].values()[0] -%}
            {%- if nulls > 0 -%}
                {%- do exceptions.raise_compiler_error(
                    "contract: " ~ relation ~ "." ~ column_name ~ " is declared not_null but holds "
                    ~ nulls ~ " null value(s)") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
