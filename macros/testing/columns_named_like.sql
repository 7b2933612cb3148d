{#- The (model, column) pairs of `relations` whose column name is one of `names` (match 'exact') or
    contains one of them (match 'contains'), as a select with no rows when there are none: the body of
    the singular tests that keep PII out of the models. -#}
{% macro columns_named_like(relations, names, match='exact') -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for relation in relations -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- set column_name = column.name | lower -%}
                {%- for name in names -%}
                    {%- if (match == 'exact' and column_name == name)
                        or (match == 'contains' and name in column_name) -%}
                        {%- do found.append((relation.identifier, column.name)) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if found -%}
        {%- for model_name, column_name in found %}
    select
        '{{ model_name }}' as model_name,
        '{{ column_name }}' as column_name
            {%- if not loop.last %}
    union all
            {%- endif %}
        {%- endfor %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as column_name
    where 1 = 0
    {%- endif %}
{%- endmacro %}
