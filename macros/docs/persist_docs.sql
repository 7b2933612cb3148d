{#- dbt-duckdb writes every model's description (and, on the marts, every column's) as comments after each
    build: on an incremental model that keeps its table, the same comments again every day, each costing dbt
    two lookups of the relation's columns and a statement. This implementation reads the relation's comments
    as stored, in one query, and writes only those that differ from the YAML (all of them on a table just
    created; none on a table whose descriptions did not change): the comments in the warehouse end the same.
    A missing comment and an empty description count as equal. BigQuery keeps dbt-bigquery's own. -#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set relation_comment = model.description
        if for_relation and config.persist_relation_docs() and model.description else none -%}
    {%- set column_docs = model.columns if for_columns and config.persist_column_docs() and model.columns else {} -%}
    {%- if relation_comment is none and not column_docs -%}
        {{ return('') }}
    {%- endif -%}
    {%- set where -%}
        database_name = '{{ adapter.escape_sql_string(relation.database) }}'
        and schema_name = '{{ adapter.escape_sql_string(relation.schema) }}'
    {%- endset -%}
    {%- set identifier = adapter.escape_sql_string(relation.identifier) -%}
    {%- set stored_query -%}
        select true as is_relation, cast(null as varchar) as column_name, comment
        from duckdb_tables() where {{ where }} and table_name = '{{ identifier }}'
        union all
        select true, null, comment
        from duckdb_views() where {{ where }} and view_name = '{{ identifier }}'
        union all
        select false, column_name, comment
        from duckdb_columns() where {{ where }} and table_name = '{{ identifier }}'
    {%- endset -%}
    {%- set stored_relation = [] -%}
    {%- set stored_columns = {} -%}
    {%- for row in run_query(stored_query) -%}
        {%- if row[0] -%}
            {%- do stored_relation.append(row[2] or '') -%}
        {%- else -%}
            {%- do stored_columns.update({row[1]: row[2] or ''}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- if relation_comment is not none and stored_relation != [relation_comment] -%}
        {%- do statements.append(duckdb__alter_relation_comment(relation, relation_comment)) -%}
    {%- endif -%}
    {%- if column_docs -%}
        {#- dbt's check: a documented column the relation lacks is a warning, and gets no comment -#}
        {%- set documented = validate_doc_columns(relation, column_docs, stored_columns.keys() | list) -%}
        {%- set changed = {} -%}
        {%- for name, column in documented.items()
            if name in stored_columns and stored_columns[name] != (column['description'] or '') -%}
            {%- do changed.update({name: column}) -%}
        {%- endfor -%}
        {%- for name, column in changed.items() -%}
            {%- do statements.append(
                'comment on column ' ~ relation ~ '.' ~ (adapter.quote(name) if column['quote'] else name)
                ~ ' is ' ~ duckdb_escape_comment(column['description'] or '') ~ ';') -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}
        {%- do run_query(statements | join('\n')) -%}
    {%- endif -%}
{%- endmacro %}
