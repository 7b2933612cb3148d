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
