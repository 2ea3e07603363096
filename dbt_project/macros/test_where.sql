{#-
    Data tests that follow the run window, so a nightly run tests the rows it wrote and not
    the whole history (a unique test on a daily fact would otherwise scan every day ever
    loaded, every night). A model declares the rows a run writes in `meta.test_window`
    (per folder in dbt_project.yml or in its YAML); its generic tests then filter on it, as
    if they had that `where` config. A test's own `where` config takes precedence. Forms,
    expanded here when the test runs:

      "<date column> in_run_window"            the window's business dates
      "<month column> in_run_window_months"    every month the window touches
      "period in_run_window_periods"           every period (period_type, period_start)
                                               holding a month the window touches

    With the default vars (a full build) the window is everything. Overrides dbt's
    `get_where_subquery` (root-project macros take precedence).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where and model.get('attached_node') and model.attached_node in graph.nodes -%}
        {%- set where = graph.nodes[model.attached_node].config.get('meta', {}).get('test_window') -%}
    {%- endif -%}
    {%- if not where -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set ns = namespace(where=where) -%}
    {%- for column in modules.re.findall('(\\w+) in_run_window_months\\b', ns.where) -%}
        {%- set ns.where = ns.where.replace(column ~ ' in_run_window_months', months_in_run_window(column)) -%}
    {%- endfor -%}
    {%- set ns.where = ns.where.replace('period in_run_window_periods', periods_in_run_window('period_type', 'period_start')) -%}
    {%- for column in modules.re.findall('(\\w+) in_run_window\\b', ns.where) -%}
        {%- set ns.where = ns.where.replace(column ~ ' in_run_window', in_run_window(column)) -%}
    {%- endfor -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ ns.where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}
