{#-
    Generic test: a model's per-column rules, checked in one pass over its rows.

    Declared once per model (not once per column and rule, as dbt's `not_null` and
    `accepted_values` are): every test is a node with a fixed cost in dbt and an asset check in
    Dagster (about 0.1 s of a nightly build each, whatever the rows), and each of those scanned
    the model's window again for one column.

      not_null          columns that must hold a value
      accepted_values   column -> the values it may hold, compared as text (true/false as
                        'true'/'false'); a null passes (as in dbt's `accepted_values`; add the
                        column to not_null to forbid it)

    Name each instance `column_rules_<model>` in the YAML, so that its Dagster asset check keeps
    its name when a rule is added. The model's `meta.test_window` applies as for any generic
    test (macros/test_where.sql). Fails with one row per broken rule: the column, the rule,
    how many rows break it and, for accepted_values, the least offending value (a not_null
    break could only show a null); the failure count adds up the rules' breaking rows.
-#}
{% test column_rules(model, not_null=[], accepted_values={}) %}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append({'column': column, 'rule': 'not_null', 'breaks': column ~ ' is null', 'shown': false}) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- set text = (value | string | lower) if value is boolean else (value | string) -%}
        {%- do quoted.append(dbt.string_literal(text)) -%}
    {%- endfor -%}
    {%- do rules.append({
        'column': column,
        'rule': 'accepted_values',
        'breaks': column ~ ' is not null and cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ') not in (' ~ quoted | join(', ') ~ ')',
        'shown': true,
    }) -%}
{%- endfor -%}
{%- if not rules -%}
    {{ exceptions.raise_compiler_error("column_rules on " ~ model ~ ": no not_null or accepted_values given") }}
{%- endif %}
with counted as (
    select
        {%- for rule in rules %}
        sum(case when {{ rule.breaks }} then 1 else 0 end) as failing_{{ loop.index }}
        {%- if rule.shown -%},
        min(case when {{ rule.breaks }} then cast({{ rule.column }} as {{ dbt.type_string() }}) end) as example_{{ loop.index }}
        {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
)
{%- for rule in rules %}
select
    '{{ rule.column }}' as column_name,
    '{{ rule.rule }}' as rule_name,
    failing_{{ loop.index }} as failing_rows,
    {{ ("example_" ~ loop.index) if rule.shown else "cast(null as " ~ dbt.type_string() ~ ")" }} as example_value
from counted
where failing_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
