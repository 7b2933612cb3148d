{#- Keys of a raw table whose staged rows may differ from the last build of {{ this }}: the keys of every
    raw row of every delivery of a path that has a readable delivery committed after the newest load the
    model already holds. Old deliveries count too, so rows a correction no longer lists are replaced. -#}
{% macro changed_raw_keys(raw_table, raw_key_column) -%}
    select distinct changed.{{ raw_key_column }}
    from {{ source('lender', raw_table) }} as changed
    where changed._file_id in (
        select deliveries.file_id
        from {{ source('ingest', 'ingest_log') }} as deliveries
        where deliveries.file in (
            select new_deliveries.file
            from {{ source('ingest', 'ingest_log') }} as new_deliveries
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

{#- The raw rows a staging model reads: the newest delivery of each path (`is_newest_delivery`); on an
    incremental run only the rows of the keys `changed_raw_keys` gives. The keys are joined, not tested with
    `in`: DuckDB then reads only those keys' rows (0.04 s instead of 0.3-0.8 s for a day's payments among
    6.5 M raw rows). -#}
{% macro newest_raw_rows(raw_table, key_column, incremental) -%}
    select raw_rows.*
    from {{ source('lender', raw_table) }} as raw_rows
    {%- if incremental %}
    inner join ({{ changed_raw_keys(raw_table, key_column) }}) as changed_keys
        on raw_rows.{{ key_column }} = changed_keys.{{ key_column }}
    {%- endif %}
    where {{ is_newest_delivery('raw_rows._file_id') }}
{%- endmacro %}

{#- Incremental strategy `replace_changed_keys`: delete every row of the changed keys (even a key no newest
    delivery lists any more, which delete+insert would keep), then insert the recomputed rows. The model sets
    `unique_key` and `changed_keys_table` / `changed_keys_column` (the raw table and its column for that key),
    and selects its rows with `changed_raw_keys` on the same arguments; both read {{ this }} before it changes. -#}
{% macro get_incremental_replace_changed_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- if config.get('change_log') %}
    {{ log_staged_changes(target, arg_dict['temp_relation'], arg_dict['dest_columns'] | map(attribute='name') | list) }};
    {%- endif %}

    delete from {{ target }}
    where {{ arg_dict['unique_key'] }} in (
        {{ changed_raw_keys(config.require('changed_keys_table'), config.require('changed_keys_column')) }}
    );

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- The staging side of the per-client rebuild of the feature models: an event model (config
    `change_log: {client_column, date_column, ignore_columns}`) appends to `staged_changes_relation()` the
    clients whose staged rows this incremental run really changes, each with the earliest business date a
    changed row has, before or after the change (a new, corrected, moved or withdrawn event). Rows are
    compared on every column but `ignore_columns` (the delivery columns: a payment listed again in the next
    day's file, unchanged, changes nothing). Each entry carries the ingest watermark of this build (newest
    loaded delivery's finished_at), which the feature models compare with their own (`client_dates_to_build`).
    Runs inside the strategy, before the delete: the old rows are still there. -#}
{% macro log_staged_changes(target, temp_relation, column_names) -%}
    {%- set change_log = config.require('change_log') -%}
    {%- set ignored = change_log.get('ignore_columns', []) | map('lower') | list -%}
    {%- set compared = [] -%}
    {%- for name in column_names if name | lower not in ignored -%}
        {%- do compared.append(adapter.quote(name)) -%}
    {%- endfor -%}
    {%- set compared_csv = compared | join(', ') -%}
    insert into {{ staged_changes_relation() }} (model_name, client_id, first_affected_date, ingested_through)
    with

    old_rows as (
        select {% for column in compared %}staged.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
        from {{ target }} as staged
        inner join (
            {{ changed_raw_keys(config.require('changed_keys_table'), config.require('changed_keys_column')) }}
        ) as changed_keys
            on staged.{{ config.require('unique_key') }} = changed_keys.{{ config.require('changed_keys_column') }}
    ),

    new_rows as (
        select {{ compared_csv }}
        from {{ temp_relation }}
    ),

    changed_rows as (
        (select * from old_rows except distinct select * from new_rows)
        union all
        (select * from new_rows except distinct select * from old_rows)
    )

    select
        '{{ model.unique_id }}',
        cast({{ change_log.client_column }} as {{ dbt.type_string() }}),
        min(cast({{ change_log.date_column }} as date)),
        ({{ staging_ingest_watermark() }})
    from changed_rows
    where {{ change_log.client_column }} is not null
    group by {{ change_log.client_column }}
{%- endmacro %}

{#- Pre-hook of the models with a `change_log`: a build that is not incremental (the first, or
    --full-refresh) cannot say what changed, so it logs one entry without a client, which makes every
    feature model rebuild every date once. Renders nothing on incremental runs. -#}
{% macro log_full_restage() -%}
    {%- if not is_incremental() -%}
    insert into {{ staged_changes_relation() }} (model_name, client_id, first_affected_date, ingested_through)
    select '{{ model.unique_id }}', null, null, ({{ staging_ingest_watermark() }})
    {%- endif -%}
{%- endmacro %}

{#- The newest loaded delivery's finished_at: how far the ingest log had got when this staging build ran. -#}
{% macro staging_ingest_watermark() -%}
    select max(deliveries.finished_at)
    from {{ source('ingest', 'ingest_log') }} as deliveries
    where deliveries.status in ('loaded', 'loaded_with_rejects')
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
