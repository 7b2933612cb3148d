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
