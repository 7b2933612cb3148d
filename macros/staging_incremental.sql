{#- Keys of a raw table whose staged rows may differ from the last build of {{ this }}: the keys of every
    raw row of every delivery of a path that has a readable delivery committed after the newest load the
    model already holds. Old deliveries count too, so rows a correction no longer lists are replaced. -#}
{% macro changed_raw_keys(raw_table, raw_key_column) -%}
    select distinct changed.{{ raw_key_column }}
    from {{ source('raw', raw_table) }} as changed
    where changed._file_id in (
        select deliveries.file_id
        from {{ source('raw', 'ingest_log') }} as deliveries
        where deliveries.file in (
            select new_deliveries.file
            from {{ source('raw', 'ingest_log') }} as new_deliveries
            where
                new_deliveries.status in ('loaded', 'loaded_with_rejects')
                and new_deliveries.finished_at > (
                    -- an empty table has seen nothing yet
                    select coalesce(max(built.loaded_at), cast('1900-01-01' as timestamp))
                    from {{ this }} as built
                )
        )
    )
{%- endmacro %}

{#- Incremental strategy `replace_changed_keys`: delete every row of the changed keys (even a key no newest
    delivery lists any more, which delete+insert would keep), then insert the recomputed rows. The model sets
    `unique_key` and `changed_keys_table` / `changed_keys_column` (the raw table and its column for that key),
    and selects its rows with `changed_raw_keys` on the same arguments; both read {{ this }} before it changes. -#}
{% macro get_incremental_replace_changed_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ arg_dict['unique_key'] }} in (
        {{ changed_raw_keys(config.require('changed_keys_table'), config.require('changed_keys_column')) }}
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

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
    of the relation (staging's export_date, raw's _export_date; a relation with neither is read whole). -#}
{% macro recent_exports_filter(relation) -%}
    {%- set days = var('staging_test_days', 7) -%}
    {%- if flags.FULL_REFRESH or days is none or not execute -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set column = 'export_date' if 'export_date' in names else ('_export_date' if '_export_date' in names) -%}
    {%- if not column -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set newest -%}(select max(newest.{{ column }}) from {{ relation }} as newest){%- endset -%}
    {%- do return(column ~ ' > ' ~ dbt.dateadd('day', -(days | int), newest)) -%}
{%- endmacro %}
