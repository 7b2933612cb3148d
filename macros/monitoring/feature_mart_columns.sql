{#- The columns of `fct_client_features` that can be model features, as (name, kind) pairs, from the mart's
    declared contract (its YAML): text columns are `categorical`; numbers and booleans are `numeric`
    (booleans read as 1/0, as the ML package reads them); the keys, dates and the bookkeeping columns in
    `exclude` are left out. The monitoring marts keep only those the champion's baseline holds. -#}
{% macro feature_mart_columns(exclude=['client_id', 'feature_date', 'is_month_end', 'in_default_at_feature_date']) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- set node = graph.nodes.get('model.' ~ project_name ~ '.fct_client_features') -%}
        {%- for name, column in node.columns.items() if name not in exclude -%}
            {%- set data_type = (column.data_type or '') | lower -%}
            {%- if data_type in ('string', 'varchar', 'text') -%}
                {%- do columns.append((name, 'categorical', data_type)) -%}
            {%- elif data_type != 'date' -%}
                {%- do columns.append((name, 'numeric', data_type)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}
