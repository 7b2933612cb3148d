{#- True for raw rows of the newest readable delivery of their file: a re-delivered path replaces its
    older deliveries, even when the new delivery has fewer rows (or none). -#}
{% macro is_newest_delivery(file_id_column='_file_id') -%}
    {{ file_id_column }} in (
        select ingest_log.file_id
        from {{ source('ingest', 'ingest_log') }} as ingest_log
        where ingest_log.status in ('loaded', 'loaded_with_rejects')
        qualify row_number() over (
            partition by ingest_log.file
            order by ingest_log.finished_at desc, ingest_log.file_id desc
        ) = 1
    )
{%- endmacro %}
