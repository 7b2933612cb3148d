{#- For the BigQuery tests (`dbt run-operation contract_ddl_columns`): prints, as one JSON object, the column
    list dbt's adapter renders into each contracted model's DDL (`name type [not null]`), what every BigQuery
    target but the emulator sends (bigquery__get_table_columns_and_constraints), so that a test checks the
    DDL the emulator cannot run. -#}
{% macro contract_ddl_columns() %}
    {%- set rendered = {} -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.config.contract.enforced -%}
        {%- do rendered.update({node.name: adapter.render_raw_columns_constraints(raw_columns=node.columns)}) -%}
    {%- endfor -%}
    {{ print(tojson(rendered)) }}
{% endmacro %}
