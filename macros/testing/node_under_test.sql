
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
