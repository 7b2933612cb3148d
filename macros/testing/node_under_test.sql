{#- The generic test node being compiled. Inside a test block `model` is the relation under test (the
    test's argument); in a macro the test calls, `model` is still dbt's own node of the test. -#}
{% macro current_test_node() -%}
    {%- do return(model) -%}
{%- endmacro %}

{#- The graph node (model, seed or source table) the current generic test is declared on: the test's
    `attached_node`, or for a source table (which has none) the one node the test depends on. -#}
{% macro node_under_test() -%}
    {%- set test_node = current_test_node() -%}
    {%- set unique_id = test_node.get('attached_node') -%}
    {%- if not unique_id -%}
        {%- set parents = test_node.depends_on.nodes -%}
        {%- if parents | length != 1 -%}
            {{ exceptions.raise_compiler_error(
                test_node.name ~ " must be declared on one model, seed or source table; it depends on "
                ~ (parents | join(', '))) }}
        {%- endif -%}
        {%- set unique_id = parents[0] -%}
    {%- endif -%}
    {%- if unique_id.startswith('source.') -%}
        {%- do return(graph.sources[unique_id]) -%}
    {%- endif -%}
    {%- do return(graph.nodes[unique_id]) -%}
{%- endmacro %}

{#- The lowercased column names of `node` (a model, seed or source table of the graph), built as `relation`:
    a model with an enforced contract has exactly its YAML columns (its build fails otherwise), so they are
    read from the graph; anything else (sources, seeds, uncontracted models) is looked up in the warehouse,
    which answers no columns while the relation is not built yet. Execution time only. -#}
{% macro relation_column_names(node, relation) -%}
    {%- if node.resource_type == 'model' and ((node.config.get('contract') or {}).get('enforced')) -%}
        {%- do return(node.columns.values() | map(attribute='name') | map('lower') | list) -%}
    {%- endif -%}
    {%- do return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) -%}
{%- endmacro %}
