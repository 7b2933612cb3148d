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
