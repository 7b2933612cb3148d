{#- The generic test node being compiled. Inside a test block `model` is the relation under test (the
    test's argument); in a macro the test calls, `model` is still dbt's own node of the test. -#}
{% macro current_test_node() -%}
    {%- do return(model) -%}
{%- endmacro %}
