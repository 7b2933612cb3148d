{#- Data tests on staging and raw carry `where: __recent_exports__` (dbt_project.yml): on a --full-refresh
    build, or with the var staging_test_days null, they read every row; otherwise only the rows of the latest
    `staging_test_days` export dates, so a daily build does not rescan 10 M snapshot rows per test. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__recent_exports__' in where -%}
        {%- set where = where | replace('__recent_exports__', recent_exports_filter(relation)) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The filter behind __recent_exports__: true on full builds, else the latest staging_test_days export dates
    of the relation (staging's export_date, raw's _export_date; a relation with neither is read whole). The
    columns of a contracted model come from its YAML (relation_column_names), others' from the warehouse. -#}
{% macro recent_exports_filter(relation) -%}
    {%- set days = var('staging_test_days', 7) -%}
    {%- if flags.FULL_REFRESH or days is none or not execute -%}
        {%- do return('true') -%}
    {%- endif -%}
    {#- a test on a model (its attached_node) knows the model's columns when it has a contract -#}
    {%- set attached = current_test_node().get('attached_node') or '' -%}
    {%- if attached.startswith('model.') -%}
        {%- set names = relation_column_names(graph.nodes[attached], relation) -%}
    {%- else -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- endif -%}
    {%- set column = 'export_date' if 'export_date' in names else ('_export_date' if '_export_date' in names) -%}
    {%- if not column -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set newest -%}(select max(newest.{{ column }}) from {{ relation }} as newest){%- endset -%}
    {%- do return(column ~ ' > ' ~ dbt.dateadd('day', -(days | int), newest)) -%}
{%- endmacro %}
