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
    columns of a contracted model come from its YAML (relation_column_names), others' from the warehouse.
    The newest export date is read when the test runs (dbt compiles a test just before it runs it, after its
    model is built) and written into the filter as a date literal: a bound from a subquery is known only while
    the query runs, so DuckDB read every row group of a 15 M-row staging table to apply it, where a literal
    lets it skip the row groups of older exports by their min/max. (BigQuery prunes partitions only on a
    constant too, but staging is not partitioned there yet.) A relation not built yet, or empty, is read
    whole (it holds no row to skip). -#}
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
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set newest_query -%}select max({{ column }}) from {{ relation }}{%- endset -%}
    {%- set newest = run_query(newest_query).columns[0].values()[0] -%}
    {%- if newest is none -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set bound = modules.datetime.date.fromisoformat((newest | string)[:10])
        - modules.datetime.timedelta(days=days | int) -%}
    {%- do return(column ~ " > cast('" ~ bound.isoformat() ~ "' as date)") -%}
{%- endmacro %}
